/**
 * Uncertainty weighting (Kendall, Gal & Cipolla, "Multi-Task Learning Using Uncertainty to Weigh
 * Losses for Scene Geometry and Semantics", CVPR 2018, Eq. 7–10; LibMTL's `UW`).
 *
 * Minimise Σᵢ ½e^(−sᵢ)·Lᵢ + ½sᵢ with learnable sᵢ = log σᵢ² (the task's homoscedastic noise). The
 * rule's direction is the gradient in θ, d = Σᵢ ½e^(−sᵢ)·gᵢ, and the state carries s, moved by a
 * gradient step on the same objective after d is formed:
 *   sᵢ ← sᵢ − η·(½ − ½e^(−sᵢ)·Lᵢ)     (its fixed point is e^(sᵢ) = Lᵢ: σᵢ² tracks the loss).
 * The paper trains s with the network's optimizer; here it has its own step size η.
 */
import { Schema } from "effect"
import { guarantees } from "./guarantees.ts"
import { NonNegative } from "./options.ts"
import { taskRuleInterpreter } from "./taskRule.ts"

export const UncertaintyOptions = Schema.Struct({
  /** η, the step size of the log-variances; default 0.01. */
  learningRate: Schema.optionalWith(NonNegative, { default: () => 0.01 }),
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
  init: (k): UncertaintyState => ({ t: 0, logVariances: new Array<number>(k).fill(0) }),
  weights: (input, state: UncertaintyState, options) => {
    const w = state.logVariances.map((s) => 0.5 * Math.exp(-s))
    const logVariances = state.logVariances.map((s, i) => s - options.learningRate * (0.5 - w[i]! * input.losses[i]!))
    return [w, { t: state.t + 1, logVariances }]
  },
})
