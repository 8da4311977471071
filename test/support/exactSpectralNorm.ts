/**
 * σ_max of a matrix as an exact reference for the power iteration of core/spectralNorm.ts:
 * σ_max(W)² = λ_max(WᵀW), the Gram formed in float64 and its eigenvalues by the cyclic Jacobi
 * method of core/smallQp.ts (`symmetricEigen`, Golub & Van Loan §8.5) — an algorithm independent
 * of power iteration.
 */
import { symmetricEigen } from "../../src/core/smallQp.ts"

/** σ_max of a row-major rows × columns matrix. */
export const exactSpectralNorm = (w: ArrayLike<number>, rows: number, columns: number): number => {
  const gram = new Float64Array(columns * columns)
  for (let i = 0; i < rows; i++) {
    for (let p = 0; p < columns; p++) {
      const wp = w[i * columns + p]!
      if (wp === 0) continue
      for (let q = 0; q < columns; q++) gram[p * columns + q]! += wp * w[i * columns + q]!
    }
  }
  return Math.sqrt(Math.max(0, ...symmetricEigen({ size: columns, values: gram }).values))
}
