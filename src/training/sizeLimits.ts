/**
 * What a run can allocate. A spec can ask for any batch size a JSON number can say, but a step
 * materialises the batch (and activations and gradients of its size) as tensors, and the tfjs
 * backends keep each tensor in one typed array or wasm buffer: the wasm backend's whole memory is
 * at most 4 GiB, a typed array at most 2^32 elements. A batch past the limit below would run for
 * minutes and then die inside the backend (`memory access out of bounds`, `Invalid typed array
 * length`); it is refused before the first step instead, with the largest batch that fits.
 */
import { tf } from "../core/tf.ts"
import { SpecError } from "../dsl/errors.ts"
import type { DataSource } from "../dsl/objective.ts"
import type { Spec } from "../dsl/spec.ts"
import { objectivesOf } from "../dsl/structure.ts"

/** Numbers one batch may hold (2^27 = 512 MiB of float32): a quarter of the wasm backend's 2 GiB default ceiling. */
export const maxBatchElements = 2 ** 27

/** Numbers in whatever `batch` returned: tensors anywhere in arrays and records (bounded depth). */
const elementsOf = (value: unknown, depth = 0): number => {
  if (value instanceof tf.Tensor) return value.size
  if (depth > 8 || typeof value !== "object" || value === null) return 0
  return Object.values(value).reduce<number>((total, v) => total + elementsOf(v, depth + 1), 0)
}

/** Numbers in one example of `data` (measured on example 0; every tensor it makes is released). */
export const elementsPerExample = (data: DataSource<unknown>): number => {
  let count = 0
  tf.tidy(() => {
    count = elementsOf(data.batch(Int32Array.of(0)))
  })
  return count
}

/**
 * The spec's batch size checked against {@link maxBatchElements} for each data source it draws
 * from: undefined when every batch fits, else a {@link SpecError} at `batchSize` saying the
 * limit, why, and the largest batch size that fits.
 */
export const batchSizeProblem = (spec: Spec): SpecError | undefined => {
  const sources = new Set<DataSource<unknown>>()
  for (const o of objectivesOf(spec.structure)) if (o.data !== undefined) sources.add(o.data)
  for (const data of sources) {
    // The indices alone are one int32 per example, even for a source whose batches hold nothing.
    const each = Math.max(1, elementsPerExample(data))
    const total = spec.batchSize * each
    if (total > maxBatchElements) {
      return new SpecError({
        path: "batchSize",
        problem:
          `a batch of ${spec.batchSize} examples of '${data.name}' (${each} numbers each) holds ${total} numbers, more than the ${maxBatchElements} (2^27) that one batch may hold: ` +
          `the tfjs backends keep a tensor in one buffer of at most 4 GiB, and a step holds several tensors of the batch's size; use a batchSize of at most ${Math.floor(maxBatchElements / each)}`,
      })
    }
  }
  return undefined
}
