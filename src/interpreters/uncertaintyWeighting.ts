/**
 * Uncertainty weighting (Kendall, Gal & Cipolla, "Multi-Task Learning Using Uncertainty to Weigh
 * Losses for Scene Geometry and Semantics", CVPR 2018, Eq. 7–10; LibMTL's `UW`).
 *
 * Minimise Σᵢ ½e^(−sᵢ)·Lᵢ + ½sᵢ with learnable sᵢ = log σᵢ² (the task's homoscedastic noise). The
 * rule's direction is the gradient in θ, d = Σᵢ ½e^(−sᵢ)·gᵢ, and the state carries s, moved by a
 * gradient step on the same objective after d is formed:
 *   sᵢ ← sᵢ − η·(½ − ½e^(−sᵢ)·Lᵢ)     (its fixed point is e^(sᵢ) = Lᵢ: σᵢ² tracks the loss).
 * The paper trains s with the network's optimizer; here it has its own step size η.
 *
 * Start: s = 0 by default (σ² = 1, where the paper's Eq. 7 reduces to the plain sum ½ΣLᵢ; the
 * paper states no initialisation). LibMTL starts its `loss_scale` at −0.5, i.e. weights
 * ½e^0.5 ≈ 0.82 instead of 0.5 at the first step; `initialLogVariance: -0.5` reproduces it.
 */
import { Schema } from "effect"
import { guarantees } from "./guarantees.ts"
import { NonNegative } from "./options.ts"
import { taskRuleInterpreter } from "./taskRule.ts"

export const UncertaintyOptions = Schema.Struct({
  /** η, the step size of the log-variances; default 0.01. */
  learningRate: Schema.optionalWith(NonNegative, { default: () => 0.01 }),
  /** The log-variances' start s₀ (every task); default 0 (σ² = 1), LibMTL's is −0.5. */
  initialLogVariance: Schema.optionalWith(
    Schema.Number.pipe(Schema.filter((x) => Number.isFinite(x) || `expected a finite number, got ${x}`)),
    { default: () => 0 },
  ),
})
export type UncertaintyOptions = typeof UncertaintyOptions.Type

/** State: the step counter and the log-variances s. */
export type UncertaintyState = { readonly t: number; readonly logVariances: ReadonlyArray<number> }

export const uncertaintyWeighting = taskRuleInterpreter({
  name: "uncertainty",
  description: "Uncertainty weighting: d = Σ ½e^(−sᵢ)gᵢ with learnt log-variances sᵢ (Kendall, Gal & Cipolla 2018).",
  options: UncertaintyOptions,
  needsLosses: true,
  needsGram: false,
  guarantees: guarantees({ holds: ["linear-under-scaling", "weighted", "permutation-invariant", "scale-invariant"] }),
  init: (k, options): UncertaintyState => ({ t: 0, logVariances: new Array<number>(k).fill(options.initialLogVariance) }),
  weights: (input, state: UncertaintyState, options) => {
    const w = state.logVariances.map((s) => 0.5 * Math.exp(-s))
    const logVariances = state.logVariances.map((s, i) => s - options.learningRate * (0.5 - w[i]! * input.losses[i]!))
    return [w, { t: state.t + 1, logVariances }]
  },
})
