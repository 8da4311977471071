/**
 * Gradients of `Sum` and `Mean` whose constant stays on the backend.
 *
 * tfjs-core 4.22 differentiates `sum(x)` and `mean(x)` as `dy · ones(x.shape)` (then `/ n` for the
 * mean), and builds that `ones` in JavaScript: a fresh typed array of x's size, filled, then copied
 * into the backend (`ENGINE.makeTensor`). On the wasm backend that costs a JavaScript allocation
 * and a copy per reduced tensor per step, and on a virtual machine whose page faults are slow the
 * fresh array is the expensive part: the gradient of an L2 prior over the 1.86M parameters of the
 * reference MLP takes 17.4 ms with tfjs-core's gradient and 6.0 ms with the ones made by the
 * backend's `Fill` kernel (`npm run bench -- phases`, docs/benchmarks.md).
 *
 * The registered gradients here are tfjs's, step for step (the same reshape of dy, the same `Mul`
 * by a float32 tensor of ones, the same `RealDiv` by the reduced size), with the ones made by
 * `tf.fill`: every input of every kernel holds the same values, so the gradients are bit for bit
 * tfjs's, on every backend. The gradient registry is global (not per backend), so installing them
 * changes every tfjs gradient of `Sum` and `Mean` in the process, to the same values.
 */
import { tf } from "./tf.ts"

type GradConfig = tf.GradConfig

/** dy reshaped with size-1 axes where x was reduced, times ones of x's shape made on the backend. */
const broadcastDy = (dy: tf.Tensor, x: tf.Tensor, axes: ReadonlyArray<number>): tf.Tensor => {
  const expanded = x.shape.slice()
  for (const axis of axes) expanded[axis] = 1
  return tf.mul(tf.reshape(dy, expanded), tf.fill(x.shape, 1, "float32"))
}

/**
 * The gradient of a reduction over `attrs.axis` of its saved input x: dy spread over x's shape
 * ({@link broadcastDy}), then `finish` with the number of entries reduced into each output.
 */
const reductionGradient = (kernelName: string, finish: (spread: tf.Tensor, reducedSize: number) => tf.Tensor): GradConfig => ({
  kernelName,
  inputsToSave: ["x"],
  gradFunc: (dy, saved, attrs) => {
    const [x] = saved as Array<tf.Tensor>
    const axes = tf.util.parseAxisParam((attrs as { axis: number | Array<number> }).axis, x!.shape)
    const reducedSize = axes.reduce((size, axis) => size * x!.shape[axis]!, 1)
    return { x: () => finish(broadcastDy(dy as tf.Tensor, x!, axes), reducedSize) }
  },
})

const sumGradient = reductionGradient("Sum", (spread) => spread)
const meanGradient = reductionGradient("Mean", (spread, reducedSize) => tf.div(spread, reducedSize))

const replacements: ReadonlyArray<GradConfig> = [sumGradient, meanGradient]
let originals: ReadonlyArray<GradConfig> | undefined

/**
 * Register the backend-resident gradients of `Sum` and `Mean` (idempotent). tfjs's own are kept
 * and {@link uninstallFastGradients} registers them again.
 */
export const installFastGradients = (): void => {
  if (originals !== undefined) return
  originals = replacements.flatMap((r) => {
    const original = tf.getGradient(r.kernelName)
    return original === undefined ? [] : [original]
  })
  for (const r of replacements) tf.registerGradient(r)
}

/** Register tfjs's own gradients of `Sum` and `Mean` again. */
export const uninstallFastGradients = (): void => {
  if (originals === undefined) return
  for (const original of originals) tf.registerGradient(original)
  originals = undefined
}

/** True while the backend-resident gradients are registered. */
export const areFastGradientsInstalled = (): boolean =>
  originals !== undefined && replacements.every((r) => tf.getGradient(r.kernelName)?.gradFunc === r.gradFunc)
