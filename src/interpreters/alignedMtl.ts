/**
 * Aligned-MTL (Senushkin, Patakin, Kuznetsov & Konushin, "Independent Component Alignment for
 * Multi-Task Learning", CVPR 2023, Algorithm 1; TorchJD's `AlignedMTL`).
 *
 * Make the task gradients orthogonal and of equal length before combining them: with
 * G = VΛVᵀ (rank r, eigenvalues λ₁ ≥ … ≥ λ_r > 0), the balance transformation
 * B = √λ_r · V_r Λ_r^(−1/2) V_rᵀ turns J into the "aligned" BJ, whose rows' non-zero singular values
 * all equal √λ_r (the smallest one: the condition number of the aligned system is 1). The direction
 * is d = (BJ)ᵀ·p = Jᵀ(B·p) with p the preference weights (default the mean, 1/k each).
 *
 * Rank (which eigenvalues are rounding, not information): each entry of G errs by at most
 * ε·‖gᵢ‖‖gⱼ‖ (`NormalisedGram`'s per-pair bound), which moves the eigenvalue of a unit eigenvector
 * v by at most ε·(Σᵢ|vᵢ|‖gᵢ‖)²; the eigen-solver adds its backward error, about k·u·λ₁ with
 * u = 2⁻⁵³. An eigenvalue is kept when it exceeds k times the sum. So the eigenvalue of a small
 * task orthogonal to the others (10⁻¹² of the largest at a norm ratio of 10⁻⁶) is kept; a cut-off
 * of k·ε·λ₁ with a floor of 10⁻¹⁴·λ₁, relative to the largest alone, dropped it. TorchJD and
 * LibMTL cut at k·eps·λ₁ with the eps of PyTorch's default dtype (2⁻⁵² if float64, 2⁻²³ under
 * the float32 default: then they drop more than this rule does; docs/interpreters.md).
 */
import { Schema } from "effect"
import { symmetricEigen } from "../core/smallQp.ts"
import { guarantees } from "./guarantees.ts"
import { taskRuleInterpreter } from "./taskRule.ts"

const unitRoundoff = 2 ** -53

export const AlignedMtlOptions = Schema.Struct({})
export type AlignedMtlOptions = typeof AlignedMtlOptions.Type

/** Aligned-MTL's weights B·p (p = 1/k) from the normalised Gram matrix. */
export const alignedMtlWeights = (gram: { readonly size: number; readonly values: Float64Array }, resolution = 1e-14): Float64Array => {
  const k = gram.size
  const { values, vectors } = symmetricEigen(gram)
  const largest = Math.max(0, ...values)
  const norms = Array.from({ length: k }, (_, i) => Math.sqrt(Math.max(gram.values[i * k + i]!, 0)))
  const bound = (e: number) => {
    let spread = 0 // Σᵢ|vₑᵢ|·‖gᵢ‖
    for (let i = 0; i < k; i++) spread += Math.abs(vectors[i * k + e]!) * norms[i]!
    return k * ((resolution + 4 * unitRoundoff) * spread * spread + k * unitRoundoff * largest)
  }
  const kept = [...values.keys()].filter((e) => values[e]! > 0 && values[e]! > bound(e))
  const out = new Float64Array(k)
  if (kept.length === 0) return out
  const smallest = Math.min(...kept.map((e) => values[e]!))
  for (const e of kept) {
    let proj = 0 // ⟨v_e, p⟩ with p = 1/k
    for (let i = 0; i < k; i++) proj += vectors[i * k + e]! / k
    const c = (Math.sqrt(smallest) / Math.sqrt(values[e]!)) * proj
    for (let i = 0; i < k; i++) out[i]! += c * vectors[i * k + e]!
  }
  return out
}

export const alignedMtl = taskRuleInterpreter({
  name: "aligned-mtl",
  description: "Aligned-MTL: align the task gradients to orthogonal, equally long components, then average (Senushkin et al. 2023).",
  options: AlignedMtlOptions,
  guarantees: guarantees({ holds: ["weighted", "permutation-invariant", "scale-invariant"] }),
  init: () => ({ t: 0 }),
  weights: (input, state) => [alignedMtlWeights(input.gram, input.resolution), { t: state.t + 1 }],
})
