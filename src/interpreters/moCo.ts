/**
 * MoCo — multi-objective gradient correction (Fernando, Shen, Liu, Chaudhury, Murugesan & Chen,
 * "Mitigating Gradient Bias in Multi-objective Learning: A Provably Convergent Approach", ICLR
 * 2023, Algorithm 1; LibMTL's `MoCo`).
 *
 * Tracking variables yᵢ (one per task, in the state, starting at 0) follow the task gradients, and
 * simplex weights λ follow MGDA's objective on them:
 *   yᵢ ← yᵢ − βₜ(yᵢ − gᵢ),   λ ← Π_Δ(λ − γₜ(YYᵀ + ρI)λ),   d = Yᵀλ,
 * with βₜ = β/t^σ_β and γₜ = γ/t^σ_γ (LibMTL's decays; defaults β = 0.5, γ = 0.1, σ = 0.5, ρ = 0).
 * The tracking removes the bias of stochastic MGDA. (LibMTL additionally rescales each gradient to
 * the task's loss and replaces Π_Δ with a softmax; this follows the paper.) d is a combination of
 * the tracked gradients, not of the current ones.
 */
import { Effect, Schema } from "effect"
import { combine, normalisedGram } from "../core/gram.ts"
import { tf, type Tensor1D } from "../core/tf.ts"
import { linearCombination } from "../core/vector.ts"
import { guarantees } from "./guarantees.ts"
import type { Interpreter, UpdateRule } from "./interpreter.ts"
import { taskGradients } from "./levels.ts"
import { NonNegative, optionsDecoder } from "./options.ts"
import { lowerToTasks } from "./taskLowering.ts"
import { projectOntoSimplex } from "./taskRule.ts"

export const MoCoOptions = Schema.Struct({
  beta: Schema.optionalWith(NonNegative, { default: () => 0.5 }),
  betaSigma: Schema.optionalWith(NonNegative, { default: () => 0.5 }),
  gamma: Schema.optionalWith(NonNegative, { default: () => 0.1 }),
  gammaSigma: Schema.optionalWith(NonNegative, { default: () => 0.5 }),
  rho: Schema.optionalWith(NonNegative, { default: () => 0 }),
})
export type MoCoOptions = typeof MoCoOptions.Type

/** State: the step counter, the tracked gradients y and the weights λ. */
export type MoCoState = { readonly t: number; readonly tracked: ReadonlyArray<Tensor1D>; readonly lambda: ReadonlyArray<number> }

export const moCo: Interpreter<MoCoOptions> = {
  name: "moco",
  description: "MoCo: MGDA on tracked (averaged) task gradients with weights moved by projected gradient steps (Fernando et al. 2023).",
  decodeOptions: optionsDecoder("moco", MoCoOptions),
  guarantees: guarantees({ holds: ["permutation-invariant"] }),
  lower: (structure, options) =>
    Effect.map(lowerToTasks("moco", structure), ({ tasks, objectives }): UpdateRule<MoCoState> => ({
      name: "moco",
      objectives,
      init: (layout) => ({ t: 0, tracked: tasks.map(() => tf.zeros([layout.size]) as Tensor1D), lambda: tasks.map(() => 1 / tasks.length) }),
      step: (gradients, state) => {
        const t = state.t + 1
        const beta = Math.min(options.beta / t ** options.betaSigma, 1)
        const gamma = options.gamma / t ** options.gammaSigma
        const tracked = tf.tidy(() =>
          taskGradients(tasks, gradients).map((g, i) => linearCombination([[1 - beta, state.tracked[i]!], [beta, g]])),
        )
        const { gram, scale } = normalisedGram(tracked)
        const k = tasks.length
        const lambda = projectOntoSimplex(
          state.lambda.map((l, i) => {
            let gl = 0
            for (let j = 0; j < k; j++) gl += scale * gram.values[i * k + j]! * state.lambda[j]!
            return l - gamma * (gl + options.rho * l)
          }),
        )
        return [combine(tracked, lambda), { t, tracked, lambda: Array.from(lambda) }]
      },
    })),
}
