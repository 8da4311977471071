/**
 * The Gram matrix of a few flat vectors, read once from the device, and the weighted combination
 * that brings host-side weights back to a direction. Multi-objective rules (MGDA, CAGrad, IMTL-G,
 * UPGrad) all work this way: their weights solve a k×k problem on G = J·Jᵀ (J has the k task
 * gradients as rows; see `smallQp.ts`), and d = Jᵀα.
 */
import { hostKernel } from "./hostKernels.ts"
import { gramMatrix64 } from "./hostSweeps.ts"
import { symmetricFrom, type SymmetricMatrix } from "./smallQp.ts"
import { tf, type Tensor1D } from "./tf.ts"
import { linearCombinationOnHost } from "./vector.ts"

/** G normalised to a largest diagonal entry of 1, and the factor it was divided by. */
export interface NormalisedGram {
  readonly gram: SymmetricMatrix
  /** max ‖gᵢ‖², 0 when every vector is zero. */
  readonly scale: number
  /**
   * Bound on the rounding error of each entry of `gram` (relative to its unit diagonal scale):
   * (n + 4)·2⁻²⁴ for vectors of length n (an n-term float32 inner product after one division,
   * Higham eq. 3.5). Differences below it carry no information.
   */
  readonly resolution: number
}

/**
 * G_ij = ⟨gᵢ, gⱼ⟩ / maxₖ‖gₖ‖², computed on vectors pre-divided by their common max-abs entry so that
 * entries of 1e-30 (whose squares underflow float32) or 1e30 (which overflow) still give a
 * meaningful G. The rules using it only need G up to a positive factor. One device read.
 */
export const normalisedGram = (vectors: ReadonlyArray<Tensor1D>): NormalisedGram => {
  const k = vectors.length
  const n = vectors[0]?.shape[0] ?? 0
  const resolution = (n + 4) * 2 ** -24
  // On the host backends: G in float64 straight from the float32 entries (their squares neither
  // underflow nor overflow there), in ⌈k/2⌉·k sweeps, with no stacked copy of the vectors.
  let exact: Float64Array | undefined
  hostKernel(vectors, 0, (views) => (exact = gramMatrix64(views)))
  if (exact !== undefined) {
    const G = exact
    let largest = 0
    for (let i = 0; i < k; i++) largest = Math.max(largest, G[i * k + i]!)
    const divisor = largest > 0 ? largest : 1
    return { gram: symmetricFrom(k, (i, j) => G[i * k + j]! / divisor), scale: largest, resolution }
  }
  const values = tf.tidy(() => {
    const stacked = tf.stack(vectors as Array<Tensor1D>) as tf.Tensor2D
    const largest = tf.max(tf.abs(stacked))
    const safe = tf.where(tf.greater(largest, 0), largest, tf.onesLike(largest))
    const scaled = tf.div(stacked, safe)
    return tf.concat([tf.reshape(tf.matMul(scaled, scaled, false, true), [k * k]), tf.reshape(safe, [1])]).dataSync()
  })
  const unit = values[k * k]! // the common max-abs entry; squared in float64 below, where 1e-60 is fine
  let maxDiagonal = 0
  for (let i = 0; i < k; i++) maxDiagonal = Math.max(maxDiagonal, values[i * k + i]!)
  const divisor = maxDiagonal > 0 ? maxDiagonal : 1
  // Symmetrise: matMul's two triangles can differ in the last bit.
  const gram = symmetricFrom(k, (i, j) => (values[i * k + j]! + values[j * k + i]!) / (2 * divisor))
  return { gram, scale: maxDiagonal * unit * unit, resolution }
}

/** d = Σᵢ αᵢ·gᵢ for host-side weights α (on the host: float64, rounded once). */
export const combine = (vectors: ReadonlyArray<Tensor1D>, weights: ArrayLike<number>): Tensor1D =>
  linearCombinationOnHost(vectors, weights) ??
  tf.tidy(() => {
    const stacked = tf.stack(vectors as Array<Tensor1D>) as tf.Tensor2D
    const w = tf.tensor2d(Float32Array.from(weights), [1, vectors.length])
    return tf.reshape(tf.matMul(w, stacked), [stacked.shape[1]]) as Tensor1D
  })
