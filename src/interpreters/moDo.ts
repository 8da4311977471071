/**
 * MoDo — multi-objective gradient with double sampling (Chen, Fernando, Ying & Chen, "Three-Way
 * Trade-Off in Multi-Objective Learning: Optimization, Generalization and Conflict-Avoidance",
 * NeurIPS 2023, Algorithm 1; LibMTL's `MoDo`).
 *
 * Keeps weights λ ∈ Δ in the state and moves them by one projected gradient step on ½‖Jᵀλ‖²
 * (with a ridge ρ) per training step, then descends along Jᵀλ:
 *   λ ← Π_Δ(λ − γ·(G + ρI)·λ),   d = Jᵀλ,   λ₀ = 1/k.
 * The paper estimates Gλ from two independent mini-batches (J₁J₂ᵀλ, unbiased); a rule here sees
 * one mini-batch, so it uses G = JJᵀ of that batch. G is the raw Gram matrix (the step γ acts on
 * the gradients' actual size, as in the paper), so d is not scale-invariant.
 */
import { Schema } from "effect"
import { guarantees } from "./guarantees.ts"
import { NonNegative } from "./options.ts"
import { projectOntoSimplex, taskRuleInterpreter } from "./taskRule.ts"

export const MoDoOptions = Schema.Struct({
  /** γ, the weights' step size; default 0.001 (LibMTL's default). */
  gamma: Schema.optionalWith(NonNegative, { default: () => 0.001 }),
  /** ρ, the ridge added to G; default 0.1 (LibMTL's default). */
  rho: Schema.optionalWith(NonNegative, { default: () => 0.1 }),
})
export type MoDoOptions = typeof MoDoOptions.Type

/** State: the step counter and the simplex weights λ. */
export type MoDoState = { readonly t: number; readonly lambda: ReadonlyArray<number> }

export const moDo = taskRuleInterpreter({
  name: "modo",
  description: "MoDo: simplex weights moved by projected gradient steps on ½‖Jᵀλ‖², d = Jᵀλ (Chen et al. 2023).",
  options: MoDoOptions,
  guarantees: guarantees({ holds: ["weighted", "permutation-invariant"], reductions: [{ options: { gamma: 0 }, to: "mean" }] }),
  init: (k): MoDoState => ({ t: 0, lambda: new Array<number>(k).fill(1 / k) }),
  weights: (input, state: MoDoState, options) => {
    const k = input.gram.size
    const next = projectOntoSimplex(
      state.lambda.map((l, i) => {
        let gl = 0
        for (let j = 0; j < k; j++) gl += input.scale * input.gram.values[i * k + j]! * state.lambda[j]!
        return l - options.gamma * (gl + options.rho * l)
      }),
    )
    return [next, { t: state.t + 1, lambda: Array.from(next) }]
  },
})
