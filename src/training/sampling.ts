/**
 * Which examples a step sees, one array of `batchSize` indices per data source (sources in order
 * of first appearance), by the spec's `sampling`:
 *
 * - `"replacement"` (default): drawn uniformly with replacement from the run's seeded generator,
 *   source after source; the generator's state is part of the session state and of checkpoints.
 * - `"epochs"`: without replacement. An epoch is ⌈n / batchSize⌉ steps for the largest source's n
 *   ({@link stepsPerEpoch}); `"epochs-drop-last"` is the same with ⌊n / batchSize⌋ steps: the
 *   incomplete last batch of each epoch is dropped (PyTorch's `drop_last`, tf.data's
 *   `drop_remainder`, the Bloop authors' MNIST loop), so every batch holds distinct examples and
 *   the n mod batchSize examples at the end of each epoch's order are not seen in that epoch. At each epoch e every source s is shuffled by a permutation drawn from
 *   a generator seeded by (seed, s, e), and step j of the epoch (0-based) takes positions
 *   j·B … j·B + B − 1 of that order, modulo the source's size. So the largest source's examples
 *   are each seen exactly once per epoch when B divides n (when it does not, the last batch wraps
 *   to the start of the same order), a smaller source cycles through its order, and the indices
 *   of step t are a function of (seed, t) alone: a resume mid-epoch continues exactly, with
 *   nothing more in the checkpoint.
 */
import { permutation, type RandomState, sampleIndices, seedState } from "../core/random.ts"
import type { DataSource } from "../dsl/objective.ts"
import type { Sampling } from "../dsl/spec.ts"

/**
 * Steps in one epoch: ⌈n / batchSize⌉ for the largest source's n, ⌊n / batchSize⌋ under
 * `"epochs-drop-last"` (at least 1; 1 when no objective has data).
 */
export const stepsPerEpoch = (sources: ReadonlyArray<DataSource<unknown>>, batchSize: number, sampling?: Sampling): number => {
  const examples = Math.max(0, ...sources.map((s) => s.size))
  return Math.max(1, sampling === "epochs-drop-last" ? Math.floor(examples / batchSize) : Math.ceil(examples / batchSize))
}

/** One step's indices, one array per source, and the generator's next state (with replacement). */
export const drawIndices = (
  sources: ReadonlyArray<DataSource<unknown>>,
  rng: RandomState,
  batchSize: number,
): readonly [ReadonlyArray<Int32Array>, RandomState] => {
  let state = rng
  const indices = sources.map((source) => {
    const [drawn, next] = sampleIndices(state, source.size, batchSize)
    state = next
    return drawn
  })
  return [indices, state]
}

/** The generator state that shuffles source `source` at epoch `epoch` (0-based) of a run seeded `seed`. */
const epochSeed = (seed: number, source: number, epoch: number): RandomState =>
  seedState((Math.imul(seed + 1, 0x9e3779b1) ^ Math.imul(source + 1, 0x85ebca77) ^ Math.imul(epoch + 1, 0xc2b2ae3d)) | 0)

/** The order in which source `source` (of `size` examples) is walked at epoch `epoch`. */
export const epochOrder = (seed: number, source: number, epoch: number, size: number): ReadonlyArray<number> =>
  permutation(epochSeed(seed, source, epoch), size)[0]

/** Draws the indices of step t (1-based) from the session's generator state. */
export type Sampler = (rng: RandomState, t: number) => readonly [ReadonlyArray<Int32Array>, RandomState]

/** The sampler of a run; an `"epochs"` (or `"epochs-drop-last"`) sampler keeps the current epoch's orders (recomputed when the epoch changes). */
export const makeSampler = (sampling: Sampling | undefined, sources: ReadonlyArray<DataSource<unknown>>, batchSize: number, seed: number): Sampler => {
  if (sampling !== "epochs" && sampling !== "epochs-drop-last") return (rng) => drawIndices(sources, rng, batchSize)
  const perEpoch = stepsPerEpoch(sources, batchSize, sampling)
  let cached: { readonly epoch: number; readonly orders: ReadonlyArray<ReadonlyArray<number>> } | undefined
  return (rng, t) => {
    const epoch = Math.floor((t - 1) / perEpoch)
    if (cached?.epoch !== epoch) cached = { epoch, orders: sources.map((source, s) => epochOrder(seed, s, epoch, source.size)) }
    const start = ((t - 1) % perEpoch) * batchSize
    const orders = cached.orders
    const indices = sources.map((source, s) => Int32Array.from({ length: batchSize }, (_, i) => orders[s]![(start + i) % source.size]!))
    return [indices, rng]
  }
}
