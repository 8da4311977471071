/**
 * The combination step of priority rules (Bloop and its n-level generalisation), fused:
 *
 *   d = g₀ + Σ_{k≥1} λ_k · π_{span(r₀..r_{k−1})}(g_k),        e_k' = δ·e_k + (1 − δ)·g_k,
 *
 * with π_S(v) the projection of v onto the orthogonal complement of S (Hsieh et al. 2024, Eq. 5,
 * and `interpreters/bloop.ts` for n levels) and e_k the optional EMAs.
 *
 * Everything the projections need is inner products, so the host path makes two sweeps over
 * memory: one accumulates, in float64, the Gram matrix of the references and the products
 * ⟨g_k, r_j⟩; Gram–Schmidt then runs on those k×k numbers in float64 (an orthogonal basis
 * q_i = Σ_j Q_ij·r_j of the references, a reference dropped when its residual is below
 * {@link gramSchmidtTolerance} of its norm, as in `vector.ts`); the second sweep writes d (and the
 * new EMAs) as one linear combination of the g's and r's. Float64 accumulation also removes the
 * need for the max-abs rescaling of the tensor path: float32 entries as small as 1e-45 or as large
 * as 3e38 have squares and sums well inside float64's range.
 *
 * Backends without host access (tfjs-node, WebGL) use the tensor operations of `vector.ts`.
 */
import { hostKernel } from "./hostKernels.ts"
import { bloopSweep, combine2, combine3, combineMany, dotPair, gramMatrix64, innerProducts } from "./hostSweeps.ts"
import { tf, type Tensor1D } from "./tf.ts"
import { emaUpdate, gramSchmidtTolerance, orthogonalBasis, projectOutSpan } from "./vector.ts"

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
): readonly [Tensor1D, ReadonlyArray<Tensor1D>] => {
  const levels = g.length
  const m = levels - 1 // references used
  const emaCount = ema?.emas.length ?? 0
  const host = hostKernel([...g, ...references.slice(0, m), ...(ema?.emas ?? [])], 1 + emaCount, (inputs, outputs) =>
    fusedSweeps(inputs, outputs, levels, m, emaCount, lambdas, ema?.decay ?? 0),
  )
  return host !== undefined ? [host[0]!, host.slice(1)] : projectedCombinationWithTensorOps(g, references, lambdas, ema)
}

/**
 * The same combination with tfjs operations (max-abs-guarded projections of `vector.ts`), for
 * backends without host access, and as the reference the fused path is benchmarked against.
 */
export const projectedCombinationWithTensorOps = (
  g: ReadonlyArray<Tensor1D>,
  references: ReadonlyArray<Tensor1D>,
  lambdas: ReadonlyArray<number>,
  ema?: EmaUpdates,
): readonly [Tensor1D, ReadonlyArray<Tensor1D>] => {
  const m = g.length - 1
  return tf.tidy(() => {
    const basis = orthogonalBasis(references.slice(0, m))
    const terms = g.map((gk, k) => (k === 0 ? gk : tf.mul(projectOutSpan(gk, basis.slice(0, k)), lambdas[k]!)))
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
): void => {
  const gs = inputs.slice(0, levels)
  const rs = inputs.slice(levels, levels + m)
  const es = inputs.slice(levels + m)

  // Coefficients of d on each g_k (λ_k, 1 for g₀) and on each r_j (from the projections).
  const gCoefficient = gs.map((_, k) => (k === 0 ? 1 : lambdas[k]!))
  const rCoefficient = new Float64Array(m)
  if (m > 0) {
    // Sweep 1: R_ij = ⟨r_i, r_j⟩ and P_kj = ⟨g_k, r_j⟩ (k ≥ 1, j < k), in float64.
    const R = new Float64Array(m * m)
    const P = new Float64Array(levels * m)
    if (m === 1) {
      // The two-level case (Bloop proper): ‖r₀‖² and ⟨g₁, r₀⟩ in one sweep.
      const [rr, gr] = dotPair(rs[0]!, rs[0]!, gs[1]!)
      R[0] = rr
      P[m] = gr
    } else {
      R.set(gramMatrix64(rs))
      for (let k = 1; k < levels; k++) P.set(innerProducts(gs[k]!, rs.slice(0, k)), k * m)
    }
    // Gram–Schmidt in coefficient space: q_i = Σ_j Q_ij r_j, orthogonal; q_i = 0 when dropped.
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
      for (let a = 0; a <= i; a++) for (let b = 0; b <= i; b++) norm += Q[i * m + a]! * Q[i * m + b]! * R[a * m + b]!
      const keep = norm > 0 && norm > R[i * m + i]! * gramSchmidtTolerance ** 2
      if (keep) qq[i] = norm
      else for (let a = 0; a <= i; a++) Q[i * m + a] = 0
    }
    // λ_k·π(g_k) = λ_k·g_k − λ_k Σ_{i<k} (⟨g_k, q_i⟩/‖q_i‖²)·q_i
    for (let k = 1; k < levels; k++) {
      for (let i = 0; i < k; i++) {
        if (qq[i] === 0) continue
        let gq = 0
        for (let a = 0; a <= i; a++) gq += Q[i * m + a]! * P[k * m + a]!
        const c = (gCoefficient[k]! * gq) / qq[i]!
        for (let a = 0; a <= i; a++) rCoefficient[a] = rCoefficient[a]! - c * Q[i * m + a]!
      }
    }
  }

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
