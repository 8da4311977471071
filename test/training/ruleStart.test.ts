/**
 * The training loop gives a rule the initial parameters (`UpdateRule.init`'s `RuleStart`): Bloop's
 * `emaInit: "parameters"` (the Bloop authors' smooth-MNIST start) then projects its first step on
 * θ₀.
 */
import { describe, expect, it } from "vitest"
import { tf } from "../../src/core/tf.ts"
import { objective, type Params } from "../../src/dsl/objective.ts"
import { sgd } from "../../src/dsl/spec.ts"
import { prioritize } from "../../src/dsl/structure.ts"
import { method } from "../../src/interpreters/method.ts"
import { trainPromise } from "../../src/training/train.ts"
import { useCpuBackend } from "../support/cpuBackend.ts"

useCpuBackend()

const theta0 = [0.5, -2, 3]
const m = [1, 0, 0]
const a = [1, 1, 1]
const lambda = 2
// Linear losses: constant gradients m and a.
const main = objective("main", (p: Params<"w">) => tf.sum(tf.mul(p.w, m)))
const aux = objective("aux", (p: Params<"w">) => tf.sum(tf.mul(p.w, a)))
const dot = (x: ReadonlyArray<number>, y: ReadonlyArray<number>) => x.reduce((s, v, i) => s + v * y[i]!, 0)
const project = (v: ReadonlyArray<number>, u: ReadonlyArray<number>) => v.map((x, i) => x - (dot(v, u) / dot(u, u)) * u[i]!)

const afterOneStep = async (emaInit: string) => {
  const result = await trainPromise(
    {
      parameters: { w: { shape: [3], init: { kind: "values", values: Float32Array.from(theta0) } } },
      structure: prioritize(main, aux, { lambda }),
      optimizer: sgd({ learningRate: 1 }),
      steps: 1,
      batchSize: 1,
    },
    method("bloop", { emaInit, rho: 0.01 }),
    { progress: false },
  )
  const w = [...(result.parameters.w.dataSync() as Float32Array)]
  tf.dispose(Object.values(result.parameters))
  return w
}

describe("the training loop passes the initial parameters to the rule", () => {
  it('bloop emaInit "parameters": θ₁ = θ₀ − (m + λ·π(a; θ₀)); "first" projects on m instead', async () => {
    const fromParameters = project(a, theta0).map((x, i) => theta0[i]! - (m[i]! + lambda * x))
    const fromFirst = project(a, m).map((x, i) => theta0[i]! - (m[i]! + lambda * x))
    const got = await afterOneStep("parameters")
    got.forEach((x, i) => expect(x).toBeCloseTo(fromParameters[i]!, 5))
    const first = await afterOneStep("first")
    first.forEach((x, i) => expect(x).toBeCloseTo(fromFirst[i]!, 5))
    expect(Math.max(...got.map((x, i) => Math.abs(x - first[i]!)))).toBeGreaterThan(0.1)
  })
})
