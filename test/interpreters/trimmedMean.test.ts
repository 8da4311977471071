/**
 * TrimmedMean's direction against a float64 reference (sort each coordinate's weighted components,
 * drop `trim` at each end, average the rest), on the host pass and on the tensor-op path, for
 * every trim: outliers 10²⁰ times the kept values must not disturb the kept ones (no cancellation).
 */
import fc from "fast-check"
import { afterEach, describe, expect, it } from "vitest"
import { useHostKernels } from "../../src/core/hostKernels.ts"
import { tf } from "../../src/core/tf.ts"
import { trimmedMeanDirection } from "../../src/interpreters/trimmedMean.ts"
import { useCpuBackend } from "../support/cpuBackend.ts"

useCpuBackend()
afterEach(() => useHostKernels(true))

/** Per coordinate: the trimmed mean, and the mean of the kept values' magnitudes (the scale of float32 rounding). */
const referenceTrimmedMean = (gs: ReadonlyArray<Float32Array>, weights: ReadonlyArray<number>, trim: number): ReadonlyArray<readonly [number, number]> =>
  Array.from(gs[0]!, (_, c) => {
    const column = gs.map((g, i) => weights[i]! * g[c]!).sort((a, b) => a - b)
    const kept = column.slice(trim, column.length - trim)
    return [kept.reduce((s, x) => s + x, 0) / kept.length, kept.reduce((s, x) => s + Math.abs(x), 0) / kept.length] as const
  })

/**
 * k > 2·trim gradients of length n, entries on a 2⁻⁸ grid in [−4, 4] (ties included), and per
 * coordinate up to `trim` of them replaced by outliers ±2⁶⁰ (so every outlier is dropped, and the
 * kept values sum exactly in float64); task weights in {0.5, 1, 2}.
 */
const cases = fc.integer({ min: 0, max: 3 }).chain((trim) =>
  fc.tuple(fc.integer({ min: 2 * trim + 1, max: 2 * trim + 5 }), fc.integer({ min: 1, max: 40 })).chain(([k, n]) =>
    fc
      .record({
        small: fc.array(fc.array(fc.integer({ min: -1024, max: 1024 }).map((x) => x / 256), { minLength: n, maxLength: n }), { minLength: k, maxLength: k }),
        outliers: fc.array(fc.subarray([...Array(k).keys()], { maxLength: trim }).chain((tasks) => fc.tuple(fc.constant(tasks), fc.array(fc.boolean(), { minLength: tasks.length, maxLength: tasks.length }))), { minLength: n, maxLength: n }),
        weights: fc.array(fc.constantFrom(0.5, 1, 2), { minLength: k, maxLength: k }),
      })
      .map(({ small, outliers, weights }) => {
        // Copies: fast-check reuses generated values while shrinking, so they must not be mutated.
        const gs = small.map((g) => Float32Array.from(g))
        outliers.forEach(([tasks, signs], c) => tasks.forEach((i, j) => (gs[i]![c] = signs[j] ? 2 ** 60 : -(2 ** 60))))
        return { trim, gs, weights }
      }),
  ),
)

const direction = (gs: ReadonlyArray<Float32Array>, weights: ReadonlyArray<number>, trim: number): Float32Array => {
  const tensors = gs.map((g) => tf.tensor1d(g))
  const d = trimmedMeanDirection(tensors, weights, trim)
  const values = d.dataSync() as Float32Array
  tf.dispose([d, ...tensors])
  return values
}

describe("TrimmedMean (Yin et al. 2018): per coordinate, drop the trim largest and smallest, average the rest", () => {
  for (const host of [true, false]) {
    it(`${host ? "host pass" : "tensor-op path"}: within float32 rounding of the float64 reference, outliers dropped without cancellation`, () =>
      fc.assert(
        fc.property(cases, ({ trim, gs, weights }) => {
          useHostKernels(host)
          const d = direction(gs, weights, trim)
          const expected = referenceTrimmedMean(gs, weights, trim)
          d.forEach((x, c) => {
            const [mean, magnitude] = expected[c]!
            // Host: the kept values sum exactly (2⁻⁹ grid, below 2⁷), so only the division and the
            // float32 store round. Tensor ops: float32 sums, a few roundings of the kept values'
            // size. Cancelling the outliers against a total instead would leave 2⁶⁰-sized noise.
            expect(Math.abs(x - mean), `coordinate ${c}`).toBeLessThanOrEqual(host ? 2 ** -23 * Math.abs(mean) : 2 ** -20 * magnitude)
          })
        }),
        { numRuns: 300 },
      ))
  }
})
