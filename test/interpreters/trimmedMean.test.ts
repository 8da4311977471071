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

/** Unit roundoff of float64, and γₘ = m·u/(1 − m·u) for it (Higham, §3.1). */
const u64 = 2 ** -53
const gamma64 = (m: number): number => (m * u64) / (1 - m * u64)

/**
 * The host pass's error bound for one coordinate, derived per path:
 * - trim ≥ 1: the kept values wᵢhᵢ (on a 2⁻⁹ grid, below 2⁷ in size, at most 7 of them) sum
 *   exactly in float64, so only the division by the count (2⁻⁵³ relative) and the float32 store
 *   (2⁻²⁴) round: 2⁻²³·|mean| covers both.
 * - trim = 0: no value is dropped and the pass is the weighted mean Σ fl(wᵢ/k)·hᵢ in one float64
 *   sweep (`combineMany`). fl(wᵢ/k) is not exact (w/k = 0.1 for w = 0.5, k = 5), and the k products
 *   and k − 1 additions round, so before the store the sum is off by at most
 *   e = γ_{k+1}·Σ|wᵢhᵢ|/k = γ_{k+1}·magnitude (float64 γ). This is absolute, not relative to the
 *   mean: where the kept values cancel to an exact 0 the result may be ~10⁻¹⁶ (seed −1137230742).
 *   The store then adds 2⁻²⁴·(|mean| + e): |x − mean| ≤ 2⁻²³·|mean| + 2e.
 */
const hostBound = (trim: number, k: number, mean: number, magnitude: number): number =>
  2 ** -23 * Math.abs(mean) + (trim === 0 ? 2 * gamma64(k + 1) * magnitude : 0)

const direction = (gs: ReadonlyArray<Float32Array>, weights: ReadonlyArray<number>, trim: number): Float32Array => {
  const tensors = gs.map((g) => tf.tensor1d(g))
  const d = trimmedMeanDirection(tensors, weights, trim)
  const values = d.dataSync() as Float32Array
  tf.dispose([d, ...tensors])
  return values
}

describe("TrimmedMean (Yin et al. 2018): per coordinate, drop the trim largest and smallest, average the rest", () => {
  it("regression (SCALPEL_FC_SEED=-1137230742): trim 0, kept values that cancel to exactly 0, within the float64 sweep's bound", () => {
    // Coordinate 15 of the shrunk counterexample: 0.5·0.03515625 + 0.5·3.99609375 + 2.92578125 +
    // 0.08203125 − 2·2.51171875 = 0 exactly; the host pass returned 2.2e-16 (≤ 2γ₆·magnitude ≈ 1.4e-15),
    // which the old bound (2⁻²³·|mean| = 0) refused.
    const column = [0.03515625, 3.99609375, 2.92578125, 0.08203125, -2.51171875]
    const weights = [0.5, 0.5, 1, 1, 2]
    const gs = column.map((x) => Float32Array.from({ length: 18 }, (_, c) => (c === 15 ? x : 0)))
    const [mean, magnitude] = referenceTrimmedMean(gs, weights, 0)[15]!
    expect(mean).toBe(0)
    const x = direction(gs, weights, 0)[15]!
    expect(Math.abs(x - mean)).toBeLessThanOrEqual(hostBound(0, 5, mean, magnitude))
    expect(Math.abs(x - mean)).toBeGreaterThan(2 ** -23 * Math.abs(mean)) // the case the old bound refused
  })

  for (const host of [true, false]) {
    it(`${host ? "host pass" : "tensor-op path"}: within float32 rounding of the float64 reference, outliers dropped without cancellation`, () =>
      fc.assert(
        fc.property(cases, ({ trim, gs, weights }) => {
          useHostKernels(host)
          const d = direction(gs, weights, trim)
          const expected = referenceTrimmedMean(gs, weights, trim)
          d.forEach((x, c) => {
            const [mean, magnitude] = expected[c]!
            expect(Math.abs(x - mean), `coordinate ${c}`).toBeLessThanOrEqual(host ? hostBound(trim, gs.length, mean, magnitude) : 2 ** -20 * magnitude)
          })
        }),
        { numRuns: 300 },
      ))
  }
})
