/**
 * A check that a backend's synchronous read-back (`dataSync`) returns the values it computed.
 * scalpel reads losses, finiteness checks and the rules' small decisions synchronously at every
 * step, so a backend whose synchronous reads are wrong would train on zeros and fail with a
 * misleading message. One such backend exists: tfjs-backend-webgpu 4.22 on SwiftShader's software
 * adapter (headless Chromium with `--enable-unsafe-webgpu`) returns zeros from `dataSync` after the
 * first read (its asynchronous `data()` is right).
 */
import { tf } from "./tf.ts"

/** Small kernels with exact float32 results (also exact in float16, for GPU textures). */
const probes: ReadonlyArray<{ readonly name: string; readonly run: (x: tf.Tensor1D) => tf.Tensor; readonly expected: ReadonlyArray<number> }> = [
  { name: "x + 1", run: (x) => tf.add(x, 1), expected: [2, -1, 4.5, 5] },
  { name: "x · x", run: (x) => tf.mul(x, x), expected: [1, 4, 12.25, 16] },
  { name: "sum(x)", run: (x) => tf.sum(x), expected: [6.5] },
  { name: "x·xᵀ", run: (x) => tf.matMul(tf.reshape(x, [1, 4]), tf.reshape(x, [4, 1])), expected: [33.25] },
]

/**
 * Compute each probe on the active backend and read it with `read` (by default `dataSync`); the
 * first wrong read described ("sum(x): got [0], expected [6.5]"), or undefined when all are right.
 * A read that throws counts as wrong.
 */
export const synchronousReadbackProblem = (read: (t: tf.Tensor) => ArrayLike<number> = (t) => t.dataSync()): string | undefined => {
  const x = tf.tensor1d([1, -2, 3.5, 4])
  try {
    for (const probe of probes) {
      const result = tf.tidy(() => probe.run(x))
      let got: ReadonlyArray<number>
      try {
        got = Array.from(read(result))
      } catch (error) {
        return `${probe.name}: reading it failed (${error instanceof Error ? error.message.split("\n")[0] : String(error)})`
      } finally {
        result.dispose()
      }
      const wrong = got.length !== probe.expected.length || got.some((v, i) => !(Math.abs(v - probe.expected[i]!) <= 1e-3 * Math.abs(probe.expected[i]!)))
      if (wrong) return `${probe.name}: got [${got.join(", ")}], expected [${probe.expected.join(", ")}]`
    }
    return undefined
  } finally {
    x.dispose()
  }
}
