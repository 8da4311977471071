/**
 * TrimmedMean — the coordinate-wise trimmed mean (Yin, Chen, Ramchandran & Bartlett,
 * "Byzantine-Robust Distributed Learning: Towards Optimal Statistical Rates", ICML 2018, §3;
 * TorchJD's `TrimmedMean`).
 *
 * Per coordinate, the `trim` largest and `trim` smallest task components are dropped and the rest
 * averaged. Robust to up to `trim` arbitrary gradients per coordinate; d is generally not in the
 * span of the gradients. Needs k > 2·trim tasks (`Unsupported` otherwise). On the host backends one
 * pass sorts the k components of each coordinate; elsewhere tfjs's `topk` does.
 */
import { Effect, Schema } from "effect"
import { hostKernel } from "../core/hostKernels.ts"
import { tf, type Tensor1D } from "../core/tf.ts"
import { guarantees } from "./guarantees.ts"
import type { Interpreter, UpdateRule } from "./interpreter.ts"
import { taskGradients } from "./levels.ts"
import { optionsDecoder } from "./options.ts"
import { lowerToTasks } from "./taskLowering.ts"

export const TrimmedMeanOptions = Schema.Struct({
  /** How many of the largest and of the smallest components to drop per coordinate; default 1. */
  trim: Schema.optionalWith(Schema.Number.pipe(Schema.filter((x) => (Number.isInteger(x) && x >= 0) || `expected a non-negative integer, got ${x}`)), { default: () => 1 }),
})
export type TrimmedMeanOptions = typeof TrimmedMeanOptions.Type

/** The coordinate-wise trimmed mean of `tasks`. */
export const trimmedMeanDirection = (tasks: ReadonlyArray<Tensor1D>, trim: number): Tensor1D => {
  const k = tasks.length
  const kept = k - 2 * trim
  const onHost = hostKernel(tasks, 1, (views, [out]) => {
    const column = new Float64Array(k)
    const n = out!.length
    for (let c = 0; c < n; c++) {
      for (let i = 0; i < k; i++) {
        // insertion sort: k is the number of tasks (tens at most)
        const x = views[i]![c]!
        let j = i - 1
        while (j >= 0 && column[j]! > x) {
          column[j + 1] = column[j]!
          j--
        }
        column[j + 1] = x
      }
      let s = 0
      for (let i = trim; i < k - trim; i++) s += column[i]!
      out![c] = s / kept
    }
  })
  if (onHost !== undefined) return onHost[0]!
  return tf.tidy(() => {
    const columns = tf.transpose(tf.stack(tasks as Array<Tensor1D>)) as tf.Tensor2D
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
        step: (gradients, state) => [tf.tidy(() => trimmedMeanDirection(taskGradients(tasks, gradients), options.trim)), { t: state.t + 1 }],
      }),
    ),
}
