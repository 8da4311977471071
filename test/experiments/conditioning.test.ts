/**
 * The conditioning example of the Bloop paper (Hsieh et al. 2024, §3.3): θ = (a, b),
 * L_main = ½a², L_aux = ½((a − 1)² + b²). The minimisers of L_main are the line a = 0, and the one
 * among them that minimises L_aux is (0, 0): the bilevel solution. The weighted sum
 * ½a² + λ·½((a − 1)² + b²) is minimised at (λ/(1 + λ), 0) instead, for every λ > 0. Full-batch
 * Bloop keeps its EMA ĝ along (1, 0) (every main gradient is (a, 0)), so the auxiliary gradient
 * (a − 1, b) is projected to (0, b): the iteration is a ← (1 − η)a, b ← (1 − ηλ)b, which reaches
 * (0, 0) for every λ with ηλ < 2 (here η = 0.15, 1000 steps).
 */
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { tf, type Scalar } from "../../src/core/tf.ts"
import { objective, type Params } from "../../src/dsl/objective.ts"
import { makeSpec, sgd } from "../../src/dsl/spec.ts"
import { prioritize } from "../../src/dsl/structure.ts"
import { bloop } from "../../src/interpreters/bloop.ts"
import type { Interpreter } from "../../src/interpreters/interpreter.ts"
import { weightedSum } from "../../src/interpreters/weightedSum.ts"
import { train } from "../../src/training/train.ts"
import { useCpuBackend } from "../support/cpuBackend.ts"

useCpuBackend()

const a = (p: Params) => tf.gather(p.theta!, 0) as Scalar
const b = (p: Params) => tf.gather(p.theta!, 1) as Scalar
const main = objective("main", (p) => tf.mul(0.5, tf.square(a(p))) as Scalar)
const aux = objective("aux", (p) => tf.mul(0.5, tf.add(tf.square(tf.sub(a(p), 1)), tf.square(b(p)))) as Scalar)
const coordinates = [objective("a", a), objective("b", b)]

/** Train from (2, 1) with full-batch gradient descent and return the final (a, b). */
const finalPoint = (interpreter: Interpreter<any>, lambda: number, options: unknown = {}) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const spec = yield* makeSpec({
        parameters: { theta: { shape: [2], init: { kind: "values", values: [2, 1] } } },
        structure: prioritize(main, aux, { lambda }),
        optimizer: sgd({ learningRate: 0.15 }),
        steps: 1000,
        batchSize: 1,
      })
      const rule = yield* interpreter.lower(spec.structure, yield* interpreter.decodeOptions(options), { seed: 0 })
      const summary = yield* train(spec, rule, { evaluations: coordinates })
      return [summary.evaluations.a!, summary.evaluations.b!] as const
    }),
  )

describe("§3.3 conditioning example: Bloop finds the bilevel solution, the weighted sum a λ-dependent compromise", () => {
  for (const lambda of [0.1, 1, 10]) {
    it(`λ = ${lambda}: full-batch Bloop reaches (0, 0)`, async () => {
      const [x, y] = await finalPoint(bloop, lambda)
      expect(Math.abs(x)).toBeLessThan(1e-6)
      expect(Math.abs(y)).toBeLessThan(1e-6)
    })

    it(`λ = ${lambda}: Bloop with the authors' EMA order and a zero start reaches (0, 0) too`, async () => {
      const [x, y] = await finalPoint(bloop, lambda, { emaOrder: "before", emaInit: "zeros" })
      expect(Math.abs(x)).toBeLessThan(1e-6)
      expect(Math.abs(y)).toBeLessThan(1e-6)
    })

    it(`λ = ${lambda}: the weighted sum reaches (λ/(1 + λ), 0) = (${(lambda / (1 + lambda)).toFixed(4)}, 0)`, async () => {
      const [x, y] = await finalPoint(weightedSum, lambda)
      expect(x).toBeCloseTo(lambda / (1 + lambda), 5)
      expect(Math.abs(y)).toBeLessThan(1e-6)
    })
  }
})
