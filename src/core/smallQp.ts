/**
 * Exact solvers for the small k×k problems that gradient-combination rules pose on the Gram
 * matrix G = J·Jᵀ of k task gradients (k is the number of objectives, so tens at most). They run
 * in float64 on the host: the device computes G once (one k×k read), everything else is here.
 *
 * - {@link nonNegativeQuadratic}: min ½xᵀHx − fᵀx over x ≥ 0, by the active-set method of
 *   Lawson & Hanson ("Solving Least Squares Problems", 1974, ch. 23, algorithm NNLS), written on
 *   the normal equations so that it only needs H = AᵀA and f = Aᵀb. It terminates after finitely
 *   many active-set changes, with the KKT conditions met to `tolerance`.
 * - {@link minNormInHull}: the point of minimum norm in the convex hull of k points given by their
 *   Gram matrix (MGDA's sub-problem), reduced to the previous one (Lawson & Hanson, ch. 23, §"LDP").
 * - {@link symmetricEigen} and {@link pseudoInverseSolve}: cyclic Jacobi eigen-decomposition
 *   (Golub & Van Loan, "Matrix Computations", §8.5) and a least-squares solve through it.
 */

/** A dense symmetric k×k matrix, row-major. */
export interface SymmetricMatrix {
  readonly size: number
  readonly values: Float64Array
}

/** Build a symmetric matrix from a function of (i, j). */
export const symmetricFrom = (size: number, entry: (i: number, j: number) => number): SymmetricMatrix => {
  const values = new Float64Array(size * size)
  for (let i = 0; i < size; i++) for (let j = 0; j < size; j++) values[i * size + j] = entry(i, j)
  return { size, values }
}

const at = (m: SymmetricMatrix, i: number, j: number): number => m.values[i * m.size + j]!

/** M·v. */
export const matVec = (m: SymmetricMatrix, v: ArrayLike<number>): Float64Array => {
  const out = new Float64Array(m.size)
  for (let i = 0; i < m.size; i++) {
    let acc = 0
    for (let j = 0; j < m.size; j++) acc += at(m, i, j) * v[j]!
    out[i] = acc
  }
  return out
}

/** vᵀ·M·v. */
export const quadraticForm = (m: SymmetricMatrix, v: ArrayLike<number>): number => {
  const mv = matVec(m, v)
  let acc = 0
  for (let i = 0; i < m.size; i++) acc += v[i]! * mv[i]!
  return acc
}

/** Eigenvalues and orthonormal eigenvectors (columns of `vectors`, row-major k×k). */
export interface Eigen {
  readonly values: Float64Array
  readonly vectors: Float64Array
}

/**
 * Cyclic Jacobi rotations until the off-diagonal mass is below 1e-30 of the total (or 100 sweeps,
 * far more than the quadratic convergence of the method needs for k ≤ 100).
 */
export const symmetricEigen = (m: SymmetricMatrix): Eigen => {
  const k = m.size
  const a = Float64Array.from(m.values)
  const v = new Float64Array(k * k)
  for (let i = 0; i < k; i++) v[i * k + i] = 1
  const total = a.reduce((s, x) => s + x * x, 0)
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0
    for (let p = 0; p < k; p++) for (let q = p + 1; q < k; q++) off += a[p * k + q]! ** 2
    if (off <= 1e-30 * total || off === 0) break
    for (let p = 0; p < k; p++) {
      for (let q = p + 1; q < k; q++) {
        const apq = a[p * k + q]!
        if (apq === 0) continue
        const theta = (a[q * k + q]! - a[p * k + p]!) / (2 * apq)
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1))
        const c = 1 / Math.sqrt(t * t + 1)
        const s = t * c
        for (let r = 0; r < k; r++) {
          const arp = a[r * k + p]!
          const arq = a[r * k + q]!
          a[r * k + p] = c * arp - s * arq
          a[r * k + q] = s * arp + c * arq
        }
        for (let r = 0; r < k; r++) {
          const apr = a[p * k + r]!
          const aqr = a[q * k + r]!
          a[p * k + r] = c * apr - s * aqr
          a[q * k + r] = s * apr + c * aqr
        }
        for (let r = 0; r < k; r++) {
          const vrp = v[r * k + p]!
          const vrq = v[r * k + q]!
          v[r * k + p] = c * vrp - s * vrq
          v[r * k + q] = s * vrp + c * vrq
        }
      }
    }
  }
  return { values: Float64Array.from({ length: k }, (_, i) => a[i * k + i]!), vectors: v }
}

/**
 * b ↦ M⁺·b, the minimum-norm least-squares solution, from one eigen-decomposition of M, dropping
 * eigenvalues below `relativeCutoff`·λ_max (they are rounding noise of how M was computed, not
 * information).
 */
const pseudoInverse = (m: SymmetricMatrix, relativeCutoff: number): ((b: ArrayLike<number>) => Float64Array) => {
  const k = m.size
  const { values, vectors } = symmetricEigen(m)
  const largest = values.reduce((mx, x) => Math.max(mx, Math.abs(x)), 0)
  const kept = Array.from({ length: k }, (_, e) => e).filter((e) => Math.abs(values[e]!) > relativeCutoff * largest && values[e] !== 0)
  return (b) => {
    const out = new Float64Array(k)
    for (const e of kept) {
      let proj = 0
      for (let i = 0; i < k; i++) proj += vectors[i * k + e]! * b[i]!
      const coefficient = proj / values[e]!
      for (let i = 0; i < k; i++) out[i]! += coefficient * vectors[i * k + e]!
    }
    return out
  }
}

/**
 * x = M⁺·b, the minimum-norm least-squares solution, dropping eigenvalues below
 * `relativeCutoff`·λ_max (they are rounding noise of how M was computed, not information).
 */
export const pseudoInverseSolve = (m: SymmetricMatrix, b: ArrayLike<number>, relativeCutoff: number): Float64Array =>
  pseudoInverse(m, relativeCutoff)(b)

/**
 * M⁺b after symmetric diagonal scaling D^{-1/2}·M·D^{-1/2} (D = diag M): the scaled matrix has a unit
 * diagonal, so a point of norm 1e-12 beside points of norm 1 (entries 1e-24 beside 1) is not
 * mistaken for rounding noise by the eigenvalue cutoff.
 */
const scaledSolve = (m: SymmetricMatrix, b: ReadonlyArray<number>): Float64Array => {
  const d = Array.from({ length: m.size }, (_, i) => {
    const diagonal = at(m, i, i)
    return diagonal > 0 ? 1 / Math.sqrt(diagonal) : 1
  })
  const scaled = symmetricFrom(m.size, (i, j) => d[i]! * at(m, i, j) * d[j]!)
  const rhs = b.map((bi, i) => d[i]! * bi)
  const solve = pseudoInverse(scaled, 1e-14)
  const y = solve(rhs)
  // The eigen-solve errs by about u·‖rhs‖ in every component, which swamps components far below
  // the largest (the point of norm 1e-10 beside one of norm 1e10: its lifted right-hand side is
  // 1e-20 of the other's). Two steps of iterative refinement (residual in float64, solved again with
  // the same decomposition: 2k² more operations each) bring each component's error down to u times
  // its own row's terms.
  for (let step = 0; step < 2; step++) {
    const residual = rhs.map((ri, i) => {
      let acc = ri
      for (let j = 0; j < m.size; j++) acc -= at(scaled, i, j) * y[j]!
      return acc
    })
    const correction = solve(residual)
    for (let i = 0; i < m.size; i++) y[i] = y[i]! + correction[i]!
  }
  return y.map((yi, i) => yi * d[i]!)
}

const subMatrix = (m: SymmetricMatrix, indices: ReadonlyArray<number>): SymmetricMatrix =>
  symmetricFrom(indices.length, (i, j) => at(m, indices[i]!, indices[j]!))

/**
 * G = S·C·S with S = diag(‖gᵢ‖) and C the correlation matrix Cᵢⱼ = Gᵢⱼ/(‖gᵢ‖‖gⱼ‖) (unit diagonal;
 * a zero task has a zero row and column, and norm 0). The rules solve on C: its entries err by at
 * most the Gram matrix's per-pair resolution ε whatever the task norms, so a rank or zero decision
 * taken relative to ε on C means the same for a task of norm 1e-10 beside one of norm 1e10 — on G
 * itself the small task's entries would be 1e-40 of the largest and lost below any threshold.
 */
export interface CorrelationForm {
  readonly norms: Float64Array
  readonly correlation: SymmetricMatrix
}

/** The {@link CorrelationForm} of a Gram matrix. */
export const correlationForm = (gram: SymmetricMatrix): CorrelationForm => {
  const k = gram.size
  const norms = Float64Array.from({ length: k }, (_, i) => Math.sqrt(Math.max(at(gram, i, i), 0)))
  const correlation = symmetricFrom(k, (i, j) => {
    if (norms[i] === 0 || norms[j] === 0) return 0
    if (i === j) return 1
    // Clamped to [−1, 1]: rounding may put |Gᵢⱼ| a few ulps above ‖gᵢ‖‖gⱼ‖.
    return Math.max(-1, Math.min(1, at(gram, i, j) / norms[i]! / norms[j]!))
  })
  return { norms, correlation }
}

/** Settings of {@link nonNegativeQuadratic}. */
export interface NonNegativeQuadraticOptions {
  /**
   * Relative KKT tolerance: a coordinate enters while fᵢ − (Hx)ᵢ > tolerance·(|fᵢ| + Σⱼ|Hᵢⱼxⱼ|),
   * i.e. beyond the rounding of its own row. Relative per row, so rows of very different scales
   * (tasks whose norms differ by 10¹²) each meet their own KKT condition. Default 1e-13.
   */
  readonly tolerance?: number
  /** Cap on active-set changes; Lawson–Hanson needs a few times k in practice. */
  readonly maxIterations?: number
}

/**
 * argmin_{x ≥ 0} ½·xᵀHx − fᵀx for a positive semi-definite H (Lawson–Hanson NNLS in Gram form).
 *
 * KKT at the returned x (to `tolerance`, relative to each row): with w = f − Hx, wᵢ ≤ 0 for all i,
 * and wᵢ ≈ 0 where xᵢ > 0. The inner solves use the pseudo-inverse (after diagonal scaling, with
 * two steps of iterative refinement) so that a singular H (linearly dependent gradients) gives the
 * minimum-norm solution instead of a division by zero, and each component is accurate relative to
 * its own row however far below the largest it lies.
 *
 * Domain: the non-zero entries of H and f must be normal float64 numbers (magnitude ≥ 2⁻¹⁰²²).
 * Gram matrices of float32 vectors always are (their smallest non-zero product is about 2⁻²⁹⁸);
 * with subnormal entries the diagonal scaling has no precision left and the KKT conditions can fail.
 * A coordinate that cannot enter at the current x (its solve gives it no positive value) is set
 * aside until x changes (Lawson–Hanson's safeguard against choosing it forever).
 *
 * Limit: the KKT conditions are met (tested, test/interpreters/mgda.test.ts) when the distinct
 * columns are resolved, λ_min of their correlation matrix above 10³·k·ε for H's rounding ε; exact
 * copies (a singular H) are fine. Columns parallel to within the pseudo-inverse's cutoff (1e-14 of
 * the scaled sub-problem) but not exactly are taken as parallel: a coordinate may then be set aside
 * with its KKT residual as large as ‖gᵢ‖‖gⱼ‖xⱼ (found with g = (0, 8e-10, −0.027) beside e₂).
 */
export const nonNegativeQuadratic = (
  h: SymmetricMatrix,
  f: ArrayLike<number>,
  options: NonNegativeQuadraticOptions = {},
): Float64Array => {
  const k = h.size
  const tolerance = options.tolerance ?? 1e-13
  const maxIterations = options.maxIterations ?? 30 * k + 30
  const x = new Float64Array(k)
  const passive = new Array<boolean>(k).fill(false)
  // wᵢ = fᵢ − (Hx)ᵢ, scaled by the magnitude of its row's terms so that rows of any scale compare.
  const scaledNegativeGradient = () =>
    Float64Array.from({ length: k }, (_, i) => {
      let hx = 0
      let magnitude = Math.abs(f[i]!)
      for (let j = 0; j < k; j++) {
        const term = at(h, i, j) * x[j]!
        hx += term
        magnitude += Math.abs(term)
      }
      return magnitude > 0 ? (f[i]! - hx) / magnitude : 0
    })
  // Coordinates that could not enter at the current x (their solve gave them no positive value:
  // e.g. a zero column with a subnormal fᵢ, whose scaled gradient is 1 but which cannot move);
  // choosing them again would repeat the same step forever. Cleared whenever x changes.
  const refused = new Array<boolean>(k).fill(false)
  for (let iteration = 0; iteration < maxIterations; iteration++) {
    const w = scaledNegativeGradient()
    let best = -1
    for (let i = 0; i < k; i++) if (!passive[i] && !refused[i] && w[i]! > tolerance && (best < 0 || w[i]! > w[best]!)) best = i
    if (best < 0) break
    passive[best] = true
    for (let inner = 0; inner < k + 1; inner++) {
      const indices = passive.flatMap((p, i) => (p ? [i] : []))
      const zP = scaledSolve(subMatrix(h, indices), indices.map((i) => f[i]!))
      const z = new Float64Array(k)
      indices.forEach((i, n) => (z[i] = zP[n]!))
      if (inner === 0 && z[best]! <= 0) {
        // Lawson–Hanson's safeguard: the entering coordinate would not move; leave x as it is.
        passive[best] = false
        refused[best] = true
        break
      }
      refused.fill(false)
      const blocking = indices.filter((i) => z[i]! <= 0)
      if (blocking.length === 0) {
        x.set(z)
        break
      }
      // Move from x towards z until the first passive coordinate hits zero, then release it
      // (and any other that reached zero at the same time).
      let step = Infinity
      let leaving = blocking[0]!
      for (const i of blocking) {
        const candidate = x[i]! / (x[i]! - z[i]!)
        if (candidate < step) [step, leaving] = [candidate, i]
      }
      for (let i = 0; i < k; i++) x[i] = x[i]! + step * (z[i]! - x[i]!)
      x[leaving] = 0
      for (const i of indices) {
        if (x[i]! <= 0) {
          x[i] = 0
          passive[i] = false
        }
      }
    }
  }
  return x
}

/**
 * Convex weights α (α ≥ 0, Σα = 1) of the minimum-norm point of conv{p₁..p_k}, from the Gram matrix
 * G of the points: argmin_{α ∈ Δ} αᵀGα (MGDA's sub-problem; Sener & Koltun 2018, Eq. 3).
 *
 * Reduction (least-distance programming, Lawson & Hanson ch. 23): the cone of the lifted points
 * (pᵢ, t) holds the point closest to (0, t) at Σyᵢ(pᵢ, t) with y/Σy the simplex minimiser, for any
 * t > 0 (the distance is t²‖p_α‖²/(t² + ‖p_α‖²) at the best scale, increasing in ‖p_α‖). Scaling
 * each generator by 1/‖pᵢ‖ and taking t = minᵢ‖pᵢ‖ (the minimum norm is at most that) gives an NNLS
 * problem with H = C + t²·wwᵀ, wᵢ = 1/‖pᵢ‖, and f = t²·w: every entry in [−1, 2], whatever the
 * norms (C the correlation matrix, {@link correlationForm}), so points whose norms differ by 10¹²
 * each meet their KKT condition (Gα)ᵢ ≥ αᵀGα relative to their own scale (Lawson–Hanson's per-row
 * tolerance); with G itself the lifted 1s would swamp a small point's entries. The weights are
 * αᵢ ∝ yᵢ/‖pᵢ‖. A zero point is the minimum itself, and 0 in the hull (decided first, on the unit
 * vectors, against `resolution` ε, G's per-pair rounding bound) gives the null combination. G may
 * be given at any positive scale.
 */
export const minNormInHull = (gram: SymmetricMatrix, resolution = 1e-15): Float64Array => {
  const k = gram.size
  if (k === 1) return Float64Array.of(1)
  const { norms, correlation } = correlationForm(gram)
  const zero = norms.findIndex((s) => s === 0)
  if (zero >= 0) return Float64Array.from({ length: k }, (_, i) => (i === zero ? 1 : 0))
  if (k === 2) return twoPointMinNorm(gram)
  // Whether 0 is in the hull does not depend on the norms: the hull of the unit vectors (lift 1,
  // H = C + 11ᵀ) comes within 2√ε of 0 exactly when it holds a null combination up to C's
  // rounding; that combination, mapped back to the pᵢ, is the minimum (0 up to rounding).
  const unitLift = nonNegativeQuadratic(
    symmetricFrom(k, (i, j) => at(correlation, i, j) + 1),
    new Float64Array(k).fill(1),
  )
  if (unitLift.some((x) => x > 0)) {
    const onUnits = normalised(unitLift)
    if (quadraticForm(correlation, onUnits) <= 4 * resolution) return normalised(onUnits.map((a, i) => a / norms[i]!))
  }
  const t = norms.reduce((a, b) => Math.min(a, b), Infinity)
  const w = norms.map((s) => t / s) // t·wᵢ, in (0, 1]
  const lifted = symmetricFrom(k, (i, j) => at(correlation, i, j) + w[i]! * w[j]!)
  const y = nonNegativeQuadratic(lifted, w) // f = Aᵀ(0, t) = t·w; the scale of f does not change α
  const x = y.map((yi, i) => yi * w[i]!)
  return polishedOnSimplex(gram, x.some((xi) => xi > 0) ? normalised(x) : new Float64Array(k).fill(1 / k))
}

/**
 * Descent steps on the simplex from the active-set solve's α, each lowering αᵀGα, until the KKT
 * conditions hold to rounding: on the support's face, the steepest descent direction (minus
 * (Gα)ᵢ's deviation from its mean over the support) with an exact line search stopped at the face's
 * boundary; once the face is optimal, weight moves from the support's largest (Gα)ᵢ to the point
 * with the smallest, if that is below. It repairs the solve's documented limit, near-parallel
 * columns taken as parallel (soak seed −107139935: entries 1 + 1.4e-7 and −2.5e-8, the solve 5e-9
 * above the minimum, on a face direction of curvature ~0 that pairwise steps cross only slowly).
 */
const polishedOnSimplex = (gram: SymmetricMatrix, start: Float64Array): Float64Array => {
  const k = gram.size
  const alpha = Float64Array.from(start)
  const scale = Math.max(...Array.from({ length: k }, (_, i) => Math.abs(at(gram, i, i))))
  if (!(scale > 0)) return alpha
  const tolerance = 1e-15 * scale
  for (let step = 0; step < 50 * k; step++) {
    const g = matVec(gram, alpha)
    const support = Array.from({ length: k }, (_, i) => i).filter((i) => alpha[i]! > 0)
    const mean = support.reduce((acc, i) => acc + g[i]!, 0) / support.length
    const d = new Float64Array(k)
    for (const i of support) d[i] = mean - g[i]!
    if (support.every((i) => Math.abs(d[i]!) <= tolerance)) {
      // The face is optimal: enter the point that most violates (Gα)ⱼ ≥ αᵀGα, if any.
      let to = 0
      for (let j = 1; j < k; j++) if (g[j]! < g[to]!) to = j
      if (!(g[to]! < mean - tolerance)) break
      let from = support[0]!
      for (const i of support) if (g[i]! > g[from]!) from = i
      d.fill(0)
      d[to] = 1
      d[from] = -1
    }
    let slope = 0
    for (let i = 0; i < k; i++) slope += g[i]! * d[i]!
    if (!(slope < 0)) break
    let limit = Infinity
    for (let i = 0; i < k; i++) if (d[i]! < 0) limit = Math.min(limit, alpha[i]! / -d[i]!)
    const curvature = quadraticForm(gram, d)
    const t = curvature > 0 ? Math.min(limit, -slope / curvature) : limit
    if (!(t > 0) || !Number.isFinite(t)) break
    for (let i = 0; i < k; i++) alpha[i] = Math.max(0, alpha[i]! + t * d[i]!)
    for (let i = 0; i < k; i++) if (d[i]! < 0 && Math.abs(alpha[i]!) <= 1e-16 * Math.abs(t * d[i]!)) alpha[i] = 0
  }
  return normalised(alpha)
}

const normalised = (x: Float64Array): Float64Array => {
  const total = x.reduce((a, b) => a + b, 0)
  return x.map((xi) => xi / total)
}

/**
 * Closed form for two points (Sener & Koltun 2018, Algorithm 1): α₁ = clip(⟨p₂ − p₁, p₂⟩/‖p₁ − p₂‖², 0, 1),
 * with α₂ = ⟨p₁ − p₂, p₁⟩/‖p₁ − p₂‖² computed by its own formula rather than as 1 − α₁ (which would
 * lose a small α₂ to cancellation when ‖p₂‖ ≪ ‖p₁‖), from the norms and the cosine.
 */
export const twoPointMinNorm = (gram: SymmetricMatrix): Float64Array => {
  const { norms, correlation } = correlationForm(gram)
  const [s1, s2] = [norms[0]!, norms[1]!]
  const c = at(correlation, 0, 1)
  const first = s2 * (s2 - s1 * c) // ⟨p₂ − p₁, p₂⟩
  const second = s1 * (s1 - s2 * c) // ⟨p₁ − p₂, p₁⟩
  const gap = first + second // ‖p₁ − p₂‖²
  if (!(gap > 0)) return Float64Array.of(0.5, 0.5)
  if (first <= 0) return Float64Array.of(0, 1)
  if (second <= 0) return Float64Array.of(1, 0)
  return Float64Array.of(first / gap, second / gap)
}
