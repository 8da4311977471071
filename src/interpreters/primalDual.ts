/**
 * Primal–dual gradient method for constraints (Arrow, Hurwicz & Uzawa, "Studies in Linear and
 * Non-linear Programming", 1958; the "Lagrangian" approach to constrained learning, e.g. Cotter
 * et al., JMLR 2019, and Chamon & Ribeiro, NeurIPS 2020).
 *
 * For min f s.t. qⱼ ≤ εⱼ, the Lagrangian is L(θ, ν) = f + Σⱼ νⱼ(qⱼ − εⱼ) with ν ≥ 0. Each step
 * descends L in θ and ascends it in ν:
 *   d = ∇f + Σⱼ νⱼ∇qⱼ                       (the optimizer moves θ along −d)
 *   νⱼ ← max(0, νⱼ + η_ν·(qⱼ(θ) − εⱼ))      (projected dual ascent, after d is formed)
 * The multipliers live in the rule's state (plain numbers, so checkpoints hold them). The step
 * needs each constraint's current value qⱼ, which it reads from the `losses` argument.
 * At a fixed point, ν ≥ 0, qⱼ ≤ εⱼ with νⱼ(qⱼ − εⱼ) = 0 and ∇f + Σνⱼ∇qⱼ = 0: the KKT conditions.
 * For a convex problem with a strictly feasible point, that is the constrained optimum.
 */
import { Effect, Schema } from "effect"
import { tf } from "../core/tf.ts"
import { linearCombination } from "../core/vector.ts"
import { constrainedFormOf, constrainedObjectives, gradientOf, levelLoss } from "./constraints.ts"
import type { Interpreter, UpdateRule } from "./interpreter.ts"
import { NonNegative, optionsDecoder } from "./options.ts"

export const PrimalDualOptions = Schema.Struct({
  /** η_ν, the dual ascent step; default 0.1. */
  dualStepSize: Schema.optionalWith(NonNegative, { default: () => 0.1 }),
  /** ν at the start, for every constraint; default 0. */
  initialMultiplier: Schema.optionalWith(NonNegative, { default: () => 0 }),
})
export type PrimalDualOptions = typeof PrimalDualOptions.Type

/** State: the step counter and one Lagrange multiplier per constraint. */
export type PrimalDualState = { readonly t: number; readonly multipliers: ReadonlyArray<number> }

export const primalDual: Interpreter<PrimalDualOptions> = {
  name: "primal-dual",
  description: "Primal–dual: gradient descent on the Lagrangian, projected dual ascent on one multiplier per constraint.",
  decodeOptions: optionsDecoder("primal-dual", PrimalDualOptions),
  // Stated for `sum(f, constrain(q, …))` with ν₀ = 1, so that the constraint term is present from the first step.
  guarantees: { holds: ["linear-under-scaling", "weighted", "scale-invariant"], subject: { form: "constraint", options: { initialMultiplier: 1 } } },
  lower: (structure, options) =>
    Effect.map(constrainedFormOf("primal-dual", structure), (form): UpdateRule<PrimalDualState> => ({
      name: "primal-dual",
      objectives: constrainedObjectives(form),
      init: () => ({ t: 0, multipliers: form.constraints.map(() => options.initialMultiplier) }),
      step: (gradients, state, losses) => {
        const violations = form.constraints.map((c) => levelLoss("primal-dual", c.level, losses) - c.atMost)
        const direction = tf.tidy(() =>
          linearCombination([
            [1, gradientOf(form.objective, gradients)],
            ...form.constraints.map((c, j) => [state.multipliers[j]!, gradientOf(c.level, gradients)] as const),
          ]),
        )
        const multipliers = state.multipliers.map((nu, j) => Math.max(0, nu + options.dualStepSize * violations[j]!))
        return [direction, { t: state.t + 1, multipliers }]
      },
    })),
}
