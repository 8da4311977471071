/**
 * GradNorm (Chen, Badrinarayanan, Lee & Rabinovich, "GradNorm: Gradient Normalization for Adaptive
 * Loss Balancing in Deep Multitask Networks", ICML 2018, §3, Eq. 1–2; LibMTL's `GradNorm`).
 *
 * Learnable task weights wᵢ (in the state, starting at 1) are moved so that each weighted
 * gradient's norm ‖wᵢgᵢ‖ approaches the mean norm times the task's relative inverse training
 * rate to the power α:  targetᵢ = mean_j(‖wⱼgⱼ‖)·r̃ᵢ^α,  r̃ᵢ = (Lᵢ/Lᵢ(0)) / mean_j(Lⱼ/Lⱼ(0)).
 * The direction uses the current weights, d = Σ wᵢgᵢ; then one step of size η on the L1 loss
 * Σ|‖wᵢgᵢ‖ − targetᵢ| (targets held constant, as in the paper) and a renormalisation Σw = k.
 * The paper measures gradients at the last shared layer; a rule sees the whole gradient, whose
 * norm it uses. Lᵢ(0) are the first step's losses (kept in the state).
 */
import { Schema } from "effect"
import { guarantees } from "./guarantees.ts"
import { NonNegative } from "./options.ts"
import { taskRuleInterpreter } from "./taskRule.ts"

export const GradNormOptions = Schema.Struct({
  /** α ≥ 0, the strength of the restoring force; default 1.5 (the paper's NYUv2 value). */
  alpha: Schema.optionalWith(NonNegative, { default: () => 1.5 }),
  /** η, the weights' step size; default 0.025 (the paper's). */
  learningRate: Schema.optionalWith(NonNegative, { default: () => 0.025 }),
})
export type GradNormOptions = typeof GradNormOptions.Type

/** State: the step counter, the task weights and the first step's losses. */
export type GradNormState = { readonly t: number; readonly weights: ReadonlyArray<number>; readonly initialLosses: ReadonlyArray<number> }

export const gradNorm = taskRuleInterpreter({
  name: "gradnorm",
  description: "GradNorm: task weights learnt so that weighted gradient norms follow the tasks' relative training rates (Chen et al. 2018).",
  options: GradNormOptions,
  needsLosses: true,
  guarantees: guarantees({ holds: ["weighted", "permutation-invariant"], reductions: [{ options: { learningRate: 0 }, to: "weighted-sum" }] }),
  init: (k): GradNormState => ({ t: 0, weights: new Array<number>(k).fill(1), initialLosses: [] }),
  weights: (input, state: GradNormState, options) => {
    const k = input.losses.length
    const initialLosses = state.initialLosses.length === k ? state.initialLosses : [...input.losses]
    const w = state.weights
    const norms = Array.from({ length: k }, (_, i) => Math.sqrt(Math.max(input.scale * input.gram.values[i * k + i]!, 0)))
    const weightedNorms = norms.map((n, i) => w[i]! * n)
    const meanNorm = weightedNorms.reduce((s, x) => s + x, 0) / k
    const rates = input.losses.map((l, i) => (initialLosses[i]! > 0 ? l / initialLosses[i]! : 1))
    const meanRate = rates.reduce((s, x) => s + x, 0) / k
    const targets = rates.map((r) => meanNorm * (meanRate > 0 ? r / meanRate : 1) ** options.alpha)
    const moved = w.map((wi, i) => Math.max(wi - options.learningRate * Math.sign(weightedNorms[i]! - targets[i]!) * norms[i]!, 0))
    const sum = moved.reduce((s, x) => s + x, 0)
    const weights = sum > 0 ? moved.map((x) => (k * x) / sum) : new Array<number>(k).fill(1)
    return [Float64Array.from(w), { t: state.t + 1, weights, initialLosses }]
  },
})
