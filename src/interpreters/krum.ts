/**
 * Krum and Multi-Krum (Blanchard, El Mhamdi, Guerraoui & Stainer, "Machine Learning with
 * Adversaries: Byzantine Tolerant Gradient Descent", NeurIPS 2017, §4; TorchJD's `Krum`).
 *
 * With f tolerated Byzantine tasks, each gradient gᵢ is scored by the sum of its squared distances
 * to its k − f − 2 nearest other gradients; d is the mean of the m gradients with the lowest scores
 * (m = 1: Krum). Distances come from the Gram matrix, ‖gᵢ − gⱼ‖² = Gᵢᵢ + Gⱼⱼ − 2Gᵢⱼ. Ties are broken
 * by task order. Needs k ≥ f + 3 and k ≥ m (lowering fails with `Unsupported` otherwise).
 */
import { Schema } from "effect"
import { guarantees } from "./guarantees.ts"
import { taskRuleInterpreter } from "./taskRule.ts"

const Count = (minimum: number) =>
  Schema.Number.pipe(Schema.filter((x) => (Number.isInteger(x) && x >= minimum) || `expected an integer ≥ ${minimum}, got ${x}`))

export const KrumOptions = Schema.Struct({
  /** f, the number of gradients that may be adversarial; default 1. */
  byzantine: Schema.optionalWith(Count(0), { default: () => 1 }),
  /** m, the number of gradients averaged (Multi-Krum when > 1); default 1. */
  selected: Schema.optionalWith(Count(1), { default: () => 1 }),
})
export type KrumOptions = typeof KrumOptions.Type

/** Krum's weights (1/m on the m best-scored gradients). */
export const krumWeights = (gram: { readonly size: number; readonly values: Float64Array }, options: KrumOptions): Float64Array => {
  const k = gram.size
  const g = (i: number, j: number) => gram.values[i * k + j]!
  const neighbours = k - options.byzantine - 2
  const scores = Array.from({ length: k }, (_, i) => {
    const distances = [...Array(k).keys()].filter((j) => j !== i).map((j) => Math.max(g(i, i) + g(j, j) - 2 * g(i, j), 0))
    return distances.sort((a, b) => a - b).slice(0, neighbours).reduce((s, x) => s + x, 0)
  })
  const order = [...Array(k).keys()].sort((a, b) => scores[a]! - scores[b]! || a - b)
  const out = new Float64Array(k)
  for (const i of order.slice(0, options.selected)) out[i] = 1 / options.selected
  return out
}

export const krum = taskRuleInterpreter({
  name: "krum",
  description: "Krum: the gradient(s) closest to their k − f − 2 nearest neighbours, robust to f outliers (Blanchard et al. 2017).",
  options: KrumOptions,
  guarantees: guarantees({ holds: ["weighted", "scale-invariant"], subject: { form: "hierarchy", minTasks: 4 } }),
  unsupported: (k, o) =>
    k < o.byzantine + 3 ? `Krum with byzantine = ${o.byzantine} needs at least ${o.byzantine + 3} tasks` : k < o.selected ? `selected = ${o.selected} exceeds the ${k} tasks` : undefined,
  init: () => ({ t: 0 }),
  weights: (input, state, options) => [krumWeights(input.gram, options), { t: state.t + 1 }],
})
