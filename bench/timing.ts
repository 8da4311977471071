/**
 * Timing helpers of the step and matMul benchmarks: interleaved repetitions without memory
 * sampling, and plain-text tables (the other benchmarks print Markdown through `measure.ts`, which
 * also provides `median` and `timeMs` for both).
 */

export { median, timeMs } from "./measure.ts"

/**
 * Run `rounds` rounds; in each, every variant runs once, in an order rotated by one per round.
 * Returns the samples of each variant, by name.
 */
export const interleave = (
  rounds: number,
  variants: ReadonlyArray<readonly [string, () => number]>,
): Record<string, Array<number>> => {
  const samples: Record<string, Array<number>> = Object.fromEntries(variants.map(([name]) => [name, [] as Array<number>]))
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < variants.length; i++) {
      const [name, run] = variants[(i + r) % variants.length]!
      samples[name]!.push(run())
    }
  }
  return samples
}

/** Format milliseconds for a table. */
export const ms = (x: number): string => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2))

/** A plain-text table with aligned columns. */
export const table = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)))
  const line = (cells: ReadonlyArray<string>) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd()
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n")
}
