/**
 * The shape shared by Gram-based multi-objective rules (MGDA, CAGrad, IMTL-G, UPGrad): the k task
 * gradients J (rows) meet only through G = J·Jᵀ, a k×k problem on G gives weights α, and the
 * direction is d = Jᵀα. The device computes G (one read of k² numbers) and d; the weights are
 * solved in float64 on the host (`core/smallQp.ts`).
 */
import { Effect, type Schema } from "effect"
import { combine, normalisedGram, zeroWeightsOfZeroVectors } from "../core/gram.ts"
import type { SymmetricMatrix } from "../core/smallQp.ts"
import { tf, type Tensor1D } from "../core/tf.ts"
import type { Guarantees } from "./guarantees.ts"
import type { Interpreter, UpdateRule } from "./interpreter.ts"
import { lowerToLevels, objectiveNames, taskGradients, tasksOf } from "./levels.ts"
import { optionsDecoder } from "./options.ts"

/**
 * Weights α from the Gram matrix (normalised to a largest diagonal entry of 1) and the rounding
 * error of its entries (`resolution`, see `NormalisedGram`).
 */
export type GramWeighting<O> = (gram: SymmetricMatrix, options: O, resolution: number) => Float64Array

/** State of a weighting rule: a step counter only (the rules are memoryless). */
export type WeightingState = { readonly t: number }

/**
 * d = Jᵀα(G) for task gradients `tasks`. All-zero gradients give the zero vector without solving
 * anything (every weighting is undefined there, and any d is as good).
 */
export const weightedDirection = <O>(tasks: ReadonlyArray<Tensor1D>, weighting: GramWeighting<O>, options: O): Tensor1D =>
  tf.tidy(() => {
    const { gram, scale, resolution } = normalisedGram(tasks)
    if (scale === 0) return tf.zerosLike(tasks[0]!) as Tensor1D
    return combine(tasks, zeroWeightsOfZeroVectors(gram, weighting(gram, options, resolution)))
  })

/** An interpreter that lowers any structure's tasks (see `tasksOf`) through `weighting`. */
export const weightingInterpreter = <O, I>(spec: {
  readonly name: string
  readonly description: string
  readonly options: Schema.Schema<O, I, never>
  readonly weighting: GramWeighting<O>
  readonly guarantees?: Guarantees
}): Interpreter<O> => ({
  name: spec.name,
  description: spec.description,
  ...(spec.guarantees === undefined ? {} : { guarantees: spec.guarantees }),
  decodeOptions: optionsDecoder(spec.name, spec.options),
  lower: (structure, options) =>
    Effect.map(lowerToLevels(spec.name, structure), (levels): UpdateRule<WeightingState> => {
      const tasks = tasksOf(levels)
      return {
        name: spec.name,
        objectives: objectiveNames(levels),
        init: () => ({ t: 0 }),
        step: (gradients, state) => [
          tf.tidy(() => weightedDirection(taskGradients(tasks, gradients), spec.weighting, options)),
          { t: state.t + 1 },
        ],
      }
    }),
})
