/**
 * The spectral norm ‖W‖₂ = σ_max(W) of a weight matrix by power iteration, as the Bloop authors'
 * smooth-MNIST experiment uses it (Hsieh et al. 2024, §5.2: the Lipschitz bound of an MLP is
 * Πₗ‖Wₗ‖₂), iterated to convergence rather than for a fixed count.
 *
 * The iteration v ← Wᵀ(Wv)/‖Wᵀ(Wv)‖ runs in float64 on the host and is *warm-started*: the caller
 * keeps the right singular vector of the previous call (the weights move little between steps),
 * so a few iterations per training step suffice even where the top singular values are close.
 * It stops when the singular-pair residual r = ‖Wᵀu − σv‖ (with u = Wv/σ, so Wv = σu exactly) is
 * at most `tolerance`·σ, or after `maxIterations`. Such a residual bounds the distance from σ to a
 * singular value of W: |σ − σᵢ| ≤ r/√2 for some i (the residual of the unit vector (u, v)/√2 for
 * the symmetric matrix [[0, W], [Wᵀ, 0]], whose eigenvalues are ±σᵢ; Parlett, *The Symmetric
 * Eigenvalue Problem*, Thm 4.5.1). And σ = ‖Wv‖ ≤ σ_max for a unit v. So where the iteration found
 * the top pair (in practice, since the start carries the previous step's top direction),
 * 0 ≤ σ_max − σ ≤ r/√2; `converged` says whether the tolerance was met.
 *
 * The gradient of σ_max with respect to W, where the top singular value is simple, is u vᵀ (the
 * outer product of the singular vectors): {@link spectralNormOf} computes σ as uᵀWv with u and v
 * held constant, so automatic differentiation gives exactly that.
 */
import { tf, type Scalar } from "./tf.ts"

export interface SpectralNormOptions {
  /** Stop when ‖Wᵀu − σv‖ ≤ tolerance·σ; default 1e-6. */
  readonly tolerance?: number
  /** At most this many iterations per call; default 500. */
  readonly maxIterations?: number
}

export interface SpectralNormEstimate {
  readonly sigma: number
  /** Left singular vector (length rows), unit. */
  readonly u: Float64Array
  /** Right singular vector (length columns), unit: pass it as the next call's start. */
  readonly v: Float64Array
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

/**
 * σ_max of the row-major `rows` × `columns` matrix `w` by warm-started power iteration (see the
 * module comment). A zero matrix gives σ = 0 with the start vectors, converged.
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
  if (w.length !== rows * columns) throw new RangeError(`spectral norm: ${w.length} values for a ${rows}×${columns} matrix`)
  if (start.length !== columns) throw new RangeError(`spectral norm: a start vector of length ${start.length} for ${columns} columns`)
  // A zero start (or none that survives normalising) falls back to the fixed start.
  const v = Float64Array.from(start)
  if (normalise(v) === 0) {
    v.set(spectralStart(columns))
    normalise(v)
  }
  const u = new Float64Array(rows)
  const wtu = new Float64Array(columns)
  let sigma = 0
  let residual = Infinity
  let iterations = 0
  for (;;) {
    // u = Wv, σ = ‖Wv‖, u ← u/σ.
    for (let i = 0; i < rows; i++) {
      let s = 0
      const row = i * columns
      for (let j = 0; j < columns; j++) s += w[row + j]! * v[j]!
      u[i] = s
    }
    sigma = normalise(u)
    if (sigma === 0) return { sigma: 0, u, v, iterations, relativeResidual: 0, converged: true }
    // Wᵀu, the residual against σv, and the next v.
    wtu.fill(0)
    for (let i = 0; i < rows; i++) {
      const ui = u[i]!
      const row = i * columns
      for (let j = 0; j < columns; j++) wtu[j]! += w[row + j]! * ui
    }
    let r = 0
    for (let j = 0; j < columns; j++) r += (wtu[j]! - sigma * v[j]!) ** 2
    residual = Math.sqrt(r) / sigma
    if (residual <= tolerance || iterations >= maxIterations) break
    v.set(wtu)
    normalise(v)
    iterations += 1
  }
  return { sigma, u, v, iterations, relativeResidual: residual, converged: residual <= tolerance }
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
