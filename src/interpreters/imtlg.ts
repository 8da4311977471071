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

/** The float64 unit roundoff. */
const u = 2 ** -53

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
  const m = live.length
  const c = symmetricFrom(m, (a, b) => correlation.values[live[a]! * k + live[b]!]!)
  const w = live.map((i) => 1 / norms[i]!) // S⁻¹1
  const { values, vectors } = symmetricEigen(c)
  // ‖E‖ for the C the rule solves on: C̃ − S̃⁻¹GS̃⁻¹ (S̃ from G̃'s diagonal) has entries within
  // ε + 4u, i.e. ‖·‖ ≤ m(ε + 4u) (Weyl), plus the Jacobi decomposition's backward error
  // (≈ m²·u·λ_max). Eigenvalues at or below it are indistinguishable from 0 and dropped.
  const largest = values.reduce((a, b) => Math.max(a, Math.abs(b)), 0)
  const cutoff = m * (resolution + 4 * u) + 16 * m * m * u * largest
  // x = C⁺1 and y = C⁺w over the kept eigenpairs; total = wᵀx = 1ᵀG⁺n·(scale).
  const x = new Float64Array(m)
  const y = new Float64Array(m)
  let smallest = Infinity
  let rounding = 0 // Σₑ (Σᵢ wᵢ|vₑᵢ|)/λₑ: what the rounding of ⟨1, vₑ⟩ and of x's sums is multiplied by
  for (let e = 0; e < m; e++) {
    const lambda = values[e]!
    if (!(lambda > cutoff)) continue
    smallest = Math.min(smallest, lambda)
    let onOnes = 0
    let onW = 0
    let wAbs = 0
    for (let i = 0; i < m; i++) {
      const vie = vectors[i * m + e]!
      onOnes += vie
      onW += w[i]! * vie
      wAbs += w[i]! * Math.abs(vie)
    }
    for (let i = 0; i < m; i++) {
      x[i]! += (onOnes / lambda) * vectors[i * m + e]!
      y[i]! += (onW / lambda) * vectors[i * m + e]!
    }
    rounding += wAbs / lambda
  }
  const v = x.map((xi, a) => xi * w[a]!)
  const total = v.reduce((acc, vi) => acc + vi, 0)
  // Rounding bound of the total. C's error E moves x to x̃ with C(x̃ − x) = −Ex̃, hence the total by
  // wᵀ(x̃ − x) = −yᵀEx̃ with y = C⁻¹w = (I − C̃⁻¹E)⁻¹ỹ: |Δ| ≤ ‖E‖‖x̃‖‖ỹ‖/(1 − ‖E‖/λ_min) — exact to
  // all orders, and far below the earlier ‖E‖‖x‖‖w‖/λ_min when the small tasks (large wᵢ) lie
  // away from C's near-null directions (a near-opposite pair of norms 1e10 and 1 beside a task of
  // norm 1e-10 has ‖ỹ‖ 10⁵ below ‖w‖/λ_min: that bound returned d = 0 on a well-determined set).
  // Plus the rounding of ⟨1, vₑ⟩ and of x's sums (2m√m·u per eigen-coordinate, which is all of
  // x when 1 is (nearly) orthogonal to the kept eigenvectors: g and −g twice, d undetermined), and
  // of the total's own sum.
  const norm = (z: Float64Array) => Math.sqrt(z.reduce((acc, zi) => acc + zi * zi, 0))
  const perturbation = smallest > cutoff ? (cutoff * norm(x) * norm(y)) / (1 - cutoff / smallest) : Infinity
  const totalError = perturbation + 2 * m * Math.sqrt(m) * u * rounding + 4 * m * u * v.reduce((acc, vi) => acc + Math.abs(vi), 0)
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
