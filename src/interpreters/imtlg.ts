/**
 * IMTL-G — the gradient half of impartial multi-task learning (Liu et al., "Towards Impartial
 * Multi-task Learning", ICLR 2021, §3.2).
 *
 * d = Σᵢ αᵢgᵢ with Σαᵢ = 1 such that d has the same projection on every unit task direction:
 * ⟨d, gᵢ/‖gᵢ‖⟩ = ⟨d, gⱼ/‖gⱼ‖⟩ for all i, j, so no task dominates the update. In Gram form
 * (Gα)ᵢ = c·‖gᵢ‖, i.e. α ∝ G⁻¹n with nᵢ = ‖gᵢ‖ = √Gᵢᵢ, normalised to Σα = 1; this is the paper's
 * closed form α₂..ₖ = g₁Uᵀ(DUᵀ)⁻¹ rewritten without the choice of a reference task.
 *
 * When the gradients are linearly dependent G is singular; we use the pseudo-inverse (the
 * least-squares choice, as TorchJD does) and the equal-projection property then holds only where
 * it is achievable. The common projection is c = 1/(1ᵀG⁻¹n); when 1ᵀG⁻¹n ≤ 0 (it happens, e.g. for
 * three gradients where two are nearly parallel), the combination with Σα = 1 would have c < 0 and
 * increase every loss: we then return d = 0, as TorchJD does, rather than the paper's closed form.
 */
import { Schema } from "effect"
import { pseudoInverseSolve, type SymmetricMatrix } from "../core/smallQp.ts"
import type { Tensor1D } from "../core/tf.ts"
import type { Interpreter } from "./interpreter.ts"
import { weightedDirection, weightingInterpreter } from "./weighting.ts"

export const ImtlgOptions = Schema.Struct({})
export type ImtlgOptions = typeof ImtlgOptions.Type

/**
 * IMTL-G's weights α = G⁺n / 1ᵀG⁺n. Eigenvalues of G below k·resolution (the spectral-norm bound
 * of G's float32 rounding, each entry erring by at most `resolution`) are rounding noise and are
 * treated as zero; the default suits exact (float64) Gram matrices.
 */
export const imtlgWeights = (gram: SymmetricMatrix, _options: unknown = {}, resolution = 1e-14): Float64Array => {
  const k = gram.size
  const norms = Float64Array.from({ length: k }, (_, i) => Math.sqrt(Math.max(gram.values[i * k + i]!, 0)))
  const v = pseudoInverseSolve(gram, norms, k * resolution)
  const total = v.reduce((a, b) => a + b, 0)
  return total > 0 ? v.map((x) => x / total) : new Float64Array(k)
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
