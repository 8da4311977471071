/**
 * The vector algebra update rules need, on flat `Tensor1D` vectors (see {@link ./paramVector.ts}).
 *
 * Every function is pure: it allocates only the tensor it returns (intermediates are released with
 * `tf.tidy`) and never disposes its arguments. Scalars that stay on the device are returned as
 * `tf.Scalar` so that a rule can chain them without a device-to-host synchronisation.
 */
import { hostKernel } from "./hostKernels.ts"
import { combineMany } from "./hostSweeps.ts"
import { tf, type Scalar, type Tensor1D } from "./tf.ts"

/** A coefficient: a JavaScript number or a scalar tensor already on the device. */
export type Coefficient = number | Scalar

/** ⟨a, b⟩, global across the whole vector. */
export const dot = (a: Tensor1D, b: Tensor1D): Scalar => tf.tidy(() => tf.sum(tf.mul(a, b)))

/** ‖a‖². */
export const squaredNorm = (a: Tensor1D): Scalar => tf.tidy(() => tf.sum(tf.square(a)))

/** s·a. */
export const scale = (a: Tensor1D, s: Coefficient): Tensor1D => tf.tidy(() => tf.mul(a, s))

/** α·x + y (BLAS `axpy`). */
export const axpy = (alpha: Coefficient, x: Tensor1D, y: Tensor1D): Tensor1D => tf.tidy(() => tf.add(tf.mul(x, alpha), y))

/** a + b. */
export const add = (a: Tensor1D, b: Tensor1D): Tensor1D => tf.add(a, b)

/**
 * Σᵢ wᵢ·vᵢ; an empty sum is not defined (no layout to take the size from). Two or more terms with
 * number coefficients take one fused sweep on the host (float64, rounded once; see `hostSweeps.ts`).
 */
export const linearCombination = (terms: ReadonlyArray<readonly [Coefficient, Tensor1D]>): Tensor1D =>
  tf.tidy(() => {
    if (terms.length === 0) throw new RangeError("linearCombination: no terms")
    const weights = terms.map(([w]) => w)
    if (terms.length >= 2 && weights.every((w): w is number => typeof w === "number")) {
      const fused = linearCombinationOnHost(
        terms.map(([, v]) => v),
        weights,
      )
      if (fused !== undefined) return fused
    }
    const scaled = terms.map(([w, v]) => (w === 1 ? v : tf.mul(v, w)))
    // One term of weight 1: a new handle on the same data (reshape shares it, reference-counted),
    // where `tf.clone` would copy the whole vector on the wasm backend.
    return (scaled.length === 1 ? tf.reshape(scaled[0]!, [-1]) : tf.addN(scaled)) as Tensor1D
  })

/** Σᵢ wᵢ·vᵢ for number weights in one host sweep (float64, rounded once); `undefined` off the host. */
export const linearCombinationOnHost = (vectors: ReadonlyArray<Tensor1D>, weights: ArrayLike<number>): Tensor1D | undefined =>
  hostKernel(vectors, 1, (views, [out]) => combineMany(out!, weights, views))?.[0]

/** max |aᵢ| (the ∞-norm). */
export const maxAbs = (a: Tensor1D): Scalar => tf.tidy(() => tf.max(tf.abs(a)))

/**
 * Removes from `v` the part along `u`, times `keep(⟨v,u⟩)`; shared by the projections below.
 *
 * Guard for tiny and huge vectors: the result is invariant to scaling u (π(v, s·u) = π(v, u) for
 * s ≠ 0) and linear in v, so we compute with û = u/‖u‖∞ and v̂ = v/‖v‖∞, whose entries are at most
 * 1 in magnitude and whose squared norms lie in [1, n]. ‖u‖² then cannot underflow to 0 (u with
 * entries 1e-30 would give 1e-60 in float32) nor overflow to ∞. Only u = 0 exactly (‖u‖∞ = 0) is
 * "no direction": v is returned unchanged. No branch reads a value back to the host.
 */
const removeComponent = (v: Tensor1D, u: Tensor1D, onlyConflict: boolean): Tensor1D =>
  tf.tidy(() => {
    const uMax = tf.max(tf.abs(u))
    const vMax = tf.max(tf.abs(v))
    const uHat = tf.div(u, tf.where(tf.greater(uMax, 0), uMax, tf.onesLike(uMax)))
    const vScale = tf.where(tf.greater(vMax, 0), vMax, tf.onesLike(vMax))
    const uu = tf.sum(tf.square(uHat))
    const vuRaw = tf.sum(tf.mul(tf.div(v, vScale), uHat))
    const vu = onlyConflict ? tf.minimum(vuRaw, 0) : vuRaw
    // uu = 0 exactly when u = 0; then the coefficient is 0 and v is returned unchanged.
    const coefficient = tf.div(vu, tf.where(tf.greater(uu, 0), uu, tf.onesLike(uu)))
    return tf.sub(v, tf.mul(uHat, tf.mul(coefficient, vScale))) as Tensor1D
  })

/**
 * Orthogonal projection of `v` onto the complement of `u`:
 * π(v, u) = v − (⟨v,u⟩/‖u‖²)·u, and π(v, 0) = v. See `removeComponent` for the tiny/huge guard.
 */
export const projectOrthogonal = (v: Tensor1D, u: Tensor1D): Tensor1D => removeComponent(v, u, false)

/**
 * PCGrad's surgery (Yu et al. 2020, Alg. 1): if ⟨v,u⟩ < 0, project v onto the normal plane of u;
 * otherwise return v. Computed without a branch: v − (min(⟨v,u⟩, 0)/‖u‖²)·u.
 */
export const projectIfConflicting = (v: Tensor1D, u: Tensor1D): Tensor1D => removeComponent(v, u, true)

/**
 * Relative threshold under which a Gram–Schmidt residual counts as zero: a direction whose part
 * outside the span of the previous ones is below 1e-4 of its own norm (well above float32 rounding
 * of a projection, ~√n·2⁻²⁴ relative) adds no new direction; keeping it would amplify rounding noise.
 */
export const gramSchmidtTolerance = 1e-4

/**
 * Modified Gram–Schmidt: an orthogonal (not normalised) basis of span(vectors), in order. A vector
 * already (numerically) in the span of its predecessors yields a zero vector at its position, so
 * positions keep matching the input.
 */
export const orthogonalBasis = (vectors: ReadonlyArray<Tensor1D>): ReadonlyArray<Tensor1D> => {
  const basis: Array<Tensor1D> = []
  for (const v of vectors) {
    basis.push(
      tf.tidy(() => {
        const residual = projectOutSpan(v, basis)
        const keep = tf.greater(
          tf.sum(tf.square(tf.div(residual, tf.add(tf.max(tf.abs(v)), 1e-30)))),
          tf.mul(tf.sum(tf.square(tf.div(v, tf.add(tf.max(tf.abs(v)), 1e-30)))), gramSchmidtTolerance ** 2),
        )
        return tf.mul(residual, tf.cast(keep, "float32")) as Tensor1D
      }),
    )
  }
  return basis
}

/**
 * Project `v` onto the orthogonal complement of span(basis), for an orthogonal basis (as returned
 * by {@link orthogonalBasis}; zero vectors are skipped by π's guard).
 */
export const projectOutSpan = (v: Tensor1D, basis: ReadonlyArray<Tensor1D>): Tensor1D =>
  tf.tidy(() => basis.reduce<Tensor1D>((acc, q) => projectOrthogonal(acc, q), tf.clone(v)))

/**
 * Exponential moving average with decay δ: ema ← δ·ema + (1 − δ)·x.
 * A constant input c is a fixed point, and the distance to it shrinks by exactly δ each step:
 * ema' − c = δ·(ema − c). (The Bloop paper writes the same update with ρ = 1 − δ, the weight of
 * the new value: ĝ ← (1 − ρ)·ĝ + ρ·g.)
 */
export const emaUpdate = (ema: Tensor1D, x: Tensor1D, decay: number): Tensor1D =>
  tf.tidy(() => tf.add(tf.mul(ema, decay), tf.mul(x, 1 - decay)) as Tensor1D)

/** True when every entry is finite (one reduction, one device read). */
export const allFinite = (a: Tensor1D): boolean =>
  tf.tidy(() => {
    // Σ 0·aᵢ is 0 for finite entries and NaN as soon as one entry is NaN or ±∞.
    const probe = tf.sum(tf.mul(a, 0))
    return Number.isFinite(probe.dataSync()[0])
  })
