/**
 * FairGrad — α-fair resource allocation among tasks (Ban & Ji, "Fair Resource Allocation in
 * Multi-Task Learning", ICML 2024, arXiv 2402.15638, §4; TorchJD's `FairGrad`).
 *
 * The update d = Jᵀw maximises the α-fair utility Σᵢ uᵢ^(1−α)/(1−α) of the tasks' gains
 * uᵢ = ⟨gᵢ, d⟩ (Σ log uᵢ for α = 1); its optimality condition is (Gw)ᵢ = wᵢ^(−1/α), w > 0. Every
 * gain is then wᵢ^(−1/α) > 0 (non-conflicting). α = 1 is proportional fairness (Nash-MTL's
 * condition and direction), α → ∞ approaches max-min fairness (MGDA-like).
 * With G = s·G' (G' normalised) the solution is w = s^(−α/(α+1))·v, G'v = v^(−1/α), so d grows
 * like ‖J‖^((1−α)/(1+α)) and is not scale-invariant unless α = 1 (then d does not depend on ‖J‖).
 * Solved to convergence by Newton's method (`core/utilitySolve.ts`; the authors use a generic
 * least-squares solver); zero-gradient tasks get weight 0 and a Pareto-stationary set gives d = 0.
 */
import { Schema } from "effect"
import { guarantees } from "./guarantees.ts"
import { utilityWeightsOnLiveTasks } from "./nashMtl.ts"
import { taskRuleInterpreter } from "./taskRule.ts"

export const FairGradOptions = Schema.Struct({
  /** α > 0, the fairness exponent; default 1 (proportional fairness, as LibMTL's default). */
  alpha: Schema.optionalWith(Schema.Number.pipe(Schema.filter((x) => (Number.isFinite(x) && x > 0) || `expected a positive number, got ${x}`)), { default: () => 1 }),
})
export type FairGradOptions = typeof FairGradOptions.Type

export const fairGrad = taskRuleInterpreter({
  name: "fairgrad",
  description: "FairGrad: maximise the α-fair utility of the tasks' first-order gains, (Gw)ᵢ = wᵢ^(−1/α) (Ban & Ji 2024).",
  options: FairGradOptions,
  // At α = 1 the condition is Nash-MTL's on the raw G, and so are the weights (w = v/√scale).
  guarantees: guarantees({ holds: ["non-conflicting", "weighted", "permutation-invariant"], reductions: [{ options: { alpha: 1 }, to: "nash-mtl" }] }),
  init: () => ({ t: 0 }),
  weights: (input, state, options) => {
    const v = utilityWeightsOnLiveTasks(input.gram, options.alpha, input.resolution)
    const c = input.scale ** (-options.alpha / (options.alpha + 1))
    return [v === undefined ? new Float64Array(input.gram.size) : v.map((x) => c * x), { t: state.t + 1 }]
  },
})
