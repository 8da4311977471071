/**
 * The Gram matrix of a few flat vectors, read once from the device, and the weighted combination
 * that brings host-side weights back to a direction. Multi-objective rules (MGDA, CAGrad, IMTL-G,
 * UPGrad) all work this way: their weights solve a k×k problem on G = J·Jᵀ (J has the k task
 * gradients as rows; see `smallQp.ts`), and d = Jᵀα.
 */
import { hostKernel } from "./hostKernels.ts"
import { gramMatrix64, innerProductResolution } from "./hostSweeps.ts"
import { symmetricFrom, type SymmetricMatrix } from "./smallQp.ts"
import { tf, type Tensor1D } from "./tf.ts"
import { linearCombinationOnHost } from "./vector.ts"

/** G normalised to a largest diagonal entry of 1, and the factor it was divided by. */
export interface NormalisedGram {
  readonly gram: SymmetricMatrix
  /** max ‖gᵢ‖², 0 when every vector is zero. */
  readonly scale: number
  /**
   * Bound ε on the rounding error of each entry relative to the two vectors' norms:
   * |G̃ᵢⱼ − Gᵢⱼ| ≤ ε·Σₗ|gᵢₗgⱼₗ| ≤ ε·‖gᵢ‖‖gⱼ‖ (after the common normalisation). G is accumulated in
   * float64 from the float32 entries, in blocks ({@link innerProductResolution}): ε ≈ 2⁻⁵³·(b + n/b),
   * 4.5e-13 at n = 10⁶, 6.8e-13 at n = 2²³. The bound is per pair of tasks, so it stays meaningful
   * when task norms differ by many orders of magnitude: a rule deciding ranks or zeros on G must do
   * so on G normalised by the task norms (`correlationForm` in `smallQp.ts`), never relative to
   * the largest entry alone.
   */
  readonly resolution: number
}

/**
 * G_ij = ⟨gᵢ, gⱼ⟩ / maxₖ‖gₖ‖², accumulated in float64 from the float32 entries (whose products and
 * sums neither underflow nor overflow there: squares of float32 numbers lie in [2e-90, 1.2e77]),
 * in ⌈k/2⌉·k sweeps. On backends without host access (tfjs-node, WebGL) the k vectors are read once
 * and the same float64 sweeps run on the copies: a float32 product on the device cannot resolve
 * cosines within 2⁻²⁴ of ±1 nor norms 10⁴ apart (its entries err by γₙ·‖gᵢ‖‖gⱼ‖ in float32, 0.5 at
 * n = 2²³), and every rule's answer then depends on the backend. Costs one read of k·n floats.
 */
export const normalisedGram = (vectors: ReadonlyArray<Tensor1D>): NormalisedGram => {
  const k = vectors.length
  const n = vectors[0]?.shape[0] ?? 0
  let exact: Float64Array | undefined
  hostKernel(vectors, 0, (views) => (exact = gramMatrix64(views)))
  const G = exact ?? gramMatrix64(vectors.map((v) => v.dataSync() as Float32Array))
  let largest = 0
  for (let i = 0; i < k; i++) largest = Math.max(largest, G[i * k + i]!)
  const divisor = largest > 0 ? largest : 1
  return { gram: symmetricFrom(k, (i, j) => G[i * k + j]! / divisor), scale: largest, resolution: innerProductResolution(n) }
}

/**
 * The weights with those of zero vectors (Gᵢᵢ = 0) set to 0. A zero gradient's weight does not
 * change d, and a rule's solve may leave it at any value (CAGrad's dual-cone projection returned
 * 6.6e58 beside two conflicting tasks): float64 on the host gives 6.6e58·0 = 0, but the tensor-op
 * path rounds the weights to float32, where the value overflows to ∞ and ∞·0 is NaN.
 */
export const zeroWeightsOfZeroVectors = (gram: SymmetricMatrix, weights: ArrayLike<number>): Float64Array =>
  Float64Array.from({ length: gram.size }, (_, i) => (gram.values[i * gram.size + i] === 0 ? 0 : weights[i]!))

/** d = Σᵢ αᵢ·gᵢ for host-side weights α (on the host: float64, rounded once). */
export const combine = (vectors: ReadonlyArray<Tensor1D>, weights: ArrayLike<number>): Tensor1D =>
  linearCombinationOnHost(vectors, weights) ??
  tf.tidy(() => {
    const stacked = tf.stack(vectors as Array<Tensor1D>) as tf.Tensor2D
    const w = tf.tensor2d(Float32Array.from(weights), [1, vectors.length])
    return tf.reshape(tf.matMul(w, stacked), [stacked.shape[1]]) as Tensor1D
  })
