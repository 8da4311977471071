/** The kit's matrix generators produce what they promise: the stated rank, stationarity, shapes and scales. */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { minNormInHull, symmetricFrom } from "../../src/core/smallQp.ts"
import { matrices, matrixOfRank64, stationaryMatrix64 } from "../../src/testing/matrices.ts"

/** Numerical rank by Gram–Schmidt with a relative threshold far above float64 rounding. */
const rank = (rows: ReadonlyArray<ArrayLike<number>>): number => {
  const basis: Array<Float64Array> = []
  const scale = Math.max(...rows.map((r) => Math.hypot(...Array.from(r))))
  for (const row of rows) {
    const v = Float64Array.from(row)
    for (let pass = 0; pass < 2; pass++) for (const b of basis) { const c = v.reduce((s, x, i) => s + x * b[i]!, 0); b.forEach((x, i) => (v[i]! -= c * x)) }
    const n = Math.hypot(...v)
    if (n > 1e-9 * scale) basis.push(v.map((x) => x / n))
  }
  return basis.length
}

const shapes = fc.tuple(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 0, max: 2 ** 31 - 1 }))

describe("matrix generators", () => {
  it("matrixOfRank64(seed, k, n, r) has rank min(r, k, n)", () =>
    fc.assert(fc.property(shapes, fc.integer({ min: 0, max: 8 }), ([k, n, seed], r) => {
      expect(rank(matrixOfRank64(seed, k, n, r))).toBe(Math.min(r, k, n))
    })))

  it("stationary matrices have 0 in the convex hull of their rows (min-norm point ≈ 0)", () =>
    fc.assert(
      fc.property(shapes, fc.integer({ min: 1, max: 8 }), fc.boolean(), ([k, n, seed], r, strong) => {
        const rows = stationaryMatrix64(seed, k, n, r, strong)
        const G = symmetricFrom(k, (i, j) => rows[i]!.reduce((s, x, p) => s + x * rows[j]![p]!, 0))
        const largest = Math.max(...rows.map((row) => row.reduce((s, x) => s + x * x, 0)))
        const alpha = minNormInHull(symmetricFrom(k, (i, j) => G.values[i * k + j]! / (largest || 1)))
        const point = Array.from({ length: n }, (_, p) => rows.reduce((s, row, i) => s + alpha[i]! * row[p]!, 0))
        // (a one-row "stationary" matrix is zero up to float64 rounding, hence the absolute floor)
        expect(Math.hypot(...point)).toBeLessThanOrEqual(1e-6 * Math.sqrt(largest) + 1e-12)
      }),
    ))

  it("matrices stay within their shape range and are finite float32 at every scale", () =>
    fc.assert(
      fc.property(matrices({ maxRows: 20, maxColumns: 100 }), (rows) => {
        expect(rows.length).toBeGreaterThanOrEqual(1)
        expect(rows.length).toBeLessThanOrEqual(20)
        for (const row of rows) {
          expect(row.length).toBe(rows[0]!.length)
          expect(row.length).toBeLessThanOrEqual(100)
          expect(row.every(Number.isFinite)).toBe(true)
        }
      }),
      { numRuns: 50 },
    ))
})
