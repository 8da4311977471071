/**
 * The largest eigenvalue of a symmetric tridiagonal matrix and its eigenvector, in O(k) per
 * bisection step: what a Lanczos iteration asks of its projection T after every step
 * (`spectralNorm.ts`), where a dense eigen-decomposition (k³ per call) would cost more than the
 * products with the large matrix.
 *
 * - The eigenvalue by bisection on Sturm counts (Golub & Van Loan, "Matrix Computations",
 *   §8.4.1): the number of negative pivots of the LDLᵀ factorisation of T − xI is the number of
 *   eigenvalues below x; λ_max lies in [max αₖ, Gershgorin's upper bound], halved until the
 *   interval is at rounding level.
 * - The eigenvector by inverse iteration (§8.2.2): two solves with T − λI by Gaussian elimination
 *   with partial pivoting (LAPACK's `dgtsv` scheme), a zero pivot replaced by ε‖T‖; λ accurate to
 *   rounding makes the first solve's output the eigenvector to rounding where λ_max is simple.
 */

export interface TridiagonalEigenpair {
  readonly value: number
  /** Unit eigenvector, length `size`. */
  readonly vector: Float64Array
}

/** Eigenvalues of T below x: the negative pivots of T − xI = LDLᵀ. */
const countBelow = (diagonal: ArrayLike<number>, offDiagonal: ArrayLike<number>, size: number, x: number, tiny: number): number => {
  let count = 0
  let pivot = 1
  for (let k = 0; k < size; k++) {
    pivot = diagonal[k]! - x - (k > 0 ? offDiagonal[k - 1]! ** 2 / pivot : 0)
    // A pivot at rounding level counts as negative (LAPACK's `pivmin` in dstebz).
    if (Math.abs(pivot) < tiny) pivot = -tiny
    if (pivot < 0) count += 1
  }
  return count
}

/** Solve (T − μI)·y = b in place of `b` by elimination with partial pivoting. */
const shiftedSolve = (diagonal: ArrayLike<number>, offDiagonal: ArrayLike<number>, size: number, mu: number, b: Float64Array, tiny: number): void => {
  const d = Float64Array.from({ length: size }, (_, k) => diagonal[k]! - mu)
  const upper = Float64Array.from({ length: size }, (_, k) => (k + 1 < size ? offDiagonal[k]! : 0))
  // U's second super-diagonal (non-zero where rows were swapped).
  const second = new Float64Array(size)
  for (let k = 0; k + 1 < size; k++) {
    // The sub-diagonal entry below the pivot: T is symmetric, so it is β_k.
    const lower = offDiagonal[k]!
    if (Math.abs(d[k]!) >= Math.abs(lower) || Math.abs(lower) < tiny) {
      if (Math.abs(d[k]!) < tiny) d[k] = d[k]! < 0 ? -tiny : tiny
      const factor = lower / d[k]!
      d[k + 1]! -= factor * upper[k]!
      b[k + 1]! -= factor * b[k]!
    } else {
      const factor = d[k]! / lower
      d[k] = lower
      const next = d[k + 1]!
      d[k + 1] = upper[k]! - factor * next
      if (k + 2 < size) {
        second[k] = upper[k + 1]!
        upper[k + 1] = -factor * second[k]!
      }
      upper[k] = next
      const bk = b[k]!
      b[k] = b[k + 1]!
      b[k + 1] = bk - factor * b[k + 1]!
    }
  }
  // A pivot below rounding level (the shift is an eigenvalue) becomes ±ε‖T‖: the solve then
  // amplifies the eigenvector's component by up to 1/ε, and nothing overflows.
  if (Math.abs(d[size - 1]!) < tiny) d[size - 1] = d[size - 1]! < 0 ? -tiny : tiny
  for (let k = size - 1; k >= 0; k--) {
    let s = b[k]!
    if (k + 1 < size) s -= upper[k]! * b[k + 1]!
    if (k + 2 < size) s -= second[k]! * b[k + 2]!
    b[k] = s / d[k]!
  }
}

const normalised = (x: Float64Array): Float64Array => {
  let s = 0
  for (const value of x) s += value * value
  const norm = Math.sqrt(s)
  for (let i = 0; i < x.length; i++) x[i]! /= norm
  return x
}

/**
 * λ_max of the `size` × `size` symmetric tridiagonal matrix with `diagonal` α₀…α_{size−1} and
 * `offDiagonal` β₀…β_{size−2}, and a unit eigenvector.
 */
export const topTridiagonalEigenpair = (diagonal: ArrayLike<number>, offDiagonal: ArrayLike<number>, size: number): TridiagonalEigenpair => {
  if (size < 1 || diagonal.length < size || offDiagonal.length < size - 1) throw new RangeError(`tridiagonal: ${diagonal.length} diagonal and ${offDiagonal.length} off-diagonal entries for size ${size}`)
  let scale = 0
  for (let k = 0; k < size; k++) scale = Math.max(scale, Math.abs(diagonal[k]!), k + 1 < size ? Math.abs(offDiagonal[k]!) : 0)
  if (scale === 0) return { value: 0, vector: Float64Array.from({ length: size }, (_, k) => (k === 0 ? 1 : 0)) }
  // Work on T/scale (entries at most 1): neither the pivots nor the inverse iteration's growth
  // can overflow or underflow, whatever the magnitude of T.
  const alpha = Float64Array.from({ length: size }, (_, k) => diagonal[k]! / scale)
  const beta = Float64Array.from({ length: Math.max(0, size - 1) }, (_, k) => offDiagonal[k]! / scale)
  let lo = -Infinity
  let hi = -Infinity
  for (let k = 0; k < size; k++) {
    const radius = (k > 0 ? Math.abs(beta[k - 1]!) : 0) + (k + 1 < size ? Math.abs(beta[k]!) : 0)
    lo = Math.max(lo, alpha[k]!)
    hi = Math.max(hi, alpha[k]! + radius)
  }
  const tiny = Number.EPSILON
  // Invariant: fewer than `size` eigenvalues below lo (λ_max ≥ lo), all `size` below or at hi.
  for (let step = 0; step < 200 && hi - lo > 2 * Number.EPSILON * Math.max(Math.abs(lo), Math.abs(hi), tiny); step++) {
    const mid = lo + (hi - lo) / 2
    if (mid <= lo || mid >= hi) break
    if (countBelow(alpha, beta, size, mid, tiny) < size) lo = mid
    else hi = mid
  }
  const value = lo + (hi - lo) / 2
  // A ramp start: not orthogonal to the eigenvector of any small symmetric pattern a constant start might miss.
  const vector = Float64Array.from({ length: size }, (_, k) => 1 + k / size)
  for (let pass = 0; pass < 2; pass++) shiftedSolve(alpha, beta, size, value, normalised(vector), tiny)
  return { value: value * scale, vector: normalised(vector) }
}
