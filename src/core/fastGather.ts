/**
 * Fast gathers on the wasm backend: the mini-batch of almost every data source.
 *
 * A data source's `batch(indices)` usually gathers rows (`tf.gather(x, indices)`, as in the README).
 * tfjs-backend-wasm 4.22's `GatherV2` computes the source position of every output element
 * separately: gathering 256 rows of 784 floats took 21–23 ms, 7 % of the reference step
 * (`npm run bench -- phases`), where copying the rows takes a fraction of a millisecond. The wrapped
 * kernel copies whole contiguous runs (for axis 0, whole rows) between the tensors' heap buffers;
 * with `batchDims` > 0, strings, booleans, or an index out of range it defers to tfjs's kernel (so
 * errors stay tfjs's). The result is bit-for-bit the same: a copy of the same values.
 */
import { tf } from "./tf.ts"
import { type Info, isWasmHeapBackend, type KernelFunc, wasmKernelWrapping } from "./wasmKernelWrap.ts"


const product = (dims: ReadonlyArray<number>): number => dims.reduce((a, b) => a * b, 1)

/** x gathered along `axis` at `indices` by run copies, or undefined to defer to tfjs's kernel. */
const gatherByRuns = (backend: unknown, x: Info, indices: Info, axis: number, batchDims: number): Info | undefined => {
  if (!isWasmHeapBackend(backend) || batchDims !== 0) return undefined
  if ((x.dtype !== "float32" && x.dtype !== "int32") || indices.dtype !== "int32") return undefined
  const rows = x.shape[axis]!
  const outer = product(x.shape.slice(0, axis))
  const inner = product(x.shape.slice(axis + 1))
  const count = product(indices.shape)
  const picked = backend.typedArrayFromHeap(indices) as Int32Array
  for (let i = 0; i < count; i++) if (!(picked[i]! >= 0 && picked[i]! < rows)) return undefined
  const out = backend.makeOutput([...x.shape.slice(0, axis), ...indices.shape, ...x.shape.slice(axis + 1)], x.dtype)
  // Views are taken after makeOutput: growing the heap there would detach earlier views.
  const target = backend.typedArrayFromHeap(out)
  const source = backend.typedArrayFromHeap(x)
  const where = backend.typedArrayFromHeap(indices) as Int32Array
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < count; i++) {
      const from = (o * rows + where[i]!) * inner
      target.set(source.subarray(from, from + inner), (o * count + i) * inner)
    }
  }
  return out
}

const fastGather =
  (original: KernelFunc): KernelFunc =>
  (args) => {
    const { x, indices } = args.inputs as { x?: Info; indices?: Info }
    if (x === undefined || indices === undefined || x.shape.length === 0) return original(args)
    const axis = tf.util.parseAxisParam((args.attrs?.["axis"] as number | undefined) ?? 0, x.shape)[0]!
    const batchDims = (args.attrs?.["batchDims"] as number | undefined) ?? 0
    return gatherByRuns(args.backend, x, indices, axis, batchDims) ?? original(args)
  }

const wrapping = wasmKernelWrapping({ GatherV2: fastGather })

/**
 * Wrap `GatherV2` of the wasm backend (no-op for other backends). Idempotent;
 * {@link uninstallFastGather} restores tfjs's kernel.
 */
export const installFastGather = (backend: string = tf.getBackend()): boolean => wrapping.install(backend)

/** Restore tfjs's own `GatherV2` kernel. */
export const uninstallFastGather = (): void => wrapping.uninstall()

/** True when the wasm gather is wrapped. */
export const isFastGatherInstalled = (backend: string = tf.getBackend()): boolean => wrapping.isInstalled(backend)
