/**
 * UPGrad — unconflicting projection of gradients (Quinton & Rey, "Jacobian Descent for
 * Multi-Objective Optimization", arXiv 2406.16232v3, 2025, §2.3; the aggregator of the TorchJD
 * library). Checked against the paper's §2.3 and TorchJD's dual-cone projection: the same maths.
 *
 * Each task gradient gᵢ is projected onto the dual cone C = {v : ⟨v, gⱼ⟩ ≥ 0 ∀j} of the gradients
 * (the projection π_J of the paper's Eq. 3), and the projections are averaged:
 * d = (1/k)·Σᵢ π_C(gᵢ) (Eq. 4). The projection of Jᵀu onto C is Jᵀw with
 * w ∈ argmin { vᵀGv : v ≥ u } (Proposition 1, Eq. 5), so d = Jᵀ·(1/k)Σᵢ wᵢ with wᵢ the solution for
 * u = eᵢ (Eq. 6). We solve each box-constrained QP on the Gram matrix exactly with an active-set
 * method (`nonNegativeQuadratic`, after v = u + x, x ≥ 0) rather than with a generic QP solver on a
 * regularised G, as TorchJD does.
 *
 * Guarantees (paper, §2.3, the remarks after Eq. 4; Table 1): d is non-conflicting (⟨d, gⱼ⟩ ≥ 0
 * for every j, since C is a convex cone holding every π_C(gᵢ)); when no pair of gradients
 * conflicts, every gᵢ already lies in C and d is their mean; and d is linear under scaling:
 * d(c₁g₁, .., c_kg_k) = (1/k)·Σ cᵢ·π_C(gᵢ) for cᵢ > 0, because π_C(a·x) = a·π_C(x) for a > 0 and
 * C does not change when its generators are scaled. (The paper's Theorem 1 is a different result:
 * convergence of Jacobian descent with UPGrad to the Pareto front for smooth convex objectives.)
 */
import { Schema } from "effect"
import { matVec, nonNegativeQuadratic, type SymmetricMatrix } from "../core/smallQp.ts"
import type { Tensor1D } from "../core/tf.ts"
import type { Interpreter } from "./interpreter.ts"
import { weightedDirection, weightingInterpreter } from "./weighting.ts"

export const UpgradOptions = Schema.Struct({})
export type UpgradOptions = typeof UpgradOptions.Type

/**
 * w with π_C(Jᵀu) = Jᵀw: argmin_{v ≥ u} vᵀGv (Quinton & Rey, Proposition 1, Eq. 5). With x = v − u ≥ 0 the objective is
 * xᵀGx + 2(Gu)ᵀx + const, i.e. ½xᵀHx − fᵀx with H = G, f = −Gu.
 */
export const dualConeWeights = (gram: SymmetricMatrix, u: ArrayLike<number>): Float64Array => {
  const gu = matVec(gram, u)
  const x = nonNegativeQuadratic(gram, gu.map((v) => -v))
  return x.map((xi, i) => xi + u[i]!)
}

/** UPGrad's weights: the mean over i of the dual-cone weights of eᵢ (Quinton & Rey, Eq. 6). */
export const upgradWeights = (gram: SymmetricMatrix): Float64Array => {
  const k = gram.size
  const total = new Float64Array(k)
  for (let i = 0; i < k; i++) {
    const unit = new Float64Array(k)
    unit[i] = 1
    dualConeWeights(gram, unit).forEach((w, j) => (total[j]! += w / k))
  }
  return total
}

/** UPGrad's direction for task gradients `tasks`. */
export const upgradDirection = (tasks: ReadonlyArray<Tensor1D>): Tensor1D => weightedDirection(tasks, upgradWeights, {})

export const upgrad: Interpreter<UpgradOptions> = weightingInterpreter({
  name: "upgrad",
  description: "UPGrad: average of the task gradients projected onto their dual cone; never conflicts with any task (Quinton & Rey 2024).",
  options: UpgradOptions,
  weighting: upgradWeights,
  guarantees: { holds: ["non-conflicting", "linear-under-scaling", "weighted", "permutation-invariant", "scale-invariant"] },
})
