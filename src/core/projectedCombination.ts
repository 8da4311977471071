/**
 * The combination step of priority rules (Bloop and its n-level generalisation), fused:
 *
 *   d = g₀ + Σ_{k≥1} λ_k · π_{span(r₀..r_{k−1})}(g_k),        e_k' = δ·e_k + (1 − δ)·g_k,
 *
 * with π_S(v) the projection of v onto the orthogonal complement of S (Hsieh et al. 2024, Eq. 5,
 * and `interpreters/bloop.ts` for n levels) and e_k the optional EMAs.
 *
 * Everything the projections need is inner products, so both paths work in coefficient space: the
 * Gram matrix R of the references and the products P_kj = ⟨g_k, r_j⟩ are accumulated in float64
 * (host sweeps, `hostSweeps.ts`; on backends without host access the vectors are read once and the
 * same sweeps run on the copies), Gram–Schmidt runs on those k×k numbers in float64
 * ({@link projectionCoefficients}), and d (and the new EMAs) is one linear combination of the g's
 * and r's: one more host sweep (float64, rounded once) or tensor operations (float32).
 *
 * Gram–Schmidt keeps reference r_i when its residual q_i outside the span of r₀..r_{i−1} is
 * resolved, ‖q_i‖² > max(τ²‖r_i‖², 4ε·(Σ_a|Q_ia|‖r_a‖)²):
 * - ε is the inner products' rounding bound (`innerProductResolution`): ‖q_i‖² = Q_iᵀRQ_i errs by at
 *   most ε(Σ_a|Q_ia|‖r_a‖)², so below 4 times that the residual's length and direction are rounding;
 * - τ (`spanTolerance`, default {@link defaultSpanTolerance} = 4·2⁻²⁴) is relative to the rounding of
 *   the references themselves: a float32 reference carries a relative error of 2⁻²⁴ from being
 *   stored and up to three more from an EMA update, so a residual below 4·2⁻²⁴‖r_i‖ may be nothing
 *   but that rounding. Raise τ for references known to be noisier.
 * A kept reference is projected out exactly as in the paper's §2.3 (no fixed 1e-4 cut-off: e₀ and
 * e₀ + 10⁻⁴e₁ span two directions).
 */
import { hostKernel } from "./hostKernels.ts"
import { bloopSweep, combine2, combine3, combineMany, dotPair, gramMatrix64, innerProductResolution, innerProducts } from "./hostSweeps.ts"
import { tf, type Tensor1D } from "./tf.ts"
import { emaUpdate } from "./vector.ts"

/**
 * Default relative Gram–Schmidt tolerance τ of n-level Bloop: 4·2⁻²⁴, four float32 roundings of a
 * reference (see the module comment).
 */
export const defaultSpanTolerance = 4 * 2 ** -24

/** EMAs to update in the same sweep: e_k' = decay·e_k + (1 − decay)·g_k for k < emas.length. */
export interface EmaUpdates {
  readonly emas: ReadonlyArray<Tensor1D>
  readonly decay: number
}

/**
 * d = g₀ + Σ_{k≥1} λ_k·π_{span(r₀..r_{k−1})}(g_k) for `references.length` ≥ `g.length` − 1, and
 * the updated EMAs when `ema` is given. Allocates only the returned tensors.
 */
export const projectedCombination = (
  g: ReadonlyArray<Tensor1D>,
  references: ReadonlyArray<Tensor1D>,
  lambdas: ReadonlyArray<number>,
  ema?: EmaUpdates,
  spanTolerance: number = defaultSpanTolerance,
): readonly [Tensor1D, ReadonlyArray<Tensor1D>] => {
  const levels = g.length
  const m = levels - 1 // references used
  const emaCount = ema?.emas.length ?? 0
  const host = hostKernel([...g, ...references.slice(0, m), ...(ema?.emas ?? [])], 1 + emaCount, (inputs, outputs) =>
    fusedSweeps(inputs, outputs, levels, m, emaCount, lambdas, ema?.decay ?? 0, spanTolerance),
  )
  return host !== undefined ? [host[0]!, host.slice(1)] : projectedCombinationWithTensorOps(g, references, lambdas, ema, spanTolerance)
}

/** R (the references' Gram matrix, m×m) and P (P_kj = ⟨g_k, r_j⟩ for k ≥ 1, j < k; levels×m), in float64. */
const innerProductsOf = (gs: ReadonlyArray<Float32Array>, rs: ReadonlyArray<Float32Array>): { readonly R: Float64Array; readonly P: Float64Array } => {
  const levels = gs.length
  const m = rs.length
  const R = new Float64Array(m * m)
  const P = new Float64Array(levels * m)
  if (m === 1) {
    // The two-level case (Bloop proper): ‖r₀‖² and ⟨g₁, r₀⟩ in one sweep.
    const [rr, gr] = dotPair(rs[0]!, rs[0]!, gs[1]!)
    R[0] = rr
    P[m] = gr
  } else if (m > 1) {
    R.set(gramMatrix64(rs))
    for (let k = 1; k < levels; k++) P.set(innerProducts(gs[k]!, rs.slice(0, k)), k * m)
  }
  return { R, P }
}

/**
 * The coefficients of d = g₀ + Σ_{k≥1} λ_k·π_{span(r₀..r_{k−1})}(g_k) on the g's (λ_k, 1 for g₀)
 * and on the r's, from R and P (see {@link innerProductsOf}) by Gram–Schmidt in coefficient space:
 * q_i = Σ_a Q_ia r_a, orthogonal, q_i = 0 when r_i is not resolved (module comment).
 */
export const projectionCoefficients = (
  R: Float64Array,
  P: Float64Array,
  lambdas: ReadonlyArray<number>,
  options: { readonly levels: number; readonly length: number; readonly spanTolerance: number },
): { readonly gCoefficients: Float64Array; readonly rCoefficients: Float64Array } => {
  const { levels, length, spanTolerance } = options
  const m = levels - 1
  const gCoefficients = Float64Array.from({ length: levels }, (_, k) => (k === 0 ? 1 : lambdas[k]!))
  const rCoefficients = new Float64Array(Math.max(m, 0))
  if (m <= 0) return { gCoefficients, rCoefficients }
  const epsilon = innerProductResolution(length)
  const Q = new Float64Array(m * m)
  const qq = new Float64Array(m)
  const innerQR = (i: number, j: number) => {
    let s = 0
    for (let a = 0; a <= i; a++) s += Q[i * m + a]! * R[a * m + j]!
    return s
  }
  for (let i = 0; i < m; i++) {
    Q[i * m + i] = 1
    for (let p = 0; p < i; p++) {
      if (qq[p] === 0) continue
      // ⟨r_i, q_p⟩ = Σ_a Q_pa ⟨r_a, r_i⟩
      const coefficient = innerQR(p, i) / qq[p]!
      for (let a = 0; a <= p; a++) Q[i * m + a] = Q[i * m + a]! - coefficient * Q[p * m + a]!
    }
    let norm = 0
    let spread = 0 // Σ_a |Q_ia|·‖r_a‖
    for (let a = 0; a <= i; a++) {
      spread += Math.abs(Q[i * m + a]!) * Math.sqrt(Math.max(R[a * m + a]!, 0))
      for (let b = 0; b <= i; b++) norm += Q[i * m + a]! * Q[i * m + b]! * R[a * m + b]!
    }
    const keep = norm > 0 && norm > spanTolerance ** 2 * R[i * m + i]! && norm > 4 * epsilon * spread * spread
    if (keep) qq[i] = norm
    else for (let a = 0; a <= i; a++) Q[i * m + a] = 0
  }
  // λ_k·π(g_k) = λ_k·g_k − λ_k Σ_{i<k} (⟨g_k, q_i⟩/‖q_i‖²)·q_i
  for (let k = 1; k < levels; k++) {
    for (let i = 0; i < k; i++) {
      if (qq[i] === 0) continue
      let gq = 0
      for (let a = 0; a <= i; a++) gq += Q[i * m + a]! * P[k * m + a]!
      const c = (gCoefficients[k]! * gq) / qq[i]!
      for (let a = 0; a <= i; a++) rCoefficients[a] = rCoefficients[a]! - c * Q[i * m + a]!
    }
  }
  return { gCoefficients, rCoefficients }
}

/**
 * The same combination for backends without host access (tfjs-node, WebGL): the inner products
 * from one read of the vectors (float64, the same sweeps and coefficients as the host path, so
 * both decide the same references), then d as tensor operations (float32: it differs from the
 * host's d by at most γ_{L+m+1}·(Σ|c_g|‖g‖ + Σ|c_r|‖r‖), the coefficients' mass).
 */
/** Above this a float64 coefficient is split before it meets float32 (whose largest is ~2¹²⁸). */
const float32SafeCoefficient = 2 ** 100

/**
 * c·v in float32 for a float64 c of any size. A reference of subnormal size (1.4e-45, seed
 * 402291949 of the soak) has projection coefficients ⟨g, r⟩/‖r‖² near 1e45, beyond float32: c
 * rounded to ∞ made ∞·0 = NaN in the zero entries. Split as (v·2ᵉ)·(c·2⁻ᵉ): the power of two
 * scales exactly (v is small when c is large), and the product rounds once, as c·v would.
 */
const scaledInFloat32 = (v: Tensor1D, c: number): Tensor1D => {
  if (!(Math.abs(c) > float32SafeCoefficient) || !Number.isFinite(c)) return tf.mul(v, c)
  const e = Math.ceil(Math.log2(Math.abs(c)) / 2)
  return tf.mul(tf.mul(v, 2 ** e), c * 2 ** -e)
}

export const projectedCombinationWithTensorOps = (
  g: ReadonlyArray<Tensor1D>,
  references: ReadonlyArray<Tensor1D>,
  lambdas: ReadonlyArray<number>,
  ema?: EmaUpdates,
  spanTolerance: number = defaultSpanTolerance,
): readonly [Tensor1D, ReadonlyArray<Tensor1D>] => {
  const levels = g.length
  const m = levels - 1
  const rs = references.slice(0, m)
  const read = (v: Tensor1D) => v.dataSync() as Float32Array
  const { R, P } = m > 0 ? innerProductsOf(g.map(read), rs.map(read)) : { R: new Float64Array(0), P: new Float64Array(0) }
  const { gCoefficients, rCoefficients } = projectionCoefficients(R, P, lambdas, { levels, length: g[0]?.shape[0] ?? 0, spanTolerance })
  return tf.tidy(() => {
    const terms = [
      ...g.map((gk, k) => (gCoefficients[k] === 1 ? gk : scaledInFloat32(gk, gCoefficients[k]!))),
      ...rs.flatMap((r, a) => (rCoefficients[a] === 0 ? [] : [scaledInFloat32(r, rCoefficients[a]!)])),
    ]
    const direction = (terms.length === 1 ? tf.clone(terms[0]!) : tf.addN(terms)) as Tensor1D
    const emas = (ema?.emas ?? []).map((e, k) => emaUpdate(e, g[k]!, ema!.decay))
    return [direction, emas] as const
  })
}

/** inputs = [g₀..g_{L−1}, r₀..r_{m−1}, e₀..e_{E−1}]; outputs = [d, e₀'..e_{E−1}']. */
const fusedSweeps = (
  inputs: ReadonlyArray<Float32Array>,
  outputs: ReadonlyArray<Float32Array>,
  levels: number,
  m: number,
  emaCount: number,
  lambdas: ReadonlyArray<number>,
  decay: number,
  spanTolerance: number,
): void => {
  const gs = inputs.slice(0, levels)
  const rs = inputs.slice(levels, levels + m)
  const es = inputs.slice(levels + m)

  // Sweep 1 (inner products), then the coefficients of d on each g_k and r_j.
  const { R, P } = innerProductsOf(gs, rs)
  const { gCoefficients: gCoefficient, rCoefficients: rCoefficient } = projectionCoefficients(R, P, lambdas, {
    levels,
    length: gs[0]?.length ?? 0,
    spanTolerance,
  })

  // Sweep 2: d and the EMAs.
  const d = outputs[0]!
  let emasDone = 0
  if (levels === 2 && m === 1) {
    const [g0, g1] = gs as [Float32Array, Float32Array]
    if (emaCount >= 1) {
      bloopSweep(d, outputs[1]!, g0, g1, rs[0]!, es[0]!, gCoefficient[1]!, rCoefficient[0]!, decay, 1 - decay)
      emasDone = 1
    } else {
      combine3(d, 1, g0, gCoefficient[1]!, g1, rCoefficient[0]!, rs[0]!)
    }
  } else {
    combineMany(d, [...gCoefficient, ...rCoefficient], [...gs, ...rs])
  }
  for (let k = emasDone; k < emaCount; k++) combine2(outputs[1 + k]!, decay, es[k]!, 1 - decay, gs[k]!)
}
