/**
 * The spectral norm ‖W‖₂ = σ_max(W) of a weight matrix, as the Bloop authors' smooth-MNIST
 * experiment uses it (Hsieh et al. 2024, §5.2: the Lipschitz bound of an MLP is Πₗ‖Wₗ‖₂), iterated
 * to convergence rather than for a fixed count.
 *
 * σ_max² is the top eigenvalue of A = WᵀW, found in float64 on the host by *restarted Lanczos*
 * (Golub & Van Loan, "Matrix Computations", §10.1 and §10.3, explicit restart): from a unit v,
 * up to `lanczosBlock` steps build an orthonormal basis of the Krylov space span{v, Av, A²v, …}
 * (A applied as Wᵀ(W·), never formed; each new vector reorthogonalised twice against the whole
 * basis), take the top eigenvector of the small tridiagonal projection (bisection and inverse
 * iteration, `tridiagonal.ts`) and restart from that Ritz vector. Power iteration, which it
 * replaces, converges as (σ₂/σ₁)² per product; on trained kernels whose top two singular values
 * are within a percent that took hundreds of products and often did not meet 10⁻⁶ in 500.
 * Lanczos converges as the Chebyshev polynomial of the gap, so in tens.
 *
 * It is *warm-started*: the caller keeps the right singular vector of the previous call (the
 * weights move little between steps), and a start that already meets the tolerance costs one
 * product. Every restart checks the exact singular-pair residual r = ‖Wᵀu − σv‖ of its start
 * (u = Wv/σ, σ = ‖Wv‖, so Wv = σu exactly) and stops when r ≤ `tolerance`·σ, or once
 * `maxIterations` Lanczos steps are spent. Such a residual bounds the distance from σ to a
 * singular value of W: |σ − σᵢ| ≤ r/√2 for some i (the residual of the unit vector (u, v)/√2 for
 * the symmetric matrix [[0, W], [Wᵀ, 0]], whose eigenvalues are ±σᵢ; Parlett, *The Symmetric
 * Eigenvalue Problem*, Thm 4.5.1). And σ = ‖Wv‖ ≤ σ_max for a unit v. So where the iteration found
 * the top pair (in practice: the Ritz value of a Krylov space that contains the previous top
 * direction is the largest it holds), 0 ≤ σ_max − σ ≤ r/√2; `converged` says whether the
 * tolerance was met.
 *
 * The gradient of σ_max with respect to W, where the top singular value is simple, is u vᵀ (the
 * outer product of the singular vectors): {@link spectralNormOf} computes σ as uᵀWv with u and v
 * held constant, so automatic differentiation gives exactly that.
 */
import { topTridiagonalEigenpair } from "./tridiagonal.ts"
import { tf, type Scalar } from "./tf.ts"

export interface SpectralNormOptions {
  /** Stop when ‖Wᵀu − σv‖ ≤ tolerance·σ; default 1e-6. */
  readonly tolerance?: number
  /** At most this many Lanczos steps (products with WᵀW after the first) per call; default 500. */
  readonly maxIterations?: number
  /** Lanczos steps between restarts (the Krylov basis kept); default 64. */
  readonly lanczosBlock?: number
}

export interface SpectralNormEstimate {
  readonly sigma: number
  /** Left singular vector (length rows), unit. */
  readonly u: Float64Array
  /** Right singular vector (length columns), unit: pass it as the next call's start. */
  readonly v: Float64Array
  /** Lanczos steps taken (0: the start met the tolerance). */
  readonly iterations: number
  /** ‖Wᵀu − σv‖ / σ at the end. */
  readonly relativeResidual: number
  readonly converged: boolean
}

/** A fixed start for a first call: all ones plus a small ramp (not orthogonal to a typical top vector). */
export const spectralStart = (columns: number): Float64Array => Float64Array.from({ length: columns }, (_, j) => 1 + j / columns)

const normalise = (x: Float64Array): number => {
  let s = 0
  for (const value of x) s += value * value
  const norm = Math.sqrt(s)
  if (norm > 0) for (let i = 0; i < x.length; i++) x[i]! /= norm
  return norm
}

/** out = Wᵀ(W·v) for the row-major `rows` × `columns` matrix `w`, with `wv` = W·v on the way. */
const gramProduct = (w: ArrayLike<number>, rows: number, columns: number, v: Float64Array, wv: Float64Array, out: Float64Array): void => {
  out.fill(0)
  for (let i = 0; i < rows; i++) {
    let s = 0
    const row = i * columns
    for (let j = 0; j < columns; j++) s += w[row + j]! * v[j]!
    wv[i] = s
    for (let j = 0; j < columns; j++) out[j]! += w[row + j]! * s
  }
}

const dot = (x: Float64Array, y: Float64Array): number => {
  let s = 0
  for (let i = 0; i < x.length; i++) s += x[i]! * y[i]!
  return s
}

/** z ← z − Σ (qᵢ·z) qᵢ over the basis, twice ("twice is enough": Parlett, §6.9). */
const reorthogonalise = (z: Float64Array, basis: ReadonlyArray<Float64Array>): void => {
  for (let pass = 0; pass < 2; pass++) {
    for (const q of basis) {
      const c = dot(q, z)
      for (let i = 0; i < z.length; i++) z[i]! -= c * q[i]!
    }
  }
}

/**
 * σ_max of the row-major `rows` × `columns` matrix `w` by warm-started, restarted Lanczos on WᵀW
 * (see the module comment). A zero matrix gives σ = 0 with the start vectors, converged.
 */
export const spectralNormEstimate = (
  w: ArrayLike<number>,
  rows: number,
  columns: number,
  start: Float64Array = spectralStart(columns),
  options: SpectralNormOptions = {},
): SpectralNormEstimate => {
  const tolerance = options.tolerance ?? 1e-6
  const maxIterations = options.maxIterations ?? 500
  const block = Math.max(1, Math.min(options.lanczosBlock ?? 64, columns))
  if (w.length !== rows * columns) throw new RangeError(`spectral norm: ${w.length} values for a ${rows}×${columns} matrix`)
  if (start.length !== columns) throw new RangeError(`spectral norm: a start vector of length ${start.length} for ${columns} columns`)
  // A zero start (or none that survives normalising) falls back to the fixed start.
  const v = Float64Array.from(start)
  if (normalise(v) === 0) {
    v.set(spectralStart(columns))
    normalise(v)
  }
  const u = new Float64Array(rows)
  const z = new Float64Array(columns)
  let iterations = 0
  for (;;) {
    // The restart's start v: z = WᵀWv, σ = ‖Wv‖, and the exact residual ‖Wᵀu − σv‖/σ = ‖z − σ²v‖/σ².
    gramProduct(w, rows, columns, v, u, z)
    const sigma = normalise(u)
    if (sigma === 0) return { sigma: 0, u, v, iterations, relativeResidual: 0, converged: true }
    const theta = sigma * sigma
    let r = 0
    for (let j = 0; j < columns; j++) r += (z[j]! - theta * v[j]!) ** 2
    const residual = Math.sqrt(r) / theta
    if (residual <= tolerance || iterations >= maxIterations) {
      return { sigma, u, v, iterations, relativeResidual: residual, converged: residual <= tolerance }
    }
    // Lanczos from v, its first product z already made: basis q₀ = v, q₁, …; T tridiagonal.
    const basis: Array<Float64Array> = [Float64Array.from(v)]
    const alphas: Array<number> = []
    const betas: Array<number> = []
    const steps = Math.min(block, maxIterations - iterations)
    for (let k = 0; ; k++) {
      const q = basis[k]!
      if (k > 0) gramProduct(w, rows, columns, q, u, z)
      const alpha = dot(q, z)
      alphas.push(alpha)
      if (k + 1 >= steps) break
      for (let i = 0; i < columns; i++) z[i]! -= alpha * q[i]! + (k > 0 ? betas[k - 1]! * basis[k - 1]![i]! : 0)
      reorthogonalise(z, basis)
      const beta = Math.sqrt(dot(z, z))
      // An invariant subspace (beta at rounding level): T's top eigenvalue is exact.
      if (beta <= 1e-14 * Math.abs(alpha) || beta === 0) break
      // After every step, the top Ritz pair's residual for A, β·|s_last| (Golub & Van Loan,
      // §10.1.4; the pair in O(k), `tridiagonal.ts`): once below the tolerance (relative to the
      // Ritz value, with a margin), restart from it, where the exact check above decides.
      const current = topTridiagonalEigenpair(alphas, betas, k + 1)
      if (beta * Math.abs(current.vector[k]!) <= 0.5 * tolerance * current.value) break
      betas.push(beta)
      basis.push(z.map((x) => x / beta))
    }
    iterations += basis.length
    const ritz = topTridiagonalEigenpair(alphas, betas, basis.length)
    v.fill(0)
    for (let k = 0; k < basis.length; k++) {
      const c = ritz.vector[k]!
      const q = basis[k]!
      for (let i = 0; i < columns; i++) v[i]! += c * q[i]!
    }
    normalise(v)
  }
}

/**
 * ‖W‖₂ as a differentiable scalar: the singular vectors are found on the host (warm-started from
 * `start`, see {@link spectralNormEstimate}) and σ = uᵀWv is formed with them held constant, whose
 * gradient is u vᵀ. Returns the scalar and the estimate (keep its `v` for the next call).
 */
export const spectralNormOf = (w: tf.Tensor2D, start?: Float64Array, options?: SpectralNormOptions): readonly [Scalar, SpectralNormEstimate] => {
  const [rows, columns] = w.shape
  const estimate = spectralNormEstimate(w.dataSync(), rows, columns, start, options)
  const sigma = tf.tidy(() => {
    const u = tf.tensor2d(Float32Array.from(estimate.u), [1, rows])
    const v = tf.tensor2d(Float32Array.from(estimate.v), [columns, 1])
    return tf.reshape(tf.matMul(tf.matMul(u, w), v), []) as Scalar
  })
  return [sigma, estimate]
}
