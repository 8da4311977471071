/**
 * MGDA — the multiple-gradient descent algorithm (Désidéri, "Multiple-gradient descent algorithm
 * (MGDA) for multiobjective optimization", C. R. Math. 350, 2012; as a multi-task learning rule:
 * Sener & Koltun, "Multi-Task Learning as Multi-Objective Optimization", NeurIPS 2018, Eq. 3).
 *
 * d = argmin { ‖v‖ : v ∈ conv{g₁..g_k} }, the minimum-norm point of the convex hull of the task
 * gradients. Its optimality conditions give the guarantee: ⟨d, gᵢ⟩ ≥ ‖d‖² for every task i, so a
 * step along −d decreases every loss to first order, and d = 0 exactly when some convex combination
 * of the gradients vanishes (Pareto stationarity).
 *
 * Weights: closed form for k = 2 (Sener & Koltun, Algorithm 1), otherwise an exact active-set
 * solve on the Gram matrix (`minNormInHull`, Lawson–Hanson), rather than the paper's Frank–Wolfe,
 * which only converges sublinearly and would leave ⟨d, gᵢ⟩ ≥ ‖d‖² violated by its duality gap.
 */
import { Schema } from "effect"
import { minNormInHull, type SymmetricMatrix } from "../core/smallQp.ts"
import type { Tensor1D } from "../core/tf.ts"
import type { Interpreter } from "./interpreter.ts"
import { weightedDirection, weightingInterpreter } from "./weighting.ts"

export const MgdaOptions = Schema.Struct({})
export type MgdaOptions = typeof MgdaOptions.Type

/** MGDA's convex weights α from the (normalised) Gram matrix. */
export const mgdaWeights = (gram: SymmetricMatrix): Float64Array => minNormInHull(gram)

/** MGDA's direction for task gradients `tasks`. */
export const mgdaDirection = (tasks: ReadonlyArray<Tensor1D>): Tensor1D => weightedDirection(tasks, mgdaWeights, {})

export const mgda: Interpreter<MgdaOptions> = weightingInterpreter({
  name: "mgda",
  description: "MGDA: the minimum-norm point of the convex hull of the task gradients (Désidéri 2012; Sener & Koltun 2018).",
  options: MgdaOptions,
  weighting: mgdaWeights,
  guarantees: { holds: ["non-conflicting", "weighted", "permutation-invariant", "scale-invariant"] },
})
