/**
 * ConFIG — conflict-free gradients (Liu, Chu, Thuerey et al., "ConFIG: Towards Conflict-free
 * Training of Physics Informed Neural Networks", ICLR 2025, arXiv 2408.11104, Eq. 2; TorchJD's
 * `ConFIG`).
 *
 * With ĝᵢ = gᵢ/‖gᵢ‖ (0 for a zero gradient), the direction u solves ⟨ĝᵢ, u⟩ = 1 for every task in
 * the least-squares sense, u = Ĵ⁺·1 (so it has the same positive projection on every unit task
 * direction when that is achievable); its length is the sum of the tasks' projections on it:
 *   d = (Σᵢ ⟨gᵢ, û⟩)·û,   û = u/‖u‖.
 * In Gram form u = Ĵᵀc with c = Ĝ⁺·1, Ĝ = D⁻¹GD⁻¹ and D = diag(‖gᵢ‖), so u = Σᵢ (cᵢ/‖gᵢ‖)·gᵢ.
 */
import { Schema } from "effect"
import { matVec, pseudoInverseSolve, quadraticForm, symmetricFrom } from "../core/smallQp.ts"
import { guarantees } from "./guarantees.ts"
import { taskRuleInterpreter } from "./taskRule.ts"

export const ConfigOptions = Schema.Struct({})
export type ConfigOptions = typeof ConfigOptions.Type

/** ConFIG's weights on the gradients from the normalised Gram matrix. */
export const configWeights = (gram: { readonly size: number; readonly values: Float64Array }, resolution = 1e-14): Float64Array => {
  const k = gram.size
  const norms = Float64Array.from({ length: k }, (_, i) => Math.sqrt(Math.max(gram.values[i * k + i]!, 0)))
  // A task is zero only when its gradient is: Gᵢᵢ errs by at most ε·‖gᵢ‖² (the per-pair bound of
  // `NormalisedGram`), so a small task's diagonal is as accurate as a large one's and its unit
  // direction as well determined. (Comparing ‖gᵢ‖² with ε relative to the largest task dropped
  // every task below √ε of it, ~1e-8: J = [[1e-8, 0], [0, 1]] gave (0, 1), not ConFIG's (½, ½).)
  const live = (i: number) => norms[i]! > 0
  const unitGram = symmetricFrom(k, (i, j) => (live(i) && live(j) ? gram.values[i * k + j]! / (norms[i]! * norms[j]!) : 0))
  const c = pseudoInverseSolve(unitGram, Float64Array.from({ length: k }, (_, i) => (live(i) ? 1 : 0)), k * resolution)
  // ‖u‖ ≥ 1 whenever ⟨ĝᵢ, u⟩ = 1 is solvable; a u at the rounding level of Ĝ means 1 is orthogonal
  // to its range (e.g. two opposite gradients): then u = 0, and d = 0 as in TorchJD — normalising
  // the rounding residue would turn noise into a full-length direction.
  if (!(quadraticForm(unitGram, c) > k * resolution)) return new Float64Array(k)
  const beta = c.map((ci, i) => (live(i) ? ci / norms[i]! : 0)) // u = Σ βᵢgᵢ
  const uu = quadraticForm(gram, beta)
  if (!(uu > 0)) return new Float64Array(k)
  const length = matVec(gram, beta).reduce((s, x) => s + x, 0) // Σⱼ⟨gⱼ, u⟩
  return beta.map((b) => (length / uu) * b)
}

export const config = taskRuleInterpreter({
  name: "config",
  description: "ConFIG: the direction with equal projections on every unit task gradient, as long as their summed projections (Liu et al. 2025).",
  options: ConfigOptions,
  guarantees: guarantees({ holds: ["linear-under-scaling", "weighted", "permutation-invariant", "scale-invariant"] }),
  init: () => ({ t: 0 }),
  weights: (input, state) => [configWeights(input.gram, input.resolution), { t: state.t + 1 }],
})
