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
 * from a seed in the rule's state (reproducible and resumable), the same on every backend.
 */
import { Effect, Schema } from "effect"
import { hostKernel } from "../core/hostKernels.ts"
import { fillUniform, nextInt, seedState, uniformAt } from "../core/random.ts"
import { tf, type Tensor1D } from "../core/tf.ts"
import { guarantees } from "./guarantees.ts"
import type { Interpreter, UpdateRule } from "./interpreter.ts"
import { optionsDecoder } from "./options.ts"
import { lowerToTasks } from "./taskLowering.ts"

export const GradDropOptions = Schema.Struct({
  /** leak ∈ [0, 1], the share of the plain sum kept; default 0 (the paper's GradDrop). */
  leak: Schema.optionalWith(Schema.Number.pipe(Schema.filter((x) => (x >= 0 && x <= 1) || `expected a number in [0, 1], got ${x}`)), { default: () => 0 }),
})
export type GradDropOptions = typeof GradDropOptions.Type

/** State: the step counter and the random generator. */
export type GradDropState = { readonly t: number; readonly rng: number }

/** Coordinates per block of the host pass (its float64 sums stay in cache). */
const block = 4096

/**
 * GradDrop's direction for the task gradients wᵢ·hᵢ (raw gradients h, task weights w), the uniform
 * draws being the mulberry32 sequence from `drawState` (draw c for coordinate c). On the host
 * backends one pass per task accumulates each coordinate's positive and negative mass in float64,
 * a block of coordinates at a time, and a last pass picks the sign; elsewhere tensor operations on
 * the same draws (made on the host and uploaded) compute it in float32.
 */
export const gradDropDirection = (raw: ReadonlyArray<Tensor1D>, weights: ReadonlyArray<number>, drawState: number, leak: number): Tensor1D => {
  const onHost = hostKernel(raw, 1, (views, [out]) => {
    const n = out!.length
    const positive = new Float64Array(block)
    const negative = new Float64Array(block)
    for (let start = 0; start < n; start += block) {
      const size = Math.min(block, n - start)
      positive.fill(0)
      negative.fill(0)
      // x + |x| is 2x or 0 and x − |x| is 0 or 2x, exactly: the sign split without a branch
      // (a branch on the sign of random data mispredicts half the time, 5× slower here).
      views.forEach((h, i) => {
        const w = weights[i]!
        for (let c = 0; c < size; c++) {
          const x = w * h[start + c]!
          const a = Math.abs(x)
          positive[c] = positive[c]! + (x + a)
          negative[c] = negative[c]! + (x - a)
        }
      })
      for (let c = 0; c < size; c++) {
        const p = 0.5 * positive[c]!
        const m = 0.5 * negative[c]!
        const mass = p - m
        const purity = 0.5 * (1 + (mass > 0 ? (p + m) / mass : 0))
        const dropped = purity > uniformAt(drawState, start + c) ? p : m
        out![start + c] = leak === 0 ? dropped : leak * (p + m) + (1 - leak) * dropped
      }
    }
  })
  if (onHost !== undefined) return onHost[0]!
  const draws = new Float32Array(raw[0]!.size)
  fillUniform(drawState, draws)
  return tf.tidy(() => {
    const stacked = tf.stack(raw.map((h, i) => tf.mul(h, weights[i]!))) as tf.Tensor2D
    const sum = tf.sum(stacked, 0)
    const mass = tf.sum(tf.abs(stacked), 0)
    const purity = tf.mul(0.5, tf.add(1, tf.div(sum, tf.where(tf.greater(mass, 0), mass, tf.onesLike(mass)))))
    // A draw just below 1 rounds to 1 in float32; it must stay below purity 1 (all tasks agree).
    const u = tf.minimum(tf.tensor1d(draws), 1 - 2 ** -24)
    const positive = tf.sum(tf.relu(stacked), 0)
    const negative = tf.neg(tf.sum(tf.relu(tf.neg(stacked)), 0))
    const dropped = tf.where(tf.greater(purity, u), positive, negative)
    return (leak === 0 ? dropped : tf.add(tf.mul(leak, sum), tf.mul(1 - leak, dropped))) as Tensor1D
  })
}

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
        const raw = tasks.map((t) => gradients[t.objective]!)
        return [tf.tidy(() => gradDropDirection(raw, tasks.map((t) => t.weight), seedState(seed), options.leak)), { t: state.t + 1, rng }]
      },
    })),
}
