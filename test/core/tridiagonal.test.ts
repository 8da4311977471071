/**
 * The top eigenpair of a symmetric tridiagonal matrix (core/tridiagonal.ts: bisection on Sturm
 * counts, inverse iteration) against all eigenvalues by cyclic Jacobi (core/smallQp.ts), on sizes
 * 1 to 200, entries at scales 1e-30 to 1e30, with zero off-diagonals (decoupled blocks, repeated
 * top eigenvalues) and graded entries. Bounds: a backward-stable symmetric eigensolver is exact
 * for a T + E with ‖E‖ ≤ c·k·ε‖T‖, so |λ − λ_ref| ≤ c·k·ε‖T‖ (Weyl) and the residual
 * ‖Tv − λv‖ ≤ c·k·ε‖T‖ for the unit v; c = 8 covers both solvers' rounding (the reference
 * works on T/‖T‖, where Jacobi's own tests cannot underflow).
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { symmetricEigen } from "../../src/core/smallQp.ts"
import { topTridiagonalEigenpair } from "../../src/core/tridiagonal.ts"


describe("topTridiagonalEigenpair", () => {
  it("λ_max and a unit eigenvector within k·ε‖T‖ of the dense reference", () =>
    fc.assert(
      fc.property(fc.integer({ min: -30, max: 30 }), fc.integer({ min: 1, max: 200 }), fc.infiniteStream(fc.double({ min: -1, max: 1, noNaN: true })), fc.double({ min: 0, max: 1 }), (exponent, size, stream, zeroShare) => {
        const scale = 10 ** exponent
        const iterator = stream[Symbol.iterator]()
        const next = () => iterator.next().value as number
        const diagonal = Float64Array.from({ length: size }, () => next() * scale)
        // Some off-diagonals exactly zero: T splits into blocks, whose tops may tie.
        const offDiagonal = Float64Array.from({ length: Math.max(0, size - 1) }, () => (Math.abs(next()) < zeroShare ? 0 : next() * scale))
        const { value, vector } = topTridiagonalEigenpair(diagonal, offDiagonal, size)
        const dense = new Float64Array(size * size)
        let norm = 0
        for (let k = 0; k < size; k++) {
          dense[k * size + k] = diagonal[k]!
          if (k + 1 < size) dense[k * size + k + 1] = dense[(k + 1) * size + k] = offDiagonal[k]!
          norm = Math.max(norm, Math.abs(diagonal[k]!) + (k > 0 ? Math.abs(offDiagonal[k - 1]!) : 0) + (k + 1 < size ? Math.abs(offDiagonal[k]!) : 0))
        }
        const bound = 8 * size * Number.EPSILON * norm
        // The reference on T/‖T‖: Jacobi's stopping test squares the off-diagonal, which underflows
        // for entries below ~1e-154 and would stop it early (found by this property).
        const reference = norm === 0 ? 0 : norm * Math.max(...symmetricEigen({ size, values: dense.map((x) => x / norm) }).values)
        expect(Math.abs(value - reference)).toBeLessThanOrEqual(bound)
        expect(Math.abs(Math.hypot(...vector) - 1)).toBeLessThan(1e-12)
        let residual = 0
        for (let k = 0; k < size; k++) {
          const tv = diagonal[k]! * vector[k]! + (k > 0 ? offDiagonal[k - 1]! * vector[k - 1]! : 0) + (k + 1 < size ? offDiagonal[k]! * vector[k + 1]! : 0)
          residual += (tv - value * vector[k]!) ** 2
        }
        expect(Math.sqrt(residual)).toBeLessThanOrEqual(bound)
      }),
      { numRuns: 150 },
    ))

  it("a 1×1 matrix, the zero matrix, and a size its arrays cannot hold", () => {
    expect(topTridiagonalEigenpair([3], [], 1)).toEqual({ value: 3, vector: Float64Array.of(1) })
    expect(topTridiagonalEigenpair([0, 0, 0], [0, 0], 3).value).toBe(0)
    expect(() => topTridiagonalEigenpair([1, 2], [], 2)).toThrow(/1 off-diagonal|0 off-diagonal/)
  })
})
