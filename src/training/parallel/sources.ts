/**
 * The distinct data sources of a list of objectives, numbered in order of first appearance.
 * Objectives that share a source see the same mini-batch in a step; the training thread and its
 * workers number the sources the same way, so that indices can be sent by number.
 */
import type { DataSource, Objective } from "../../dsl/objective.ts"

export interface SourceSlots {
  readonly sources: ReadonlyArray<DataSource<unknown>>
  /** For each objective, the index of its source in `sources`, or -1 when it has no data. */
  readonly sourceOf: ReadonlyArray<number>
}

export const sourceSlots = (objectives: ReadonlyArray<Objective<any>>): SourceSlots => {
  const sources: Array<DataSource<unknown>> = []
  const sourceOf = objectives.map((o) => {
    if (o.data === undefined) return -1
    const found = sources.indexOf(o.data)
    if (found >= 0) return found
    sources.push(o.data)
    return sources.length - 1
  })
  return { sources, sourceOf }
}

/** The contiguous share `[start, end)` of `count` examples that part `part` of `parts` computes. */
export const shareOf = (count: number, part: number, parts: number): readonly [number, number] => [
  Math.floor((part * count) / parts),
  Math.floor(((part + 1) * count) / parts),
]
