/**
 * Constraints on a tiny convex problem with a known solution:
 *   minimise f(θ) = ½‖θ − a‖² subject to q(θ) = ½‖θ‖² ≤ ε,  a = (2, 1), ε = ½.
 * a lies outside the ball, so the constraint is active: θ* = a/‖a‖, f* = ½(‖a‖ − 1)², q* = ε, and the
 * multiplier is ν* = ‖a‖ − 1 (from θ − a + νθ = 0).
 */
import { Effect, Either } from "effect"
import { describe, expect, it } from "vitest"
import { tf } from "../../src/core/tf.ts"
import { objective } from "../../src/dsl/objective.ts"
import { makeSpec, sgd } from "../../src/dsl/spec.ts"
import { constrain, hierarchy, prioritize, sum } from "../../src/dsl/structure.ts"
import { dynamicBarrier } from "../../src/interpreters/dynamicBarrier.ts"
import { MissingLosses } from "../../src/interpreters/interpreter.ts"
import { primalDual } from "../../src/interpreters/primalDual.ts"
import { releaseParameters, train } from "../../src/training/train.ts"
import type { Interpreter } from "../../src/interpreters/interpreter.ts"
import { useCpuBackend } from "../support/cpuBackend.ts"

useCpuBackend()

const a = [2, 1]
const epsilon = 0.5
const normA = Math.hypot(a[0]!, a[1]!)
const fStar = 0.5 * (normA - 1) ** 2

const makeObjectives = () => {
  const target = tf.tensor1d(a)
  const f = objective("f", (p) => tf.mul(0.5, tf.sum(tf.square(tf.sub(p.w!, target)))))
  const q = objective("q", (p) => tf.mul(0.5, tf.sum(tf.square(p.w!))))
  return { f, q, dispose: () => target.dispose() }
}

const solve = (interpreter: Interpreter<any>, rawOptions: unknown, steps: number) =>
  Effect.gen(function* () {
    const { f, q, dispose } = makeObjectives()
    const structure = sum(f, constrain(q, { atMost: epsilon }))
    const spec = yield* makeSpec({ parameters: { w: { shape: [2], init: { kind: "zeros" } } }, structure, optimizer: sgd({ learningRate: 0.05 }), steps, batchSize: 1 })
    const options = yield* interpreter.decodeOptions(rawOptions)
    const rule = yield* interpreter.lower(structure, options, { seed: 0 })
    const summary = releaseParameters(spec, yield* train(spec, rule))
    dispose()
    return summary.finalLosses
  })

/**
 * Tolerance: the iterations converge linearly to the KKT point (strongly convex Lagrangian in θ);
 * after the steps used here the predicted residual is far below float32 resolution of the losses
 * (≈ 2⁻²⁴·f* ≈ 1e-8), so what is left is the float32 fixed point: a few ulps of θ (|θ| ≤ 1)
 * propagate to f and q with factor ‖∇‖ ≤ ‖a‖, i.e. ≲ 10·2⁻²⁴·‖a‖ ≈ 1.3e-6. We allow 1e-5.
 */
const tolerance = 1e-5

describe("constraints: min f s.t. q ≤ ε on a convex problem with a known solution", () => {
  it("primal–dual ends feasible and at the constrained optimum (q = ε, f = f*)", async () => {
    const losses = await Effect.runPromise(solve(primalDual, { dualStepSize: 0.5 }, 3000))
    expect(losses.q!).toBeLessThanOrEqual(epsilon + tolerance)
    expect(Math.abs(losses.q! - epsilon)).toBeLessThanOrEqual(tolerance)
    expect(Math.abs(losses.f! - fStar)).toBeLessThanOrEqual(tolerance)
  })

  it("the dynamic barrier ends feasible and at the constrained optimum", async () => {
    const losses = await Effect.runPromise(solve(dynamicBarrier, { alpha: 1 }, 3000))
    expect(losses.q!).toBeLessThanOrEqual(epsilon + tolerance)
    expect(Math.abs(losses.f! - fStar)).toBeLessThanOrEqual(tolerance)
  })

  it("primal–dual's multiplier converges to ν* = ‖a‖ − 1 (KKT)", () => {
    // Drive the rule directly with exact gradients and losses of the problem, in float32 tensors.
    const { f, q, dispose } = makeObjectives()
    const rule = Effect.runSync(primalDual.lower(sum(f, constrain(q, { atMost: epsilon })), { dualStepSize: 0.5, initialMultiplier: 0 }, { seed: 0 }))
    let theta = [0, 0]
    let state = rule.init({ entries: [{ name: "w", shape: [2], size: 2, offset: 0 }], size: 2 })
    for (let t = 0; t < 3000; t++) {
      const gradients = { f: tf.tensor1d([theta[0]! - a[0]!, theta[1]! - a[1]!]), q: tf.tensor1d(theta) }
      const losses = { f: 0.5 * ((theta[0]! - a[0]!) ** 2 + (theta[1]! - a[1]!) ** 2), q: 0.5 * (theta[0]! ** 2 + theta[1]! ** 2) }
      const [d, next] = rule.step(gradients, state, losses)
      const dv = d.dataSync()
      theta = [theta[0]! - 0.05 * dv[0]!, theta[1]! - 0.05 * dv[1]!]
      tf.dispose([d, gradients.f, gradients.q])
      state = next
    }
    dispose()
    expect(Math.abs(state.multipliers[0]! - (normA - 1))).toBeLessThanOrEqual(1e-4)
  })

  it("a rule that needs losses and is stepped without them throws MissingLosses naming the objective", () => {
    const { f, q, dispose } = makeObjectives()
    const rule = Effect.runSync(primalDual.lower(sum(f, constrain(q, { atMost: epsilon })), { dualStepSize: 0.1, initialMultiplier: 0 }, { seed: 0 }))
    const g = tf.tensor1d([1, 2])
    expect(() => rule.step({ f: g, q: g }, rule.init({ entries: [], size: 2 }))).toThrow(MissingLosses)
    expect(() => rule.step({ f: g, q: g }, rule.init({ entries: [], size: 2 }))).toThrow(/objective 'q'/)
    g.dispose()
    dispose()
  })

  it("constructs they cannot lower fail with Unsupported naming construct and interpreter", () => {
    const { f, q, dispose } = makeObjectives()
    const cases = [
      [primalDual, prioritize(f, constrain(q, { atMost: 1 }), { lambda: 1 }), /primal-dual.*Constrained|primal-dual.*Hierarchy/],
      [primalDual, constrain(q, { atMost: 1 }), /primal-dual.*Constrained without an objective/],
      [dynamicBarrier, sum(f, constrain(q, { atMost: 1 }), constrain(f, { atMost: 2 })), /dynamic-barrier.*2 constraints/],
      [dynamicBarrier, hierarchy([f, q, f]), /dynamic-barrier.*Hierarchy of 3 levels/],
    ] as const
    for (const [interpreter, structure, pattern] of cases) {
      const result = Effect.runSync(Effect.either((interpreter as Interpreter<any>).lower(structure, interpreter === primalDual ? { dualStepSize: 0.1, initialMultiplier: 0 } : { alpha: 1 }, { seed: 0 })))
      expect(Either.isLeft(result)).toBe(true)
      if (Either.isLeft(result)) {
        expect(result.left._tag).toBe("Unsupported")
        expect(result.left.message).toMatch(pattern)
      }
    }
    dispose()
  })

  it("bad options are InvalidOptions naming the field", () => {
    const result = Effect.runSync(Effect.either(primalDual.decodeOptions({ dualStepSize: -1 })))
    expect(Either.isLeft(result) && result.left._tag === "InvalidOptions" && result.left.message).toMatch(/primal-dual.*dualStepSize/)
  })
})
