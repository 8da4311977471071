import { Effect, Either } from "effect"
import { describe, expect, it } from "vitest"
import { tf } from "../../src/core/tf.ts"
import { objective } from "../../src/dsl/objective.ts"
import { makeSpec, sgd } from "../../src/dsl/spec.ts"
import { sum } from "../../src/dsl/structure.ts"
import { builtinInterpreters } from "../../src/interpreters/builtins.ts"
import { train } from "../../src/training/train.ts"
import { useCpuBackend } from "../support/cpuBackend.ts"

useCpuBackend()

describe("objectives that do not reach every parameter", () => {
  it("a parameter a loss does not use gets a zero gradient from it (the exact gradient), not an error", async () => {
    // f(a, b) = ½‖a − 1‖² reaches only a; g = 3 reaches nothing. Under SGD with η = 0.5 on f + g,
    // a moves halfway to 1 each step and b never moves: after 3 steps a = 1 − 0.5³ = 0.875, b = 2.
    const onlyA = objective("only-a", (p) => tf.mul(0.5, tf.sum(tf.square(tf.sub(p.a!, 1)))))
    const constant = objective("constant", () => tf.scalar(3))
    const spec = Either.getOrThrow(
      makeSpec({
        parameters: { a: { shape: [2], init: { kind: "zeros" } }, b: { shape: [3], init: { kind: "constant", value: 2 } } },
        structure: sum(onlyA, constant),
        optimizer: sgd({ learningRate: 0.5 }),
        steps: 3,
        batchSize: 1,
      }),
    )
    const interpreter = builtinInterpreters.get("weighted-sum")!
    const rule = await Effect.runPromise(interpreter.lower(spec.structure, {}, { seed: 0 }))
    const before = tf.memory().numTensors
    const summary = await Effect.runPromise(train(spec, rule, { zeroGradient: "ignore" }))
    // f = ½·2·(1 − 0.875)² = 0.015625; the constant stays 3.
    expect(summary.finalLosses["only-a"]).toBeCloseTo(0.015625, 6)
    expect(summary.finalLosses.constant).toBe(3)
    expect(Array.from(summary.parameters.a!.dataSync())).toEqual([0.875, 0.875])
    expect(Array.from(summary.parameters.b!.dataSync())).toEqual([2, 2, 2])
    tf.dispose(Object.values(summary.parameters))
    expect(tf.memory().numTensors).toBe(before)
  })
})
