/**
 * The tensor-op paths that backends without host access (tfjs-node, WebGL) take. Here they run on
 * the cpu backend with the host kernels switched off (`useHostKernels(false)`, as
 * `SCALPEL_HOST_KERNELS=0` does), and must agree with the host paths the other tests check against
 * float64 references: same results up to float32 rounding.
 */
import { Effect } from "effect"
import fc from "fast-check"
import { afterEach, describe, expect, it } from "vitest"
import { useHostKernels } from "../../src/core/hostKernels.ts"
import { applyStep } from "../../src/core/optimizers.ts"
import { flattenChecked, layoutOf } from "../../src/core/paramVector.ts"
import { tf, tidy, type Tensor1D } from "../../src/core/tf.ts"
import { objective } from "../../src/dsl/objective.ts"
import { hierarchy } from "../../src/dsl/structure.ts"
import { builtinInterpreters } from "../../src/interpreters/builtins.ts"
import type { RuleState } from "../../src/interpreters/interpreter.ts"
import { disposeReplaced } from "../../src/training/tensors.ts"
import { reference } from "scalpel/testing"
import { useCpuBackend } from "../support/cpuBackend.ts"

useCpuBackend()
afterEach(() => useHostKernels(true))

/** Rules whose directions depend on gradients only (no losses, no options needed). */
const rules = ["weighted-sum", "bloop", "bloop-no-ema", "pcgrad", "mgda", "cagrad", "imtl-g", "upgrad", "graddrop", "trimmed-mean", "excess-mtl"] as const

/** Rules that need more than two tasks (trimmed-mean drops the largest and the smallest). */
const minTasks: Partial<Record<(typeof rules)[number], number>> = { "trimmed-mean": 3 }

/**
 * k ∈ minK..4 gradients for each of two steps, length n ∈ k+1..24: entries in [−1, 1] plus 3 at
 * position i for gradient i, so that every Gram matrix is well conditioned and the rules' answers
 * are stable under float32 rounding (ill-conditioned sets are the host paths' own tests' business).
 */
const gradientSteps = (minK: number) => fc.integer({ min: minK, max: 4 }).chain((k) =>
  fc.integer({ min: k + 1, max: 24 }).chain((n) => {
    const vector = (i: number) =>
      fc.float32Array({ minLength: n, maxLength: n, min: -1, max: 1, noNaN: true }).map((v) => {
        v[i] = v[i]! + 3
        return v
      })
    const step = fc.tuple(...Array.from({ length: k }, (_, i) => vector(i)))
    return fc.tuple(step, step)
  }),
)

const directions = (name: string, steps: ReadonlyArray<ReadonlyArray<Float32Array>>): Array<Float32Array> => {
  const k = steps[0]!.length
  const objectives = Array.from({ length: k }, (_, i) => objective(`o${i}`, () => tf.scalar(0)))
  const structure = hierarchy(objectives.map((o, i) => (i === 0 ? o : { of: o, lambda: 0.5 })))
  const interpreter = builtinInterpreters.get(name)!
  const rule = Effect.runSync(Effect.flatMap(interpreter.decodeOptions({}), (o) => interpreter.lower(structure, o, { seed: 3 })))
  const layout = layoutOf({ theta: { shape: [steps[0]![0]!.length] } })
  let state: RuleState = rule.init(layout)
  const out = steps.map((gs) => {
    const gradients = Object.fromEntries(gs.map((g, i) => [`o${i}`, tf.tensor1d(g)])) as Record<string, Tensor1D>
    const [d, next] = tidy(() => rule.step(gradients, state))
    const values = d.dataSync() as Float32Array
    tf.dispose([d, ...Object.values(gradients)])
    disposeReplaced(state, next)
    state = next
    return values
  })
  disposeReplaced(state, undefined)
  return out
}

describe("tensor-op fallbacks agree with the host paths (cpu, host kernels off)", () => {
  it.each(rules)("%s: ‖d_tensor − d_host‖ ≤ 10⁻⁴·Σ‖gᵢ‖ at both steps (the second uses Bloop's EMA)", (name) =>
    fc.assert(
      fc.property(gradientSteps(minTasks[name] ?? 2), (steps) => {
        const host = directions(name, steps)
        useHostKernels(false)
        const tensor = directions(name, steps)
        useHostKernels(true)
        steps.forEach((gs, t) => {
          const scale = gs.reduce((s, g) => s + reference.norm(g), 0)
          expect(reference.distance(tensor[t]!, host[t]!), `step ${t + 1}`).toBeLessThanOrEqual(1e-4 * scale)
        })
      }),
      { numRuns: 40 },
    ))

  it("flattenChecked: the concatenation and the finiteness flag are the same either way", () =>
    fc.assert(
      fc.property(fc.float32Array({ minLength: 6, maxLength: 6 }), fc.float32Array({ minLength: 1, maxLength: 9 }), (a, b) => {
        const tensors = { a: tf.tensor2d(a, [2, 3]), b: tf.tensor1d(b) }
        const layout = layoutOf(tensors)
        const host = flattenChecked(layout, tensors)
        useHostKernels(false)
        const fallback = flattenChecked(layout, tensors)
        useHostKernels(true)
        expect(fallback.finite).toBe(host.finite)
        expect(fallback.finite).toBe([...a, ...b].every(Number.isFinite))
        expect(Array.from(fallback.flat.dataSync())).toEqual(Array.from(host.flat.dataSync()))
        tf.dispose([host.flat, fallback.flat, ...Object.values(tensors)])
      }),
    ))

  it("applyStep: θ − Δ per variable, the same within one float32 rounding either way", () =>
    fc.assert(
      fc.property(
        fc.float32Array({ minLength: 10, maxLength: 10, min: -100, max: 100, noNaN: true }),
        fc.float32Array({ minLength: 10, maxLength: 10, min: -100, max: 100, noNaN: true }),
        (theta, delta) => {
          const run = () => {
            const variables = { u: tf.variable(tf.tensor2d(theta.slice(0, 6), [2, 3])), v: tf.variable(tf.tensor1d(theta.slice(6))) }
            const step = tf.tensor1d(delta)
            applyStep(layoutOf(variables), variables, step)
            const values = [...variables.u.dataSync(), ...variables.v.dataSync()]
            expect(variables.u.shape).toEqual([2, 3])
            tf.dispose([step, variables.u, variables.v])
            return values
          }
          const host = run()
          useHostKernels(false)
          const fallback = run()
          useHostKernels(true)
          fallback.forEach((x, i) => {
            const exact = theta[i]! - delta[i]!
            expect(Math.abs(x - exact)).toBeLessThanOrEqual(2 ** -24 * Math.abs(exact) + 2 ** -149)
            expect(Math.abs(host[i]! - exact)).toBeLessThanOrEqual(2 ** -24 * Math.abs(exact) + 2 ** -149)
          })
        },
      ),
    ))
})
