/**
 * What scalpel's fast wasm kernels (`fastSlice.ts`, `fastGather.ts`, `fastSum.ts`) share: the view
 * of tfjs-backend-wasm's heap they copy through, and the installation of a wrapper around one or
 * more of the backend's registered kernels (idempotent, reversible).
 */
import { tf } from "./tf.ts"

export type KernelFunc = tf.KernelConfig["kernelFunc"]
export type Info = tf.TensorInfo

/** The part of tfjs-backend-wasm's `BackendWasm` the wrappers use (it is not exported as a type). */
export interface WasmHeapBackend {
  readonly makeOutput: (shape: ReadonlyArray<number>, dtype: tf.DataType) => Info
  readonly typedArrayFromHeap: (info: Info) => Float32Array | Int32Array | Uint8Array
}

export const isWasmHeapBackend = (backend: unknown): backend is WasmHeapBackend =>
  typeof (backend as Partial<WasmHeapBackend>).typedArrayFromHeap === "function" &&
  typeof (backend as Partial<WasmHeapBackend>).makeOutput === "function"

/** Install, remove and query wrappers of some kernels of the wasm backend. */
export interface KernelWrapping {
  /** Wrap the kernels on `backend` (no-op, false, for any backend but wasm). Idempotent. */
  readonly install: (backend?: string) => boolean
  /** Restore tfjs's own kernels everywhere installed. */
  readonly uninstall: () => void
  readonly isInstalled: (backend?: string) => boolean
}

/** Wrapping of the wasm kernels named in `wrappers`, each by its function of the original. */
export const wasmKernelWrapping = (wrappers: Readonly<Record<string, (original: KernelFunc) => KernelFunc>>): KernelWrapping => {
  const installed = new Map<string, ReadonlyArray<tf.KernelConfig>>()
  return {
    install: (backend = tf.getBackend()) => {
      if (backend !== "wasm") return false
      if (installed.has(backend)) return true
      const originals: Array<tf.KernelConfig> = []
      for (const [name, wrap] of Object.entries(wrappers)) {
        const original = tf.getKernel(name, backend)
        if (original === undefined) continue
        // Unregister first: registering over an existing kernel works but prints a warning.
        tf.unregisterKernel(name, backend)
        tf.registerKernel({ ...original, kernelFunc: wrap(original.kernelFunc) })
        originals.push(original)
      }
      installed.set(backend, originals)
      return originals.length > 0
    },
    uninstall: () => {
      for (const [backend, originals] of installed) {
        for (const original of originals) {
          tf.unregisterKernel(original.kernelName, backend)
          tf.registerKernel(original)
        }
      }
      installed.clear()
    },
    isInstalled: (backend = tf.getBackend()) => installed.has(backend),
  }
}
