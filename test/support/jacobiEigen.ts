/**
 * Eigenvalues of a symmetric float64 matrix by the cyclic Jacobi method (Golub & Van Loan,
 * *Matrix Computations*, 4th ed., §8.5): rotations until the off-diagonal part is below 1e-15 of
 * the Frobenius norm. Used as an exact reference (independent of power iteration) for σ_max(W)² =
 * λ_max(WᵀW).
 */
export const jacobiEigenvalues = (matrix: Float64Array, n: number): Float64Array => {
  const a = Float64Array.from(matrix)
  let frobenius = 0
  for (const x of a) frobenius += x * x
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += 2 * a[p * n + q]! ** 2
    if (off <= 1e-30 * frobenius) break
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q]!
        if (apq === 0) continue
        const theta = (a[q * n + q]! - a[p * n + p]!) / (2 * apq)
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1))
        const c = 1 / Math.sqrt(t * t + 1)
        const s = t * c
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p]!
          const akq = a[k * n + q]!
          a[k * n + p] = c * akp - s * akq
          a[k * n + q] = s * akp + c * akq
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k]!
          const aqk = a[q * n + k]!
          a[p * n + k] = c * apk - s * aqk
          a[q * n + k] = s * apk + c * aqk
        }
      }
    }
  }
  return Float64Array.from({ length: n }, (_, i) => a[i * n + i]!)
}

/** σ_max of a row-major rows × columns matrix: √λ_max(WᵀW), the Gram formed in float64. */
export const exactSpectralNorm = (w: ArrayLike<number>, rows: number, columns: number): number => {
  const gram = new Float64Array(columns * columns)
  for (let i = 0; i < rows; i++) {
    for (let p = 0; p < columns; p++) {
      const wp = w[i * columns + p]!
      if (wp === 0) continue
      for (let q = 0; q < columns; q++) gram[p * columns + q]! += wp * w[i * columns + q]!
    }
  }
  return Math.sqrt(Math.max(0, ...jacobiEigenvalues(gram, columns)))
}
