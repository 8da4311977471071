/**
 * Which examples a step sees: for each data source, `batchSize` indices drawn uniformly with
 * replacement from the run's seeded generator, source after source in order of first appearance.
 */
import { type RandomState, sampleIndices } from "../core/random.ts"
import type { DataSource } from "../dsl/objective.ts"

/** One step's indices, one array per source, and the generator's next state. */
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

/** Steps in one epoch: ⌈n / batchSize⌉ for the largest source's n (1 when no objective has data). */
export const stepsPerEpoch = (sources: ReadonlyArray<DataSource<unknown>>, batchSize: number): number =>
  Math.max(1, Math.ceil(Math.max(0, ...sources.map((s) => s.size)) / batchSize))
