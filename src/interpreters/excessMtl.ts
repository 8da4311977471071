/**
 * ExcessMTL — robust multi-task learning with excess risks (He, Zhou, Zhao & Chen, "Robust
 * Multi-Task Learning with Excess Risks", ICML 2024, §4, Algorithm 1; LibMTL's `ExcessMTL`).
 *
 * Task weights (starting at 1) grow with each task's estimated excess risk, the distance of its
 * loss to its own optimum, estimated to second order with a diagonal (AdaGrad-style) curvature:
 *   Aᵢ ← Aᵢ + gᵢ²,   eᵢ = gᵢᵀ·diag(1/√(Aᵢ + 1e-7))·gᵢ,
 * normalised by the first step's estimates eᵢ⁽¹⁾, then an exponentiated-gradient step
 *   wᵢ ← wᵢ·exp(η·eᵢ/eᵢ⁽¹⁾),   w ← k·w/Σw,   d = Σ wᵢgᵢ.
 * Tasks whose excess risk stays high (hard but learnable) are up-weighted, while noisy tasks (high
 * loss, low excess risk) are not. The accumulators A live in the state (tensors).
 */
import { Effect, Schema } from "effect"
import { combine } from "../core/gram.ts"
import { hostKernel } from "../core/hostKernels.ts"
import { tf, type Tensor1D } from "../core/tf.ts"
import { guarantees } from "./guarantees.ts"
import type { Interpreter, UpdateRule } from "./interpreter.ts"
import { NonNegative, optionsDecoder } from "./options.ts"
import { lowerToTasks } from "./taskLowering.ts"
import { softmax } from "./taskRule.ts"

export const ExcessMtlOptions = Schema.Struct({
  /** η, the exponentiated-gradient step size; default 0.01. */
  robustStepSize: Schema.optionalWith(NonNegative, { default: () => 0.01 }),
})
export type ExcessMtlOptions = typeof ExcessMtlOptions.Type

/** State: step counter, squared-gradient accumulators, task weights and first-step estimates. */
export type ExcessMtlState = {
  readonly t: number
  readonly accumulators: ReadonlyArray<Tensor1D>
  readonly weights: ReadonlyArray<number>
  readonly initial: ReadonlyArray<number>
}

/**
 * The updated accumulators Aᵢ + gᵢ² and the estimates eᵢ = Σ gᵢ²/√(Aᵢ + gᵢ² + 10⁻⁷) for the task
 * gradients gᵢ = wᵢ·hᵢ (raw gradients h, task weights w). On the host backends one fused pass per
 * task (float64 arithmetic, the accumulators stored in float32 and read back for eᵢ, as the
 * tensor path computes them); elsewhere six tensor operations per task.
 */
const excessRisks = (
  raw: ReadonlyArray<Tensor1D>,
  weights: ReadonlyArray<number>,
  accumulators: ReadonlyArray<Tensor1D>,
): readonly [ReadonlyArray<Tensor1D>, Float64Array] => {
  const k = raw.length
  const excess = new Float64Array(k)
  const onHost = hostKernel([...raw, ...accumulators], k, (views, outs) => {
    for (let i = 0; i < k; i++) {
      const h = views[i]!
      const a = views[k + i]!
      const out = outs[i]!
      const w = weights[i]!
      let e = 0
      for (let c = 0; c < out.length; c++) {
        const g = w * h[c]!
        const square = Math.fround(g * g)
        out[c] = a[c]! + square
        e += square / Math.sqrt(out[c]! + 1e-7)
      }
      excess[i] = e
    }
  })
  if (onHost !== undefined) return [onHost, excess]
  const next = tf.tidy(() => {
    const gs = raw.map((h, i) => tf.mul(h, weights[i]!))
    const updated = gs.map((g, i) => tf.add(accumulators[i]!, tf.square(g)) as Tensor1D)
    excess.set(tf.stack(gs.map((g, i) => tf.sum(tf.div(tf.square(g), tf.sqrt(tf.add(updated[i]!, 1e-7)))))).dataSync())
    return updated
  })
  return [next, excess]
}

export const excessMtl: Interpreter<ExcessMtlOptions> = {
  name: "excess-mtl",
  description: "ExcessMTL: task weights grown by exponentiated gradient on each task's estimated excess risk (He et al. 2024).",
  decodeOptions: optionsDecoder("excess-mtl", ExcessMtlOptions),
  guarantees: guarantees({ holds: ["weighted", "permutation-invariant"], reductions: [{ options: { robustStepSize: 0 }, to: "weighted-sum" }] }),
  lower: (structure, options) =>
    Effect.map(lowerToTasks("excess-mtl", structure), ({ tasks, objectives }): UpdateRule<ExcessMtlState> => ({
      name: "excess-mtl",
      objectives,
      init: (layout) => ({ t: 0, accumulators: tasks.map(() => tf.zeros([layout.size]) as Tensor1D), weights: tasks.map(() => 1), initial: [] }),
      step: (gradients, state) => {
        const k = tasks.length
        const raw = tasks.map((t) => gradients[t.objective]!)
        const taskWeights = tasks.map((t) => t.weight)
        const [accumulators, excess] = excessRisks(raw, taskWeights, state.accumulators)
        let weights = state.weights
        let initial = state.initial
        if (initial.length !== k) initial = Array.from(excess)
        else {
          // In the log domain: a first-step estimate near 0 makes the ratio huge, and exp would overflow.
          const logs = weights.map((w, i) => Math.log(w) + options.robustStepSize * (initial[i]! > 0 ? excess[i]! / initial[i]! : 0))
          weights = Array.from(softmax(logs), (x) => k * x)
        }
        const direction = combine(raw, Float64Array.from(weights, (w, i) => w * taskWeights[i]!))
        return [direction, { t: state.t + 1, accumulators, weights, initial }]
      },
    })),
}
