/**
 * DualProj — the mean gradient projected onto the dual cone of the task gradients
 * (Lopez-Paz & Ranzato, "Gradient Episodic Memory for Continual Learning", NeurIPS 2017, Eq. 11;
 * TorchJD's `DualProj`).
 *
 * d = π_C(ḡ), ḡ = (1/k)Σgᵢ, C = {v : ⟨v, gⱼ⟩ ≥ 0 ∀j}: the vector closest to the mean that conflicts
 * with no task. As in UPGrad, π_C(Jᵀu) = Jᵀw with w = argmin_{v ≥ u} vᵀGv (Quinton & Rey 2024,
 * Proposition 1), here for u = 1/k, solved exactly by the active-set method.
 */
import { Schema } from "effect"
import { guarantees } from "./guarantees.ts"
import { taskRuleInterpreter } from "./taskRule.ts"
import { dualConeWeights } from "./upgrad.ts"

export const DualProjOptions = Schema.Struct({})
export type DualProjOptions = typeof DualProjOptions.Type

export const dualProj = taskRuleInterpreter({
  name: "dualproj",
  description: "DualProj: the mean gradient projected onto the dual cone of the task gradients (Lopez-Paz & Ranzato 2017).",
  options: DualProjOptions,
  guarantees: guarantees({ holds: ["non-conflicting", "weighted", "permutation-invariant", "scale-invariant"] }),
  init: () => ({ t: 0 }),
  weights: (input, state) => [dualConeWeights(input.gram, new Float64Array(input.gram.size).fill(1 / input.gram.size)), { t: state.t + 1 }],
})
