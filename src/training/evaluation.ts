/** Measuring objectives on their whole data sets, for the summary and for evaluations. */
import { tf } from "../core/tf.ts"
import { inferenceContext, type Objective, type Params } from "../dsl/objective.ts"
import { scalarLoss } from "./errors.ts"

/**
 * Loss of `objective` on its whole data set, in chunks, in inference mode (`{ training: false }`). Losses are means over the batch, so the
 * size-weighted mean of chunk losses is the full-data loss.
 */
export const fullDataLoss = (objective: Objective<any>, params: Params, chunk = 4096): number => {
  const data = objective.data
  if (data === undefined) return tf.tidy(() => scalarLoss(objective.name, objective.loss(params, undefined, inferenceContext)).dataSync()[0]!)
  let total = 0
  for (let start = 0; start < data.size; start += chunk) {
    const count = Math.min(chunk, data.size - start)
    const indices = Int32Array.from({ length: count }, (_, i) => start + i)
    total += count * tf.tidy(() => scalarLoss(objective.name, objective.loss(params, data.batch(indices), inferenceContext)).dataSync()[0]!)
  }
  return total / data.size
}

/** Each objective of `list` on its whole data set, by name. */
export const measureAll = (list: ReadonlyArray<Objective<any>>, params: Params, chunk = 4096): Record<string, number> =>
  Object.fromEntries(list.map((o) => [o.name, fullDataLoss(o, params, chunk)] as const))
