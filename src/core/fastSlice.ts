/**
 * Fast contiguous slices on the wasm backend.
 *
 * scalpel keeps every gradient as one flat vector and splits it back into variables once per step
 * (`unflatten`, `applyStep`). tfjs-backend-wasm 4.22 implements `Slice` (and `SplitV`, which calls
 * it once per piece) in JavaScript by first reading the *whole* input out of the wasm heap
 * (`readSync` copies it) and then copying the piece: splitting a 1.86M-entry vector into six
 * variables copies 6 × 7.4 MB instead of 7.4 MB, the largest part of the combine phase measured by
 * `npm run bench -- step`. A contiguous slice only needs the heap-to-heap copy of its own range,
 * which is what the wrapped kernels do; non-contiguous slices and strings go to tfjs's kernels.
 * The result is bit-for-bit the same (a copy of the same floats).
 */
import { tf } from "./tf.ts"
import { type Info, isWasmHeapBackend, type KernelFunc, wasmKernelWrapping } from "./wasmKernelWrap.ts"


/** Copy x[begin : begin + size] when it is one contiguous range of x's buffer; undefined otherwise. */
const contiguousSlice = (backend: unknown, x: Info, begin: ReadonlyArray<number>, size: ReadonlyArray<number>): Info | undefined => {
  if (x.dtype === "string" || !isWasmHeapBackend(backend)) return undefined
  const [begin_, size_] = tf.slice_util.parseSliceParams(x as tf.Tensor, [...begin], [...size]) as [Array<number>, Array<number>]
  if (!tf.slice_util.isSliceContinous(x.shape, begin_, size_)) return undefined
  const offset = tf.slice_util.computeFlatOffset(begin_, tf.util.computeStrides(x.shape))
  const out = backend.makeOutput(size_, x.dtype)
  // Views are taken after makeOutput: growing the heap there would detach earlier views.
  const target = backend.typedArrayFromHeap(out)
  const source = backend.typedArrayFromHeap(x)
  target.set(source.subarray(offset, offset + tf.util.sizeFromShape(size_)))
  return out
}

const fastSlice =
  (original: KernelFunc): KernelFunc =>
  (args) => {
    const x = (args.inputs as { x: Info }).x
    const begin = args.attrs?.["begin"] as ReadonlyArray<number> | number
    const size = args.attrs?.["size"] as ReadonlyArray<number> | number
    if (typeof begin === "number" || typeof size === "number") return original(args)
    return contiguousSlice(args.backend, x, begin, size) ?? original(args)
  }

const fastSplitV =
  (original: KernelFunc): KernelFunc =>
  (args) => {
    const x = (args.inputs as { x: Info }).x
    const axis = tf.util.parseAxisParam(args.attrs?.["axis"] as number, x.shape)[0]!
    const numOrSizeSplits = args.attrs?.["numOrSizeSplits"] as number | Array<number>
    const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, numOrSizeSplits, axis)
    const begin = x.shape.map(() => 0)
    const pieces: Array<Info> = []
    for (const s of sizes) {
      const size = x.shape.map((d, i) => (i === axis ? s : d))
      const piece = contiguousSlice(args.backend, x, begin, size)
      if (piece === undefined) {
        for (const p of pieces) (args.backend as tf.KernelBackend).disposeData(p.dataId)
        return original(args)
      }
      pieces.push(piece)
      begin[axis] = begin[axis]! + s
    }
    return pieces
  }

const wrapping = wasmKernelWrapping({ Slice: fastSlice, SplitV: fastSplitV })

/**
 * Wrap `Slice` and `SplitV` of the wasm backend (no-op for other backends, whose slices do not copy
 * their whole input). Idempotent; {@link uninstallFastSlice} restores tfjs's kernels.
 */
export const installFastSlice = (backend: string = tf.getBackend()): boolean => wrapping.install(backend)

/** Restore tfjs's own `Slice` and `SplitV` kernels. */
export const uninstallFastSlice = (): void => wrapping.uninstall()

/** True when the wasm slices are wrapped. */
export const isFastSliceInstalled = (backend: string = tf.getBackend()): boolean => wrapping.isInstalled(backend)
