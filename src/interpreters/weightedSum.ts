/**
 * WeightedSum — the paper's "mixed" baseline: minimise the scalarised loss
 * L = Σ_levels λ_l Σ_terms w·f, whose gradient is d = Σ_l λ_l Σ w·∇f.
 * For `prioritize(main, aux, { lambda })` this is d = ∇main + λ·∇aux (Hsieh et al. 2024, §5.1).
 */
import { Effect, Schema } from "effect"
import { linearCombination } from "../core/vector.ts"
import type { Interpreter, UpdateRule } from "./interpreter.ts"
import { levelGradient, lowerToLevels, objectiveNames } from "./levels.ts"
import { optionsDecoder } from "./options.ts"

/** WeightedSum takes no options. */
export const WeightedSumOptions = Schema.Struct({})
export type WeightedSumOptions = typeof WeightedSumOptions.Type

/** State: none beyond a step counter (kept so every rule's state has the same outline). */
export type WeightedSumState = { readonly t: number }

export const weightedSum: Interpreter<WeightedSumOptions> = {
  name: "weighted-sum",
  description: "Gradient of the weighted sum of all objectives (the 'mixed' baseline).",
  decodeOptions: optionsDecoder("weighted-sum", WeightedSumOptions),
  guarantees: { holds: ["linear-under-scaling", "weighted", "permutation-invariant", "scale-invariant"] },
  lower: (structure) =>
    Effect.map(lowerToLevels("weighted-sum", structure), (levels): UpdateRule<WeightedSumState> => ({
      name: "weighted-sum",
      objectives: objectiveNames(levels),
      init: () => ({ t: 0 }),
      step: (gradients, state) => [
        linearCombination(levels.map((level) => [level.lambda, levelGradient(level, gradients)] as const)),
        { t: state.t + 1 },
      ],
    })),
}
