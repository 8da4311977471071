/**
 * Nash-MTL — multi-task learning as a bargaining game (Navon, Shamsian, Achituve, Maron,
 * Kawaguchi, Chechik & Fetaya, ICML 2022, arXiv 2202.01017, §3 and Algorithm 1; TorchJD's `NashMTL`).
 *
 * The Nash bargaining solution among the tasks: d = Jᵀα with α > 0 solving (Gα)ᵢ = 1/αᵢ, i.e.
 * ⟨gᵢ, d⟩·αᵢ = 1 for every task. Every task therefore gains ⟨gᵢ, d⟩ = 1/αᵢ > 0 (non-conflicting),
 * and the product of the gains is maximal on the ball. The condition is solved on the raw G, as in
 * the paper and the authors' CCP (which TorchJD and LibMTL share): then ‖d‖² = αᵀGα = Σᵢ αᵢ(Gα)ᵢ = k,
 * so ‖d‖ = √k whatever the gradients' scale, and d(s·J) = d(J) (the step size alone sets the
 * length of the update). The authors' code divides G by its Frobenius norm only inside its solver,
 * to condition it, and undoes that on α (an earlier scalpel kept the normalised α, which made d
 * √‖G‖_F times too long). `maxNorm` > 0 clips ‖d‖ as their code does (its default there is 1;
 * here 0, i.e. off, as in the paper).
 *
 * The paper solves for α with a sequence of convex programs (CCP, 20 iterations by default); here
 * the equivalent convex problem min ½αᵀGα − Σ log αᵢ is solved to convergence by Newton's method
 * (`core/utilitySolve.ts`). Tasks with a zero gradient cannot gain and get weight 0; when some
 * conic combination of the others vanishes (a Pareto-stationary set) no bargaining solution exists
 * and d = 0.
 */
import { Schema } from "effect"
import { quadraticForm, symmetricFrom, type SymmetricMatrix } from "../core/smallQp.ts"
import { utilityWeights } from "../core/utilitySolve.ts"
import { guarantees } from "./guarantees.ts"
import { NonNegative } from "./options.ts"
import { taskRuleInterpreter } from "./taskRule.ts"

export const NashMtlOptions = Schema.Struct({
  /** Clip ‖d‖ to this value when positive (the authors' `max_norm`); default 0, no clipping. */
  maxNorm: Schema.optionalWith(NonNegative, { default: () => 0 }),
})
export type NashMtlOptions = typeof NashMtlOptions.Type

/**
 * Weights w > 0 with (G'w)ᵢ = wᵢ^(−1/α) on the tasks whose gradient is not zero (G' = `gram`
 * restricted to them), 0 for the others; `undefined` when no solution exists.
 *
 * A task is zero only when its gradient is (Gᵢᵢ = 0): Gᵢᵢ errs by ε·‖gᵢ‖² (the per-pair bound of
 * `NormalisedGram`), so a task 10⁻¹⁰ the largest's norm is as well determined as the largest.
 * The solve is on the correlation form G' = SCS (S = diag‖gᵢ‖): with β = Sw the condition is
 * (Cβ)ᵢ = sᵢ^((1−α)/α)·βᵢ^(−1/α), scale-free for α = 1, and w = S⁻¹β.
 */
export const utilityWeightsOnLiveTasks = (gram: SymmetricMatrix, alpha: number, _resolution: number): Float64Array | undefined => {
  const k = gram.size
  const live = [...Array(k).keys()].filter((i) => gram.values[i * k + i]! > 0)
  const out = new Float64Array(k)
  if (live.length === 0) return out
  const norms = live.map((i) => Math.sqrt(gram.values[i * k + i]!))
  const correlation = symmetricFrom(live.length, (a, b) => (a === b ? 1 : gram.values[live[a]! * k + live[b]!]! / (norms[a]! * norms[b]!)))
  const beta = utilityWeights(correlation, alpha, norms.map((s) => s ** ((1 - alpha) / alpha)))
  if (beta === undefined) return undefined
  live.forEach((i, a) => (out[i] = beta[a]! / norms[a]!))
  return out
}

/**
 * Nash-MTL's weights for G = scale·gram (gram normalised to a largest diagonal entry of 1): with
 * v solving (gram·v)ᵢ = 1/vᵢ, α = v/√scale solves (Gα)ᵢ = 1/αᵢ on the raw G, as the authors' CCP
 * does (so ‖d‖² = αᵀGα = k, and d(s·J) = d(J)).
 */
export const nashMtlWeights = (gram: SymmetricMatrix, scale: number, resolution: number, maxNorm: number): Float64Array => {
  const v = utilityWeightsOnLiveTasks(gram, 1, resolution)
  if (v === undefined || !(scale > 0)) return new Float64Array(gram.size)
  const alpha = v.map((x) => x / Math.sqrt(scale))
  if (maxNorm > 0) {
    const norm = Math.sqrt(Math.max(scale * quadraticForm(gram, alpha), 0))
    if (norm > maxNorm) return alpha.map((a) => (a * maxNorm) / norm)
  }
  return alpha
}

export const nashMtl = taskRuleInterpreter({
  name: "nash-mtl",
  description: "Nash-MTL: the Nash bargaining solution among the tasks, (Gα)ᵢ = 1/αᵢ (Navon et al. 2022).",
  options: NashMtlOptions,
  guarantees: guarantees({ holds: ["non-conflicting", "weighted", "permutation-invariant"] }),
  init: () => ({ t: 0 }),
  weights: (input, state, options) => [nashMtlWeights(input.gram, input.scale, input.resolution, options.maxNorm), { t: state.t + 1 }],
})
