/**
 * STCH — smooth Tchebycheff scalarization (Lin, Zhang, Chen, Liu, Zhang & Zhang, "Smooth
 * Tchebycheff Scalarization for Multi-Objective Optimization", ICML 2024, Eq. 8; TorchJD's
 * scalarization).
 *
 * Minimise g_μ = μ·log Σᵢ exp((Lᵢ − zᵢ)/μ), a smooth upper bound of the Tchebycheff maxᵢ(Lᵢ − zᵢ)
 * (within μ·log k); its gradient is d = Σᵢ softmax((L − z)/μ)ᵢ·gᵢ: the worst task gets most weight,
 * and μ → 0 approaches the max. The ideal point z is 0 unless given (one value for every task).
 */
import { Schema } from "effect"
import { guarantees } from "./guarantees.ts"
import { softmax, taskRuleInterpreter } from "./taskRule.ts"

export const StchOptions = Schema.Struct({
  /** μ > 0, the smoothing; default 1. */
  mu: Schema.optionalWith(Schema.Number.pipe(Schema.filter((x) => (Number.isFinite(x) && x > 0) || `expected a positive number, got ${x}`)), { default: () => 1 }),
  /** z, the ideal value subtracted from every loss; default 0. */
  ideal: Schema.optionalWith(Schema.Number, { default: () => 0 }),
})
export type StchOptions = typeof StchOptions.Type

export const stch = taskRuleInterpreter({
  name: "stch",
  description: "STCH: smooth Tchebycheff scalarization, d = Σ softmax((L − z)/μ)ᵢ gᵢ (Lin et al. 2024).",
  options: StchOptions,
  needsLosses: true,
  needsGram: false,
  guarantees: guarantees({ holds: ["linear-under-scaling", "weighted", "permutation-invariant", "scale-invariant"] }),
  init: () => ({ t: 0 }),
  weights: (input, state, options) => [softmax(input.losses.map((l) => (l - options.ideal) / options.mu)), { t: state.t + 1 }],
})
