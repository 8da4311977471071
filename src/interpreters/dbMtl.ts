/**
 * DB-MTL — dual-balancing multi-task learning (Lin, Jiang, Ye, Zhang & Kwok, "Dual-Balancing for
 * Multi-Task Learning", arXiv 2308.12029, 2023, §3, Algorithm 1; LibMTL's `DB_MTL`).
 *
 * Loss-scale balancing: every task is trained on log Lᵢ, whose gradient is gᵢ/Lᵢ. Gradient-magnitude
 * balancing: an EMA ĝᵢ ← βₜĝᵢ + (1 − βₜ)·gᵢ/Lᵢ (βₜ = β/t^σ, ĝ starting at 0; defaults β = 0.9,
 * σ = 0.5) is rescaled to the largest norm among the tasks:
 *   d = Σᵢ (maxⱼ‖ĝⱼ‖/‖ĝᵢ‖)·ĝᵢ   (a zero ĝᵢ contributes nothing).
 * The EMAs live in the state (tensors, checkpointed with it).
 */
import { Effect, Schema } from "effect"
import { combine, normalisedGram } from "../core/gram.ts"
import { tf, type Tensor1D } from "../core/tf.ts"
import { linearCombination } from "../core/vector.ts"
import { guarantees } from "./guarantees.ts"
import type { Interpreter, UpdateRule } from "./interpreter.ts"
import { NonNegative, optionsDecoder } from "./options.ts"
import { lowerToTasks } from "./taskLowering.ts"
import { taskLosses } from "./taskRule.ts"

export const DbMtlOptions = Schema.Struct({
  beta: Schema.optionalWith(NonNegative, { default: () => 0.9 }),
  betaSigma: Schema.optionalWith(NonNegative, { default: () => 0.5 }),
})
export type DbMtlOptions = typeof DbMtlOptions.Type

/** State: the step counter and the EMAs of the log-loss gradients. */
export type DbMtlState = { readonly t: number; readonly buffers: ReadonlyArray<Tensor1D> }

export const dbMtl: Interpreter<DbMtlOptions> = {
  name: "db-mtl",
  description: "DB-MTL: log-loss gradients, averaged and rescaled to the largest norm among the tasks (Lin et al. 2023).",
  decodeOptions: optionsDecoder("db-mtl", DbMtlOptions),
  guarantees: guarantees({ holds: ["permutation-invariant", "scale-invariant"] }),
  lower: (structure, options) =>
    Effect.map(lowerToTasks("db-mtl", structure), ({ tasks, objectives }): UpdateRule<DbMtlState> => ({
      name: "db-mtl",
      objectives,
      init: (layout) => ({ t: 0, buffers: tasks.map(() => tf.zeros([layout.size]) as Tensor1D) }),
      step: (gradients, state, losses) => {
        const lossValues = taskLosses("db-mtl", tasks, losses)
        const t = state.t + 1
        const beta = Math.min(options.beta / t ** options.betaSigma, 1)
        const buffers = tf.tidy(() =>
          tasks.map((task, i) =>
            linearCombination([[beta, state.buffers[i]!], [((1 - beta) * task.weight) / (lossValues[i]! + 1e-8), gradients[task.objective]!]]),
          ),
        )
        const { gram, scale } = normalisedGram(buffers)
        const k = tasks.length
        const norms = Array.from({ length: k }, (_, i) => Math.sqrt(Math.max(gram.values[i * k + i]!, 0)))
        const largest = Math.max(...norms)
        const weights = norms.map((n) => (n > 0 && scale > 0 ? largest / n : 0))
        return [combine(buffers, weights), { t, buffers }]
      },
    })),
}
