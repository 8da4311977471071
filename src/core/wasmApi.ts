/**
 * The parts of the WebAssembly API that scalpel's kernels use (the project's `lib` has no DOM
 * typings), shared by the host sweeps (`hostSweeps.ts`) and the packed product kernel
 * (`packedMatMul.ts`).
 */

/** A `WebAssembly.Memory`, as far as the kernels read it. */
export interface WasmMemory {
  readonly buffer: ArrayBufferLike
  grow(pages: number): number
}

interface WasmApi {
  readonly Module: new (bytes: Uint8Array) => object
  readonly Instance: new (module: object, imports: object) => { readonly exports: unknown }
  readonly validate: (bytes: Uint8Array) => boolean
}

/** The global `WebAssembly` namespace. */
export const WebAssemblyApi = (globalThis as unknown as { readonly WebAssembly: WasmApi }).WebAssembly

/** Whether `value` looks like a `WebAssembly.Memory` (tfjs-backend-wasm's module exposes its own). */
export const isWasmMemory = (value: unknown): value is WasmMemory =>
  typeof value === "object" && value !== null && "buffer" in value && typeof (value as Partial<WasmMemory>).grow === "function"
