/**
 * GradDrop — gradient sign dropout (Chen, Ngiam, Huang, Luong, Kretzschmar, Chai & Anguelov, "Just
 * Pick a Sign: Optimizing Deep Multitask Models with Gradient Sign Dropout", NeurIPS 2020,
 * Algorithm 1; TorchJD's `GradDrop`).
 *
 * Per coordinate, the sign purity P = ½(1 + Σᵢgᵢ / Σᵢ|gᵢ|) ∈ [0, 1] is compared with a uniform draw
 * U: if P > U only the positive components survive, otherwise only the negative ones:
 *   d = Σᵢ gᵢ·([P > U]·[gᵢ > 0] + [P ≤ U]·[gᵢ < 0]),
 * so coordinates where the tasks agree keep their sign and conflicting ones are resolved at
 * random, in proportion to each sign's mass. `leak` ∈ [0, 1] mixes in the plain sum:
 * d ← leak·Σgᵢ + (1 − leak)·d. The paper applies this to the gradients of an activation layer;
 * here it acts on the parameter gradients, as TorchJD's aggregator does. The uniform draws come
 * from a seed in the rule's state (reproducible and resumable).
 */
import { Effect, Schema } from "effect"
import { nextInt, seedState } from "../core/random.ts"
import { tf, type Tensor1D } from "../core/tf.ts"
import { guarantees } from "./guarantees.ts"
import type { Interpreter, UpdateRule } from "./interpreter.ts"
import { taskGradients } from "./levels.ts"
import { optionsDecoder } from "./options.ts"
import { lowerToTasks } from "./taskLowering.ts"

export const GradDropOptions = Schema.Struct({
  /** leak ∈ [0, 1], the share of the plain sum kept; default 0 (the paper's GradDrop). */
  leak: Schema.optionalWith(Schema.Number.pipe(Schema.filter((x) => (x >= 0 && x <= 1) || `expected a number in [0, 1], got ${x}`)), { default: () => 0 }),
})
export type GradDropOptions = typeof GradDropOptions.Type

/** State: the step counter and the random generator. */
export type GradDropState = { readonly t: number; readonly rng: number }

/** GradDrop's direction for task gradients `tasks` with the uniform draws seeded by `seed`. */
export const gradDropDirection = (tasks: ReadonlyArray<Tensor1D>, seed: number, leak: number): Tensor1D =>
  tf.tidy(() => {
    const stacked = tf.stack(tasks as Array<Tensor1D>) as tf.Tensor2D
    const sum = tf.sum(stacked, 0)
    const mass = tf.sum(tf.abs(stacked), 0)
    const purity = tf.mul(0.5, tf.add(1, tf.div(sum, tf.where(tf.greater(mass, 0), mass, tf.onesLike(mass)))))
    const draws = tf.randomUniform([stacked.shape[1]], 0, 1, "float32", seed)
    const positive = tf.sum(tf.relu(stacked), 0)
    const negative = tf.neg(tf.sum(tf.relu(tf.neg(stacked)), 0))
    const dropped = tf.where(tf.greater(purity, draws), positive, negative)
    return (leak === 0 ? dropped : tf.add(tf.mul(leak, sum), tf.mul(1 - leak, dropped))) as Tensor1D
  })

export const gradDrop: Interpreter<GradDropOptions> = {
  name: "graddrop",
  description: "GradDrop: per coordinate keep only the positive or only the negative task components, chosen at random by sign purity (Chen et al. 2020).",
  decodeOptions: optionsDecoder("graddrop", GradDropOptions),
  guarantees: guarantees({ holds: ["permutation-invariant", "scale-invariant"] }),
  lower: (structure, options, context) =>
    Effect.map(lowerToTasks("graddrop", structure), ({ tasks, objectives }): UpdateRule<GradDropState> => ({
      name: "graddrop",
      objectives,
      init: () => ({ t: 0, rng: seedState(context.seed) }),
      step: (gradients, state) => {
        const [seed, rng] = nextInt(state.rng, 2 ** 31)
        return [tf.tidy(() => gradDropDirection(taskGradients(tasks, gradients), seed, options.leak)), { t: state.t + 1, rng }]
      },
    })),
}
