/**
 * Measuring helpers for scalpel's benchmarks: medians of interleaved repetitions (a load spike on
 * the shared machine then hits every variant alike), peak memory, and plain-text tables.
 */
import { tf } from "../src/core/tf.ts"

/** Median of a non-empty list. */
export const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

/** Peak resident set size and tfjs bytes seen by {@link sampleMemory} since the last reset. */
export interface PeakMemory {
  rssBytes: number
  tfBytes: number
}

export const newPeak = (): PeakMemory => ({ rssBytes: 0, tfBytes: 0 })

export const sampleMemory = (peak: PeakMemory): void => {
  peak.rssBytes = Math.max(peak.rssBytes, process.memoryUsage().rss)
  peak.tfBytes = Math.max(peak.tfBytes, tf.memory().numBytes)
}

/**
 * Run `rounds` rounds; in each, every variant runs once (order rotated each round), returning
 * milliseconds. Memory is sampled after each run into the variant's peak.
 */
export const interleave = (
  rounds: number,
  variants: ReadonlyArray<readonly [string, () => number]>,
): Record<string, { samples: Array<number>; peak: PeakMemory }> => {
  const out: Record<string, { samples: Array<number>; peak: PeakMemory }> = {}
  for (const [name] of variants) out[name] = { samples: [], peak: newPeak() }
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < variants.length; i++) {
      const [name, run] = variants[(i + r) % variants.length]!
      out[name]!.samples.push(run())
      sampleMemory(out[name]!.peak)
    }
  }
  return out
}

/** Milliseconds taken by synchronous work (tfjs on cpu and wasm computes synchronously). */
export const timeMs = (fn: () => void): number => {
  const start = performance.now()
  fn()
  return performance.now() - start
}

export const ms = (x: number): string => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x >= 1 ? x.toFixed(2) : x.toFixed(3))
export const mb = (bytes: number): string => (bytes / 2 ** 20).toFixed(0)
export const ratio = (x: number): string => x.toFixed(2)

/** A Markdown table with aligned columns. */
export const table = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)))
  const line = (cells: ReadonlyArray<string>) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n")
}

/** `--quick` in the arguments: fewer repetitions, for a smoke run. */
export const isQuick = (args: ReadonlyArray<string>): boolean => args.includes("--quick")

/**
 * glibc malloc settings that keep freed blocks in the heap: blocks above 128 KB are otherwise
 * returned to the system and mapped afresh, and on this virtual machine each fresh page costs a
 * fault of tens of microseconds (docs/benchmarks.md). Benchmarks that compare runtimes or settings
 * run children with and without it and say which.
 */
export const keptMemoryEnv: Readonly<Record<string, string>> = { MALLOC_MMAP_THRESHOLD_: "33554432", MALLOC_TRIM_THRESHOLD_: "1073741824" }
