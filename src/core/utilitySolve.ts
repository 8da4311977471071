/**
 * The k×k problem of the utility-maximising rules (Nash-MTL, FairGrad): find w > 0 with
 * (G·w)ᵢ = wᵢ^(−1/α) for a positive semi-definite G. It is the stationarity condition of
 *   min_w>0  ½wᵀGw + φ(w),   φ(w) = −Σ log wᵢ (α = 1),  φ(w) = −(α/(α − 1))·Σ wᵢ^((α−1)/α) (α ≠ 1),
 * a convex problem for every α > 0 (φ is convex in each case), solved here by Newton's method with
 * a backtracking line search that keeps w > 0. Solutions exist exactly when no non-zero v ≥ 0 has
 * Gv = 0 (some conic combination of the gradients vanishing would let the barrier fall forever):
 * then `undefined` is returned, the set being Pareto-stationary.
 */
import { matVec, quadraticForm, type SymmetricMatrix } from "./smallQp.ts"

/** x with M·x = b for a symmetric positive definite M (Cholesky), or undefined if M is not. */
export const solvePositiveDefinite = (m: ArrayLike<number>, k: number, b: ArrayLike<number>): Float64Array | undefined => {
  const l = new Float64Array(k * k)
  for (let i = 0; i < k; i++) {
    for (let j = 0; j <= i; j++) {
      let s = m[i * k + j]!
      for (let p = 0; p < j; p++) s -= l[i * k + p]! * l[j * k + p]!
      if (i === j) {
        if (!(s > 0)) return undefined
        l[i * k + i] = Math.sqrt(s)
      } else l[i * k + j] = s / l[j * k + j]!
    }
  }
  const y = new Float64Array(k)
  for (let i = 0; i < k; i++) {
    let s = b[i]!
    for (let p = 0; p < i; p++) s -= l[i * k + p]! * y[p]!
    y[i] = s / l[i * k + i]!
  }
  const x = new Float64Array(k)
  for (let i = k - 1; i >= 0; i--) {
    let s = y[i]!
    for (let p = i + 1; p < k; p++) s -= l[p * k + i]! * x[p]!
    x[i] = s / l[i * k + i]!
  }
  return x
}

const barrier = (w: ArrayLike<number>, alpha: number): number => {
  let s = 0
  for (let i = 0; i < w.length; i++) s += alpha === 1 ? -Math.log(w[i]!) : (-alpha / (alpha - 1)) * w[i]! ** ((alpha - 1) / alpha)
  return s
}

/**
 * w > 0 with (G·w)ᵢ = wᵢ^(−1/α) to a relative residual of 1e-12, or `undefined` when none exists
 * (the iterates grow without bound) or Newton stalls. G should be normalised (largest entry ~1).
 */
export const utilityWeights = (gram: SymmetricMatrix, alpha: number): Float64Array | undefined => {
  const k = gram.size
  let w = Float64Array.from({ length: k }, (_, i) => 1 / Math.sqrt(Math.max(gram.values[i * k + i]!, 1e-12)))
  const objective = (v: ArrayLike<number>) => 0.5 * quadraticForm(gram, v) + barrier(v, alpha)
  for (let iteration = 0; iteration < 200; iteration++) {
    const gw = matVec(gram, w)
    const gradient = w.map((wi, i) => gw[i]! - wi ** (-1 / alpha))
    const residual = gradient.reduce((m, g, i) => Math.max(m, Math.abs(g) * w[i]!), 0)
    if (residual <= 1e-12) return w
    const hessian = Float64Array.from(gram.values)
    for (let i = 0; i < k; i++) hessian[i * k + i]! += (1 / alpha) * w[i]! ** (-1 / alpha - 1)
    const step = solvePositiveDefinite(hessian, k, gradient.map((g) => -g))
    if (step === undefined) return undefined
    let t = 1
    const f0 = objective(w)
    const slope = step.reduce((s, d, i) => s + d * gradient[i]!, 0)
    // Newton decrement λ²/2 = −slope/2 below the rounding of f: converged (Boyd & Vandenberghe §9.5).
    if (-slope / 2 <= 1e-13 * (1 + Math.abs(f0))) return w
    let next = w
    for (let tries = 0; tries < 60; tries++) {
      const candidate = w.map((wi, i) => wi + t * step[i]!)
      if (candidate.every((c) => c > 0) && objective(candidate) <= f0 + 1e-4 * t * slope) {
        next = candidate
        break
      }
      t /= 2
    }
    if (next === w) return residual <= 1e-6 ? w : undefined
    w = next
    if (w.some((wi) => !(wi < 1e12))) return undefined
  }
  return undefined
}
