/**
 * A small check of the matrix products of the page's backend (the browser test reads it): for
 * every transpose layout, op(A)·op(B) of awkward sizes against a float64 product, as the worst
 * ratio of the error to the bound γₖ·(|op(A)|·|op(B)|) (at most 1 when the kernel is exact), with
 * the kernel that ran (`matMulKernelVariant()`): scalpel's packed one on the single-threaded wasm build.
 */
import { matMulKernelVariant, tf, type MatMulKernelVariant } from "scalpel"

export interface ProductCheck {
  readonly kernel: MatMulKernelVariant
  /** max over entries and layouts of |ŷ − y| / (γₖ·(|op(A)|·|op(B)|)). */
  readonly worstRatio: number
}

export const checkProducts = (): ProductCheck => {
  const [m, k, n] = [23, 37, 19]
  const gamma = (k * 2 ** -24) / (1 - k * 2 ** -24)
  const a = Float32Array.from({ length: m * k }, (_, i) => Math.sin(i + 1))
  const b = Float32Array.from({ length: k * n }, (_, i) => Math.cos(3 * i + 2))
  let worstRatio = 0
  for (const transposeA of [false, true]) {
    for (const transposeB of [false, true]) {
      const got = tf.tidy(() => tf.matMul(tf.tensor(a, transposeA ? [k, m] : [m, k]), tf.tensor(b, transposeB ? [n, k] : [k, n]), transposeA, transposeB).dataSync())
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let exact = 0
          let magnitude = 0
          for (let p = 0; p < k; p++) {
            const term = a[transposeA ? p * m + i : i * k + p]! * b[transposeB ? j * k + p : p * n + j]!
            exact += term
            magnitude += Math.abs(term)
          }
          worstRatio = Math.max(worstRatio, Math.abs(got[i * n + j]! - exact) / (gamma * magnitude))
        }
      }
    }
  }
  return { kernel: matMulKernelVariant(), worstRatio }
}
