/**
 * Fast sums over leading axes on the wasm backend: the bias gradients of every dense layer.
 *
 * The gradient of `x·W + b` with respect to b sums dy over the batch axis (`tf.sum(dy, 0)`).
 * tfjs-backend-wasm 4.22's `Sum` reduces innermost axes only: for axis 0 it first transposes the
 * whole input, then sums each (now contiguous) column; on a 256×1024 gradient that took 3.5 ms,
 * where one pass over the rows takes a fraction of a millisecond. The wrapped kernel handles sums
 * over a prefix of the axes (axis 0, or 0 and 1, ...) of a float32 tensor by accumulating the rows
 * in order into a float32 accumulator: each output is the same sequence of float32 additions as
 * tfjs's kernel (a sequential sum from +0 over the reduced elements in row-major order), so the
 * result is bit-for-bit tfjs's. Every other sum goes to tfjs's kernel.
 */
import { tf } from "./tf.ts"
import { type Info, isWasmHeapBackend, type KernelFunc, wasmKernelWrapping } from "./wasmKernelWrap.ts"


const product = (dims: ReadonlyArray<number>): number => dims.reduce((a, b) => a * b, 1)

/** Σ over the leading `count` axes of x, or undefined to defer to tfjs's kernel. */
const sumLeadingAxes = (backend: unknown, x: Info, axes: ReadonlyArray<number>, keepDims: boolean): Info | undefined => {
  if (!isWasmHeapBackend(backend) || x.dtype !== "float32") return undefined
  const sorted = [...axes].sort((a, b) => a - b)
  // A prefix 0, 1, ..., c − 1 that leaves at least one axis (all axes: tfjs's kernel is contiguous already).
  if (sorted.length === 0 || sorted.length >= x.shape.length || !sorted.every((a, i) => a === i)) return undefined
  const rows = product(x.shape.slice(0, sorted.length))
  const width = product(x.shape.slice(sorted.length))
  const shape = keepDims ? x.shape.map((d, i) => (i < sorted.length ? 1 : d)) : x.shape.slice(sorted.length)
  const out = backend.makeOutput(shape, "float32")
  // Views are taken after makeOutput: growing the heap there would detach earlier views.
  const target = backend.typedArrayFromHeap(out) as Float32Array
  const source = backend.typedArrayFromHeap(x) as Float32Array
  // The accumulator is float32 (each store rounds), like the kernel's `float sum`; a float64 sum of
  // two float32 values rounded to float32 is the float32 sum (double rounding is harmless for +).
  target.fill(0)
  for (let r = 0; r < rows; r++) {
    const offset = r * width
    for (let j = 0; j < width; j++) target[j] = target[j]! + source[offset + j]!
  }
  return out
}

const fastSum =
  (original: KernelFunc): KernelFunc =>
  (args) => {
    const x = (args.inputs as { x?: Info }).x
    if (x === undefined || x.shape.length === 0) return original(args)
    const axes = tf.util.parseAxisParam(args.attrs?.["axis"] as number | Array<number>, x.shape)
    return sumLeadingAxes(args.backend, x, axes, args.attrs?.["keepDims"] === true) ?? original(args)
  }

const wrapping = wasmKernelWrapping({ Sum: fastSum })

/**
 * Wrap `Sum` of the wasm backend (no-op for other backends). Idempotent; {@link uninstallFastSum}
 * restores tfjs's kernel.
 */
export const installFastSum = (backend: string = tf.getBackend()): boolean => wrapping.install(backend)

/** Restore tfjs's own `Sum` kernel. */
export const uninstallFastSum = (): void => wrapping.uninstall()

/** True when the wasm sum is wrapped. */
export const isFastSumInstalled = (backend: string = tf.getBackend()): boolean => wrapping.isInstalled(backend)
