/**
 * TrimmedMean — the coordinate-wise trimmed mean (Yin, Chen, Ramchandran & Bartlett,
 * "Byzantine-Robust Distributed Learning: Towards Optimal Statistical Rates", ICML 2018, §3;
 * TorchJD's `TrimmedMean`).
 *
 * Per coordinate, the `trim` largest and `trim` smallest task components are dropped and the rest
 * averaged. Robust to up to `trim` arbitrary gradients per coordinate; d is generally not in the
 * span of the gradients. Needs k > 2·trim tasks (`Unsupported` otherwise). On the host backends one
 * pass per task keeps each coordinate's extremes so far; elsewhere tfjs's `topk` sorts them.
 */
import { Effect, Schema } from "effect"
import { hostKernel } from "../core/hostKernels.ts"
import { combineMany } from "../core/hostSweeps.ts"
import { tf, type Tensor1D } from "../core/tf.ts"
import { guarantees } from "./guarantees.ts"
import type { Interpreter, UpdateRule } from "./interpreter.ts"
import { optionsDecoder } from "./options.ts"
import { lowerToTasks } from "./taskLowering.ts"

export const TrimmedMeanOptions = Schema.Struct({
  /** How many of the largest and of the smallest components to drop per coordinate; default 1. */
  trim: Schema.optionalWith(Schema.Number.pipe(Schema.filter((x) => (Number.isInteger(x) && x >= 0) || `expected a non-negative integer, got ${x}`)), { default: () => 1 }),
})
export type TrimmedMeanOptions = typeof TrimmedMeanOptions.Type

/** Coordinates per block of the host pass (its float64 state stays in cache). */
const block = 2048

/**
 * The trimmed sums of one block of coordinates [start, start + size), task by task: per coordinate
 * the `trim` smallest values seen so far (ascending, +∞ while unfilled), the `trim` largest
 * (descending, −∞ while unfilled) and the sum of the values pushed out of both, which are the kept
 * ones once every task is in. A new value bubbles through the smallest, then what leaves them
 * through the largest: at most 2·trim comparisons, and rarely a swap once each set holds typical
 * values. The kept values are summed directly: subtracting the extremes from the total instead
 * would lose them to cancellation beside an outlier 10¹⁶ times larger, the case the rule is for.
 */
const trimmedSums = (
  views: ReadonlyArray<Float32Array>,
  weights: ReadonlyArray<number>,
  trim: number,
  start: number,
  size: number,
  lows: Float64Array,
  highs: Float64Array,
  kept: Float64Array,
): void => {
  lows.fill(Infinity)
  highs.fill(-Infinity)
  kept.fill(0)
  views.forEach((h, i) => {
    const w = weights[i]!
    for (let c = 0; c < size; c++) {
      let x = w * h[start + c]!
      for (let j = c * trim; j < (c + 1) * trim; j++) {
        const low = lows[j]!
        if (x < low) {
          lows[j] = x
          x = low
        }
      }
      if (x === Infinity) continue
      for (let j = c * trim; j < (c + 1) * trim; j++) {
        const high = highs[j]!
        if (x > high) {
          highs[j] = x
          x = high
        }
      }
      if (x !== -Infinity) kept[c] = kept[c]! + x
    }
  })
}

/**
 * {@link trimmedSums} for trim = 1 (the default), without the inner loops and sentinels: the first
 * two tasks set the smallest and the largest, and each further value swaps with them when beyond.
 */
const trimmedSumsOfOne = (views: ReadonlyArray<Float32Array>, weights: ReadonlyArray<number>, start: number, size: number, lows: Float64Array, highs: Float64Array, kept: Float64Array): void => {
  const [h0, h1] = views
  const [w0, w1] = weights
  for (let c = 0; c < size; c++) {
    const a = w0! * h0![start + c]!
    const b = w1! * h1![start + c]!
    lows[c] = a < b ? a : b
    highs[c] = a < b ? b : a
    kept[c] = 0
  }
  for (let i = 2; i < views.length; i++) {
    const h = views[i]!
    const w = weights[i]!
    for (let c = 0; c < size; c++) {
      let x = w * h[start + c]!
      const low = lows[c]!
      if (x < low) {
        lows[c] = x
        x = low
      }
      const high = highs[c]!
      if (x > high) {
        highs[c] = x
        x = high
      }
      kept[c] = kept[c]! + x
    }
  }
}

/**
 * The coordinate-wise trimmed mean of the task gradients wᵢ·hᵢ (raw gradients h, task weights w).
 * On the host backends: one pass per task over a block of coordinates at a time, in float64
 * (rounded once on the store); elsewhere tfjs's `topk` on the weighted gradients.
 */
export const trimmedMeanDirection = (raw: ReadonlyArray<Tensor1D>, weights: ReadonlyArray<number>, trim: number): Tensor1D => {
  const k = raw.length
  const kept = k - 2 * trim
  const onHost = hostKernel(raw, 1, (views, [out]) => {
    const n = out!.length
    if (trim === 0) return combineMany(out!, weights.map((w) => w / k), views)
    const lows = new Float64Array(block * trim)
    const highs = new Float64Array(block * trim)
    const sums = new Float64Array(block)
    for (let start = 0; start < n; start += block) {
      const size = Math.min(block, n - start)
      if (trim === 1) trimmedSumsOfOne(views, weights, start, size, lows, highs, sums)
      else trimmedSums(views, weights, trim, start, size, lows, highs, sums)
      for (let c = 0; c < size; c++) out![start + c] = sums[c]! / kept
    }
  })
  if (onHost !== undefined) return onHost[0]!
  return tf.tidy(() => {
    const columns = tf.transpose(tf.stack(raw.map((h, i) => tf.mul(h, weights[i]!)))) as tf.Tensor2D
    const sorted = tf.topk(columns, k).values
    return tf.mean(tf.slice(sorted, [0, trim], [-1, kept]), 1) as Tensor1D
  })
}

export const trimmedMean: Interpreter<TrimmedMeanOptions> = {
  name: "trimmed-mean",
  description: "TrimmedMean: per coordinate, drop the `trim` largest and smallest task components and average the rest (Yin et al. 2018).",
  decodeOptions: optionsDecoder("trimmed-mean", TrimmedMeanOptions),
  guarantees: guarantees({ holds: ["permutation-invariant", "scale-invariant"], subject: { form: "hierarchy", minTasks: 3 } }),
  lower: (structure, options) =>
    Effect.map(
      lowerToTasks("trimmed-mean", structure, (k) => (k > 2 * options.trim ? undefined : `trim = ${options.trim} needs more than ${2 * options.trim} tasks`)),
      ({ tasks, objectives }): UpdateRule<{ readonly t: number }> => ({
        name: "trimmed-mean",
        objectives,
        init: () => ({ t: 0 }),
        step: (gradients, state) => [
          tf.tidy(() => trimmedMeanDirection(tasks.map((t) => gradients[t.objective]!), tasks.map((t) => t.weight), options.trim)),
          { t: state.t + 1 },
        ],
      }),
    ),
}
