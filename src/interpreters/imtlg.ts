/**
 * IMTL-G — the gradient half of impartial multi-task learning (Liu et al., "Towards Impartial
 * Multi-task Learning", ICLR 2021, §3.2).
 *
 * d = Σᵢ αᵢgᵢ with Σαᵢ = 1 such that d has the same projection on every unit task direction:
 * ⟨d, gᵢ/‖gᵢ‖⟩ = ⟨d, gⱼ/‖gⱼ‖⟩ for all i, j, so no task dominates the update. In Gram form
 * (Gα)ᵢ = c·‖gᵢ‖, i.e. α ∝ G⁻¹n with nᵢ = ‖gᵢ‖ = √Gᵢᵢ, normalised to Σα = 1; this is the paper's
 * closed form α₂..ₖ = g₁Uᵀ(DUᵀ)⁻¹ rewritten without the choice of a reference task.
 *
 * Solved on the correlation form G = S·C·S (S = diag‖gᵢ‖, `correlationForm`): G⁻¹n = S⁻¹C⁻¹1, so
 * α ∝ S⁻¹·C⁺1. C has a unit diagonal whatever the task norms and its entries err by at most the
 * Gram matrix's per-pair resolution ε, so eigenvalues of C at or below k·ε (the spectral-norm bound
 * of that error, Weyl) are indistinguishable from 0 and are dropped (pseudo-inverse, as TorchJD
 * uses): the equal-projection property then holds wherever it is achievable. This decision is
 * relative to what was computed — not to the largest task (which would silently ignore a task of
 * norm 10⁻⁴ beside one of norm 1 at n = 10⁶), nor to n.
 *
 * Sign (a decision; the paper assumes 1ᵀG⁻¹n > 0): the common projection is 1/(1ᵀG⁺n), and for
 * some sets (three gradients, two nearly parallel: about 0.7 % of random near-parallel triples)
 * 1ᵀG⁺n < 0. TorchJD divides by it anyway (Σα = 1, equal *negative* projections: −d would increase
 * every loss); an earlier scalpel returned d = 0. We divide by |1ᵀG⁺n|: Σα = ±1 and the common
 * projection is positive, i.e. d is the unique direction in the span of the gradients with equal
 * positive projections on every task, of the paper's magnitude. When 1ᵀG⁺n is within its own
 * rounding bound of 0 (the equal-projection direction has unbounded length), d = 0.
 */
import { Schema } from "effect"
import { correlationForm, symmetricEigen, symmetricFrom, type SymmetricMatrix } from "../core/smallQp.ts"
import type { Tensor1D } from "../core/tf.ts"
import type { Interpreter } from "./interpreter.ts"
import { weightedDirection, weightingInterpreter } from "./weighting.ts"

export const ImtlgOptions = Schema.Struct({})
export type ImtlgOptions = typeof ImtlgOptions.Type

/**
 * IMTL-G's weights α = G⁺n / |1ᵀG⁺n| (see the module comment), with `resolution` the Gram matrix's
 * per-pair rounding bound ε (`NormalisedGram`); the default suits an exact Gram matrix.
 */
export const imtlgWeights = (gram: SymmetricMatrix, _options: unknown = {}, resolution = 1e-15): Float64Array => {
  const k = gram.size
  const { norms, correlation } = correlationForm(gram)
  const live = Array.from({ length: k }, (_, i) => i).filter((i) => norms[i]! > 0)
  const out = new Float64Array(k)
  if (live.length === 0) return out
  const c = symmetricFrom(live.length, (a, b) => correlation.values[live[a]! * k + live[b]!]!)
  const { values, vectors } = symmetricEigen(c)
  const m = live.length
  // G's rounding (m·ε, Weyl) plus forming C and the Jacobi solve in float64 (≈ m²·2⁻⁵³·λ_max).
  const largest = values.reduce((a, b) => Math.max(a, Math.abs(b)), 0)
  const cutoff = m * resolution + 16 * m * m * 2 ** -53 * largest
  // x = C⁺1 over the eigenvalues above the cutoff; λ_min is the smallest kept one.
  const x = new Float64Array(m)
  let smallest = Infinity
  for (let e = 0; e < m; e++) {
    const lambda = values[e]!
    if (!(lambda > cutoff)) continue
    smallest = Math.min(smallest, lambda)
    let projection = 0
    for (let i = 0; i < m; i++) projection += vectors[i * m + e]!
    for (let i = 0; i < m; i++) x[i]! += (projection / lambda) * vectors[i * m + e]!
  }
  const v = x.map((xi, a) => xi / norms[live[a]!]!)
  const total = v.reduce((acc, vi) => acc + vi, 0)
  // C's error (‖E‖ ≤ m·ε) moves x by at most (m·ε/λ_min)·‖x‖ (first order), hence the total by
  // that times ‖S⁻¹1‖; within it the sign and size of the total are not determined.
  const xNorm = Math.sqrt(x.reduce((acc, xi) => acc + xi * xi, 0))
  const inverseNorms = Math.sqrt(live.reduce((acc, i) => acc + norms[i]! ** -2, 0))
  // Plus the rounding of the projections ⟨1, vₑ⟩ themselves (m terms, |⟨1, vₑ⟩| ≤ √m), which is all of
  // x when 1 is (nearly) orthogonal to the kept eigenvectors (e.g. g and −g twice: d undetermined).
  const projectionRounding = (4 * m * Math.sqrt(m) * 2 ** -53) / smallest
  const totalError =
    ((cutoff / smallest) * xNorm + projectionRounding) * inverseNorms + 4 * m * 2 ** -53 * v.reduce((acc, vi) => acc + Math.abs(vi), 0)
  if (!(Math.abs(total) > totalError)) return out
  live.forEach((i, a) => (out[i] = v[a]! / Math.abs(total)))
  return out
}

/** IMTL-G's direction for task gradients `tasks`. */
export const imtlgDirection = (tasks: ReadonlyArray<Tensor1D>): Tensor1D => weightedDirection(tasks, imtlgWeights, {})

export const imtlg: Interpreter<ImtlgOptions> = weightingInterpreter({
  name: "imtl-g",
  description: "IMTL-G: the combination of task gradients with equal projections on every task direction (Liu et al. 2021).",
  options: ImtlgOptions,
  weighting: imtlgWeights,
  guarantees: { holds: ["weighted", "permutation-invariant", "scale-invariant"] },
})
