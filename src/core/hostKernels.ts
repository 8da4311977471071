/**
 * Zero-copy access to flat float32 tensors from JavaScript, for kernels that fuse several vector
 * operations into one or two sweeps over memory.
 *
 * tfjs runs one kernel per operation, and each kernel streams its whole inputs and output through
 * memory; a chain such as "EMA, projection, weighted sum" then costs a dozen passes where two
 * suffice. On the `cpu` backend a tensor's values are a JavaScript `Float32Array`, and on `wasm`
 * they live in the module's linear memory, so a plain loop can read them where they are and write
 * a freshly allocated output in place. Other backends (tfjs-node, WebGL) keep data on a device;
 * {@link hostKernel} returns `undefined` there and callers use tensor operations instead.
 *
 * The outputs are allocated before any view is taken: allocating on `wasm` may grow the linear
 * memory, which detaches every view taken earlier.
 */
import { bindSweepsToMemory, isWasmMemory } from "./hostSweeps.ts"
import { tf, type Tensor1D } from "./tf.ts"

interface WasmBackendLike {
  makeOutput(shape: Array<number>, dtype: "float32"): tf.TensorInfo
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array
  /** The Emscripten module; `asm.memory` is the linear memory the tensors live in. */
  readonly wasm?: { readonly asm?: { readonly memory?: unknown }; readonly _malloc?: (bytes: number) => number }
}

const isWasmBackend = (backend: unknown): backend is WasmBackendLike =>
  typeof (backend as Partial<WasmBackendLike>).makeOutput === "function" &&
  typeof (backend as Partial<WasmBackendLike>).typedArrayFromHeap === "function"

let hostAccess = true

/**
 * Whether {@link hostKernel} may run at all (default on). Off, every caller takes its tfjs
 * tensor-op path, as on backends without host access: for tests of those paths and comparisons
 * (`SCALPEL_HOST_KERNELS=0`, read when a backend is activated).
 */
export const useHostKernels = (enabled: boolean): void => {
  hostAccess = enabled
}

/** Whether the host kernels are switched on (see {@link useHostKernels}). */
export const hostKernelsEnabled = (): boolean => hostAccess

/**
 * Run `body` on host views of `inputs` (float32) and of `outputs` fresh float32 vectors of length
 * `outputLength` (by default the first input's size), which it must fill completely. Returns the output tensors, or
 * `undefined` when the active backend keeps its data off the host.
 */
export const hostKernel = (
  inputs: ReadonlyArray<tf.Tensor>,
  outputs: number,
  body: (inputs: ReadonlyArray<Float32Array>, outputs: ReadonlyArray<Float32Array>) => void,
  outputLength: number = inputs[0]?.size ?? 0,
): Array<Tensor1D> | undefined => {
  if (!hostAccess || inputs.some((t) => t.dtype !== "float32")) return undefined
  const n = outputLength
  const name = tf.getBackend()
  if (name === "cpu") {
    const outs = Array.from({ length: outputs }, () => new Float32Array(n))
    body(
      inputs.map((t) => t.dataSync() as Float32Array),
      outs,
    )
    return outs.map((values) => tf.tensor1d(values))
  }
  const backend = tf.backend()
  if (name === "wasm" && isWasmBackend(backend)) {
    const infos = Array.from({ length: outputs }, () => backend.makeOutput([n], "float32"))
    const tensors = infos.map((info) => tf.engine().makeTensorFromTensorInfo(info) as Tensor1D)
    // Lets the sweeps of hostSweeps.ts run as WebAssembly SIMD on these views.
    const memory = backend.wasm?.asm?.memory
    if (isWasmMemory(memory)) bindSweepsToMemory(memory, backend.wasm?._malloc)
    body(
      inputs.map((t) => backend.typedArrayFromHeap(t)),
      infos.map((info) => backend.typedArrayFromHeap(info)),
    )
    return tensors
  }
  return undefined
}

/**
 * The values of a float32 tensor for reading only: a zero-copy view where the host holds them
 * (`cpu`, `wasm`; valid until the next tensor allocation on wasm, which may move the memory),
 * else a copy (`dataSync`). For copying a tensor's values elsewhere in one pass.
 */
export const hostValues = (tensor: tf.Tensor): Float32Array => {
  if (hostAccess && tensor.dtype === "float32") {
    const backend = tf.backend()
    if (tf.getBackend() === "wasm" && isWasmBackend(backend)) return backend.typedArrayFromHeap(tensor)
  }
  return tensor.dataSync() as Float32Array
}
