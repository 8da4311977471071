// A user's own update rule, registered with the installed CLI by `--interpreters ./capped-sum.mjs`:
// the weighted sum g_main + λ·g_aux with the auxiliary term capped at `cap`·‖g_main‖.
import { Effect, Schema } from "effect"
import { levelGradient, lowerToLevels, objectiveNames, optionsDecoder, tf } from "scalpel"

const CappedOptions = Schema.Struct({ cap: Schema.optionalWith(Schema.Number, { default: () => 1 }) })

export const interpreters = [
  {
    name: "capped-sum",
    description: "Weighted sum whose auxiliary term is at most `cap` times the main gradient's norm.",
    decodeOptions: optionsDecoder("capped-sum", CappedOptions),
    lower: (structure, options) =>
      Effect.map(lowerToLevels("capped-sum", structure), (levels) => ({
        name: "capped-sum",
        objectives: objectiveNames(levels),
        init: () => ({ t: 0 }),
        step: (gradients, state) => {
          const main = levelGradient(levels[0], gradients)
          if (levels.length === 1) return [main, { t: state.t + 1 }]
          const aux = tf.mul(levelGradient(levels[1], gradients), levels[1].lambda)
          const scale = tf.minimum(1, tf.div(tf.mul(tf.norm(main), options.cap), tf.add(tf.norm(aux), 1e-30)))
          return [tf.add(main, tf.mul(aux, scale)), { t: state.t + 1 }]
        },
      })),
  },
]
