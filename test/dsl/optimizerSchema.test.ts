import { Either } from "effect"
import { describe, expect, it } from "vitest"
import { parseSpecDocument } from "../../src/dsl/json.ts"

const documentWith = (optimizer: unknown) =>
  JSON.stringify({ problem: { name: "least-squares" }, structure: "fit", optimizer, steps: 3, batchSize: 2 })

const optimizerOf = (optimizer: unknown) => {
  const parsed = parseSpecDocument(documentWith(optimizer))
  return Either.isRight(parsed) ? parsed.right.optimizer : parsed.left.message
}

describe("the JSON spec's new optimizers and step schedule", () => {
  it("decode with their defaults", () => {
    expect(optimizerOf({ kind: "nesterov", learningRate: 0.1 })).toEqual({ kind: "nesterov", learningRate: 0.1, momentum: 0.9 })
    expect(optimizerOf({ kind: "adamw", learningRate: 0.1 })).toEqual({ kind: "adamw", learningRate: 0.1, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.01 })
    expect(optimizerOf({ kind: "rmsprop", learningRate: 0.1, schedule: { kind: "step", stepSize: 10, gamma: 0.5 } })).toEqual({
      kind: "rmsprop",
      learningRate: 0.1,
      decay: 0.9,
      epsilon: 1e-7,
      schedule: { kind: "step", stepSize: 10, gamma: 0.5 },
    })
  })

  it("refuse bad fields, naming them", () => {
    expect(optimizerOf({ kind: "adamw", learningRate: 0.1, weightDecay: -1 })).toMatch(/weightDecay/)
    expect(optimizerOf({ kind: "rmsprop", learningRate: 0.1, decay: 1 })).toMatch(/decay/)
    expect(optimizerOf({ kind: "sgd", learningRate: 0.1, schedule: { kind: "step", stepSize: 0, gamma: 0.5 } })).toMatch(/stepSize/)
    expect(optimizerOf({ kind: "sgd", learningRate: 0.1, schedule: { kind: "step", stepSize: 2, gamma: 0 } })).toMatch(/gamma/)
  })
})
