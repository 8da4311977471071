/**
 * Plain float64 reference implementations of the formulas scalpel's tensor code computes, written
 * for clarity rather than speed: one loop per formula, no guards beyond the mathematical
 * definitions. Tests compare the float32 tensor results with these within the bounds of
 * `tolerance.ts`.
 *
 * Vectors are any `ArrayLike<number>` and results are `Float64Array`s.
 */

/** A vector in, a float64 vector out. */
export type Vector = ArrayLike<number>

const zip = (a: Vector, b: Vector, f: (x: number, y: number) => number): Float64Array =>
  Float64Array.from({ length: a.length }, (_, i) => f(a[i]!, b[i]!))

/** ⟨a, b⟩. */
export const dot = (a: Vector, b: Vector): number => {
  let s = 0
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!
  return s
}

/** ‖a‖² (scaled by the largest entry first, so that 1e±200 entries do not over/underflow). */
export const squaredNorm = (a: Vector): number => norm(a) ** 2

/** ‖a‖, computed as m·‖a/m‖ with m = max|aᵢ| (LAPACK's dnrm2 idea: no overflow or underflow). */
export const norm = (a: Vector): number => {
  let m = 0
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!))
  if (m === 0) return 0
  let s = 0
  for (let i = 0; i < a.length; i++) s += (a[i]! / m) ** 2
  return m * Math.sqrt(s)
}

/** s·a. */
export const scale = (a: Vector, s: number): Float64Array => Float64Array.from(a, (x) => s * x)
/** a + b. */
export const add = (a: Vector, b: Vector): Float64Array => zip(a, b, (x, y) => x + y)
/** a − b. */
export const subtract = (a: Vector, b: Vector): Float64Array => zip(a, b, (x, y) => x - y)

/** ‖a − b‖. */
export const distance = (a: Vector, b: Vector): number => norm(subtract(a, b))

/** Σᵢ wᵢ·vᵢ over `terms` of equal length (at least one term). */
export const weightedSum = (terms: ReadonlyArray<readonly [number, Vector]>): Float64Array => {
  const out = new Float64Array(terms[0]![1].length)
  for (const [w, v] of terms) for (let i = 0; i < out.length; i++) out[i]! += w * v[i]!
  return out
}

/** π(v, u) = v − (⟨v,u⟩/‖u‖²)·u, with π(v, 0) = v (the design's convention). */
export const project = (v: Vector, u: Vector): Float64Array => {
  const uu = dot(u, u)
  if (uu === 0) return Float64Array.from(v)
  const c = dot(v, u) / uu
  return zip(v, u, (x, y) => x - c * y)
}

/** PCGrad's conditional projection: π(v, u) if ⟨v, u⟩ < 0, else v (Yu et al. 2020, Alg. 1). */
export const projectIfConflicting = (v: Vector, u: Vector): Float64Array =>
  dot(v, u) < 0 ? project(v, u) : Float64Array.from(v)

/** EMA with decay δ: δ·ema + (1 − δ)·x. */
export const emaUpdate = (ema: Vector, x: Vector, decay: number): Float64Array =>
  zip(ema, x, (e, xi) => decay * e + (1 - decay) * xi)

/**
 * PCGrad (Yu et al. 2020, Alg. 1): each task gᵢ meets the others in `orders[i]` (its own index is
 * skipped) and is projected off each it conflicts with, in that order; d = Σ gᵢ'.
 * Returns the surgered gradients and their sum.
 */
export const pcgrad = (
  tasks: ReadonlyArray<Vector>,
  orders: ReadonlyArray<ReadonlyArray<number>>,
): { readonly surgered: ReadonlyArray<Float64Array>; readonly direction: Float64Array } => {
  const surgered = tasks.map((gi, i) =>
    orders[i]!.reduce<Float64Array>((acc, j) => (j === i ? acc : projectIfConflicting(acc, tasks[j]!)), Float64Array.from(gi)),
  )
  return { surgered, direction: weightedSum(surgered.map((g) => [1, g] as const)) }
}

/** Two-level Bloop (Hsieh et al. 2024, Eq. 5): d = g_main + λ·π(g_aux, ĝ), ĝ the projection reference. */
export const bloop = (main: Vector, aux: Vector, lambda: number, reference: Vector): Float64Array =>
  add(main, scale(project(aux, reference), lambda))

/**
 * Classical Gram–Schmidt in float64: an orthogonal basis of span(vectors), with a zero vector in
 * place of every vector whose residual is at most `spanTolerance`·‖v‖ (default 4·2⁻²⁴, n-level
 * Bloop's default τ; 0 is the paper's §2.3 exactly).
 */
export const orthogonalBasis = (vectors: ReadonlyArray<Vector>, spanTolerance = 4 * 2 ** -24): ReadonlyArray<Float64Array> => {
  const basis: Array<Float64Array> = []
  for (const v of vectors) {
    const r = projectOutSpan(v, basis)
    basis.push(norm(r) > spanTolerance * norm(v) ? r : new Float64Array(v.length))
  }
  return basis
}

/** Project v onto the orthogonal complement of span(basis), for an orthogonal basis. */
export const projectOutSpan = (v: Vector, basis: ReadonlyArray<Vector>): Float64Array =>
  basis.reduce<Float64Array>((acc, q) => project(acc, q), Float64Array.from(v))

/**
 * n-level Bloop (Hsieh et al. 2024, Eq. 6, generalised): level k's gradient projected onto the
 * orthogonal complement of span(references[0..k−1]), times λₖ; level 0 enters unchanged.
 * `references[k]` is the direction standing for level k (its EMA, or its current gradient).
 */
export const bloopLevels = (
  levels: ReadonlyArray<Vector>,
  lambdas: ReadonlyArray<number>,
  references: ReadonlyArray<Vector>,
  spanTolerance = 4 * 2 ** -24,
): Float64Array => {
  const basis = orthogonalBasis(references, spanTolerance)
  return weightedSum(levels.map((g, k) => (k === 0 ? ([1, g] as const) : ([lambdas[k]!, projectOutSpan(g, basis.slice(0, k))] as const))))
}

/**
 * The stateful Bloop rule as scalpel defines it (src/interpreters/bloop.ts): at the first step the
 * references are the current level gradients and become the EMAs; afterwards each step projects on
 * the EMAs of the previous steps and then updates them with ρ, the weight of the new gradient
 * (ĝ ← (1 − ρ)·ĝ + ρ·g, the paper's Algorithm 1 order). With `ema: false` the references are
 * always the current gradients. Returns the direction and the EMAs after every step.
 */
export const bloopTrajectory = (
  steps: ReadonlyArray<ReadonlyArray<Vector>>,
  options: { readonly lambdas: ReadonlyArray<number>; readonly rho: number; readonly ema: boolean },
): ReadonlyArray<{ readonly direction: Float64Array; readonly emas: ReadonlyArray<Float64Array> }> => {
  let emas: ReadonlyArray<Float64Array> = []
  return steps.map((levels, t) => {
    const current = levels.slice(0, levels.length - 1).map((g) => Float64Array.from(g))
    const references = options.ema && t > 0 ? emas : current
    const direction = bloopLevels(levels, options.lambdas, references)
    emas = t === 0 ? current : current.map((g, k) => emaUpdate(emas[k]!, g, 1 - options.rho))
    return { direction, emas }
  })
}

// ---------------------------------------------------------------------------------------------
// Optimizers (the step Δ to subtract from θ), as in src/core/optimizers.ts.

/** SGD: Δ = η·d. */
export const sgdStep = (d: Vector, learningRate: number): Float64Array => scale(d, learningRate)

/** Heavy-ball momentum: m ← μ·m + d; Δ = η·m. */
export const momentumStep = (
  d: Vector,
  m: Vector,
  settings: { readonly learningRate: number; readonly momentum: number },
): { readonly delta: Float64Array; readonly m: Float64Array } => {
  const next = zip(m, d, (mi, di) => settings.momentum * mi + di)
  return { delta: scale(next, settings.learningRate), m: next }
}

/** Adam (Kingma & Ba 2015, Algorithm 1) at step t ≥ 1: returns Δ and the new moments. */
export const adamStep = (
  d: Vector,
  state: { readonly m: Vector; readonly v: Vector; readonly t: number },
  settings: { readonly learningRate: number; readonly beta1: number; readonly beta2: number; readonly epsilon: number },
): { readonly delta: Float64Array; readonly m: Float64Array; readonly v: Float64Array } => {
  const { beta1, beta2, epsilon, learningRate } = settings
  const t = state.t + 1
  const m = zip(state.m, d, (mi, di) => beta1 * mi + (1 - beta1) * di)
  const v = zip(state.v, d, (vi, di) => beta2 * vi + (1 - beta2) * di * di)
  const delta = zip(m, v, (mi, vi) => (learningRate * (mi / (1 - beta1 ** t))) / (Math.sqrt(vi / (1 - beta2 ** t)) + epsilon))
  return { delta, m, v }
}
