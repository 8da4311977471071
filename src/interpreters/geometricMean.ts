/**
 * Geometric mean of the losses (Chennupati, Sistu, Yogamani & Rawashdeh, "MultiNet++: Multi-Stream
 * Feature Aggregation and Geometric Loss Strategy for Multi-Task Learning", CVPR Workshops 2019;
 * TorchJD's scalarization and LibMTL's `GLS`).
 *
 * Minimise L = (Πᵢ Lᵢ)^(1/k); its gradient is d = Σᵢ (L/(k·Lᵢ))·gᵢ: each task is weighted by the
 * inverse of its loss, so small losses are not drowned by large ones. Losses must be positive
 * (non-positive ones are clamped to 1e-12, where the geometric mean is undefined).
 */
import { Schema } from "effect"
import { guarantees } from "./guarantees.ts"
import { taskRuleInterpreter } from "./taskRule.ts"

export const GeometricMeanOptions = Schema.Struct({})
export type GeometricMeanOptions = typeof GeometricMeanOptions.Type

export const geometricMean = taskRuleInterpreter({
  name: "geometric-mean",
  description: "Geometric mean of the losses: d = Σ (L/(k·Lᵢ))gᵢ with L = (Π Lᵢ)^(1/k) (Chennupati et al. 2019).",
  options: GeometricMeanOptions,
  needsLosses: true,
  needsGram: false,
  guarantees: guarantees({ holds: ["linear-under-scaling", "weighted", "permutation-invariant", "scale-invariant"] }),
  init: () => ({ t: 0 }),
  weights: (input, state) => {
    const k = input.losses.length
    const logs = input.losses.map((l) => Math.log(Math.max(l, 1e-12)))
    const logMean = logs.reduce((s, x) => s + x, 0) / k
    return [logs.map((l) => Math.exp(logMean - l) / k), { t: state.t + 1 }]
  },
})
