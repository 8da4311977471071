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

const barrier = (w: ArrayLike<number>, alpha: number, c: ArrayLike<number>): number => {
  let s = 0
  for (let i = 0; i < w.length; i++) s += c[i]! * (alpha === 1 ? -Math.log(w[i]!) : (-alpha / (alpha - 1)) * w[i]! ** ((alpha - 1) / alpha))
  return s
}

/** The float64 unit roundoff. */
const u = 2 ** -53

/**
 * Newton's method on ½wᵀGw + φ(w) from `start`; `undefined` when it diverges or stalls. It stops
 * when every component of the gradient Gw − w^(−1/α) is within its own rounding bound
 * 4k·u·(Σⱼ|Gᵢⱼ|wⱼ + wᵢ^(−1/α)) (or 1e-12 relative): for a near-opposite set the terms of Gw
 * cancel and nothing smaller can be resolved. It gives up (`undefined`) once that bound exceeds 1 %
 * of the gains wᵢ^(−1/α): there a solution of a positive-definite G (λ_min below about 1e-13 of
 * the largest entry) is indistinguishable from the divergence of a singular one. A step is accepted when it decreases the objective
 * (Armijo) or, once that decrease is below the objective's own rounding, the scaled residual.
 */
const newton = (gram: SymmetricMatrix, alpha: number, c: ArrayLike<number>, start: Float64Array): Float64Array | undefined => {
  const k = gram.size
  const objective = (v: ArrayLike<number>) => 0.5 * quadraticForm(gram, v) + barrier(v, alpha, c)
  const assess = (v: Float64Array) => {
    const gv = matVec(gram, v)
    const gain = v.map((vi, i) => c[i]! * vi ** (-1 / alpha))
    const gradient = v.map((_, i) => gv[i]! - gain[i]!)
    let residual = 0
    let resolved = true
    let ambiguous = false
    for (let i = 0; i < k; i++) {
      let magnitude = gain[i]!
      for (let j = 0; j < k; j++) magnitude += Math.abs(gram.values[i * k + j]!) * v[j]!
      residual = Math.max(residual, Math.abs(gradient[i]!) / gain[i]!)
      if (Math.abs(gradient[i]!) > Math.max(4 * k * u * magnitude, 1e-12 * gain[i]!)) resolved = false
      if (4 * k * u * magnitude > 1e-2 * gain[i]!) ambiguous = true
    }
    return { gradient, residual, resolved, ambiguous }
  }
  let w = start
  let current = assess(w)
  for (let iteration = 0; iteration < 200; iteration++) {
    // Once the rounding of Gw reaches 1 % of the gains w^(−1/α), a solution cannot be told from
    // iterates that grow without bound (a conic combination of the gradients vanishing).
    if (current.ambiguous) return undefined
    if (current.resolved) return w
    const { gradient } = current
    const hessian = Float64Array.from(gram.values)
    for (let i = 0; i < k; i++) hessian[i * k + i]! += (c[i]! / alpha) * w[i]! ** (-1 / alpha - 1)
    const step = solvePositiveDefinite(hessian, k, gradient.map((g) => -g))
    if (step === undefined) return undefined
    const f0 = objective(w)
    const slope = step.reduce((s, d, i) => s + d * gradient[i]!, 0)
    let t = 1
    let next: Float64Array | undefined
    for (let tries = 0; tries < 60 && next === undefined; tries++, t /= 2) {
      const candidate = w.map((wi, i) => wi + t * step[i]!)
      if (!candidate.every((c) => c > 0)) continue
      const decrease = f0 - objective(candidate)
      const atRounding = Math.abs(t * slope) <= 1e-10 * (1 + Math.abs(f0))
      if (decrease >= -1e-4 * t * slope && decrease > 0) next = candidate
      else if (atRounding) {
        const candidateState = assess(candidate)
        if (candidateState.residual < current.residual) next = candidate
      }
    }
    if (next === undefined) return current.residual <= 1e-6 ? w : undefined
    w = next
    current = assess(w)
    if (w.some((wi) => !(wi < 1e15))) return undefined
  }
  return current.residual <= 1e-6 ? w : undefined
}

/**
 * w > 0 with (G·w)ᵢ = cᵢ·wᵢ^(−1/α) (c = `coefficients`, default all 1) to a relative residual
 * of 1e-12 or its rounding bound, or `undefined` when none exists
 * (the iterates grow without bound) or Newton stalls. G should be normalised (largest entry ~1).
 *
 * Solved by continuation on G + μI, μ = 1, 10⁻¹, …, 10⁻¹⁶, then 0, each Newton run warm-started at
 * the previous solution. Started cold at 1/√Gᵢᵢ, Newton's damped phase needs about as many steps
 * as the objective has to fall, which for a near-opposite set with a positive-definite G (w of
 * order λ_min^(−1/2)) exceeded its iteration budget, and such sets were reported as
 * Pareto-stationary (d = 0) although a solution exists; along the path every run starts inside
 * the region of quadratic convergence. When no solution exists the final run diverges.
 */
export const utilityWeights = (gram: SymmetricMatrix, alpha: number, coefficients?: ArrayLike<number>): Float64Array | undefined => {
  const k = gram.size
  const c = coefficients ?? new Float64Array(k).fill(1)
  // The solution for G + I when G is diagonal: ((Gᵢᵢ + 1)wᵢ = cᵢwᵢ^(−1/α)).
  let w: Float64Array | undefined = Float64Array.from({ length: k }, (_, i) => (c[i]! / (Math.max(gram.values[i * k + i]!, 0) + 1)) ** (alpha / (alpha + 1)))
  for (let e = 0; e <= 17; e++) {
    const mu = e === 17 ? 0 : 10 ** -e
    const shifted: SymmetricMatrix = mu === 0 ? gram : { size: k, values: gram.values.map((x, p) => (p % (k + 1) === 0 ? x + mu : x)) }
    w = newton(shifted, alpha, c, w)
    if (w === undefined) return undefined
  }
  return w
}
