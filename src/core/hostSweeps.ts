/**
 * The few memory sweeps that scalpel's fused host paths are made of, on float32 views:
 * two inner products in one pass, linear combinations of any number of vectors, two-level Bloop's
 * combined direction-and-EMA pass, and a copy that also reports whether every value is finite.
 *
 * When the views live in the linear memory of the tfjs wasm backend (see `hostKernels.ts`), the
 * sweeps run as WebAssembly SIMD (`kernels/sweeps.wat`) on that same memory, with no copy; any
 * other view (the cpu backend's arrays, plain arrays in tests) takes the JavaScript loop. Both
 * compute in float64 and round once on the store, with the same operations in the same order, so
 * they give the same bits; only the summation order of the inner products differs.
 *
 * Why WebAssembly: a JavaScript loop over float32 data runs near 3 ns per element here (scalar,
 * one dependency chain per accumulator); the SIMD loops run at memory speed (`npm run bench -- combine`).
 */
import { sweepsWasmBase64 } from "./kernels/sweepsBinary.ts"
import { isWasmMemory, type WasmMemory, WebAssemblyApi } from "./wasmApi.ts"

export { isWasmMemory } from "./wasmApi.ts"

interface SweepExports {
  readonly xy: { readonly value: number }
  readonly xz: { readonly value: number }
  dot2(x: number, y: number, z: number, n: number): void
  lin2(out: number, a: number, b: number, n: number, ca: number, cb: number): void
  lin2Finite(out: number, a: number, b: number, n: number, ca: number, cb: number): number
  lin3(out: number, a: number, b: number, c: number, n: number, ca: number, cb: number, cc: number): void
  bloop2(d: number, eo: number, g0: number, g1: number, r: number, e: number, n: number, l1: number, c: number, keep: number, take: number): void
  copyFinite(dst: number, src: number, n: number): number
  linN(out: number, table: number, count: number, n: number): void
}

/** Terms `linN` takes at most: its table of (pointer, coefficient) entries is allocated once. */
const tableCapacity = 64

let compiled: object | undefined
let bound: { readonly memory: WasmMemory; readonly exports: SweepExports; readonly table: number | undefined } | undefined

/**
 * Run the SIMD sweeps on views of `memory` from now on (the tfjs wasm backend's memory; called by
 * `hostKernel`). Compiles the 2 KB module once; instantiating on a new memory is cheap. `allocate`
 * (the memory owner's `malloc`) provides, once, the small table through which `combineMany` passes
 * more than three vectors; without it those combinations take the JavaScript loop.
 */
export const bindSweepsToMemory = (memory: WasmMemory, allocate?: (bytes: number) => number): void => {
  if (bound?.memory === memory || isShared(memory)) return
  compiled ??= new WebAssemblyApi.Module(decodeBase64(sweepsWasmBase64))
  const instance = new WebAssemblyApi.Instance(compiled, { env: { memory } })
  bound = { memory, exports: instance.exports as unknown as SweepExports, table: allocate?.(16 * tableCapacity) }
}

/**
 * Whether `memory` is shared (the multi-threaded tfjs wasm build, which browsers use on
 * cross-origin isolated pages). The sweeps module imports an unshared memory, so such views take
 * the JavaScript loops.
 */
const isShared = (memory: WasmMemory): boolean =>
  typeof SharedArrayBuffer !== "undefined" && memory.buffer instanceof SharedArrayBuffer

/** Bytes of a base64 string, with `atob` (Node and browsers alike; `Buffer` is Node only). */
const decodeBase64 = (text: string): Uint8Array => Uint8Array.from(atob(text), (char) => char.charCodeAt(0))

/** The SIMD exports when every view lies in the bound memory (checked against its current buffer). */
const simdFor = (...views: ReadonlyArray<Float32Array>): SweepExports | undefined => {
  if (bound === undefined) return undefined
  const buffer = bound.memory.buffer
  for (const view of views) if (view.buffer !== buffer) return undefined
  return bound.exports
}

/** Whether the sweeps on these views run as WebAssembly SIMD (rather than the JavaScript loops). */
export const runsOnSimd = (...views: ReadonlyArray<Float32Array>): boolean => simdFor(...views) !== undefined

/**
 * Entries per partial sum of the inner products. Summing blocks of b products, then the ⌈n/b⌉
 * block sums, bounds the rounding of an n-term float64 inner product of float32 vectors by
 * γ₍b + ⌈n/b⌉₎·Σ|xᵢyᵢ| (Higham §3.1; the products themselves are exact in float64) instead of
 * γₙ·Σ|xᵢyᵢ| — 6.8e-13 rather than 9.3e-10 relative at n = 2²³. See {@link innerProductResolution}.
 */
export const innerProductBlock = 4096

/**
 * Bound ε on the relative rounding error of the inner products of this module for vectors of
 * length n: |fl(⟨x, y⟩) − ⟨x, y⟩| ≤ ε·Σ|xᵢyᵢ| ≤ ε·‖x‖‖y‖, ε = γ₍min(n, b) + ⌈n/b⌉₎ with u = 2⁻⁵³.
 */
export const innerProductResolution = (n: number): number => {
  const m = Math.min(n, innerProductBlock) + Math.ceil(n / innerProductBlock)
  return (m * 2 ** -53) / (1 - m * 2 ** -53)
}

/** [⟨x, y⟩, ⟨x, z⟩] in float64, in one sweep (partial sums per {@link innerProductBlock} entries). */
export const dotPair = (x: Float32Array, y: Float32Array, z: Float32Array): readonly [number, number] => {
  const n = x.length
  let xy = 0
  let xz = 0
  const simd = simdFor(x, y, z)
  if (simd !== undefined) {
    for (let start = 0; start < n; start += innerProductBlock) {
      const offset = 4 * start
      simd.dot2(x.byteOffset + offset, y.byteOffset + offset, z.byteOffset + offset, Math.min(innerProductBlock, n - start))
      xy += simd.xy.value
      xz += simd.xz.value
    }
    return [xy, xz]
  }
  for (let start = 0; start < n; start += innerProductBlock) {
    const end = Math.min(n, start + innerProductBlock)
    let bxy = 0
    let bxz = 0
    for (let i = start; i < end; i++) {
      const v = x[i]!
      bxy += v * y[i]!
      bxz += v * z[i]!
    }
    xy += bxy
    xz += bxz
  }
  return [xy, xz]
}

/** out = ca·a + cb·b, in float64 rounded once. */
export const combine2 = (out: Float32Array, ca: number, a: Float32Array, cb: number, b: Float32Array): void => {
  const simd = simdFor(out, a, b)
  if (simd !== undefined) return simd.lin2(out.byteOffset, a.byteOffset, b.byteOffset, out.length, ca, cb)
  for (let i = 0; i < out.length; i++) out[i] = ca * a[i]! + cb * b[i]!
}

/**
 * out = ca·a + cb·b, as {@link combine2}; true when every value written is finite. The check rides
 * on the same pass (x·0 is 0 for finite x and NaN otherwise, and a NaN survives the sum), so a
 * step can be refused before it is applied at no extra sweep.
 */
export const combine2Finite = (out: Float32Array, ca: number, a: Float32Array, cb: number, b: Float32Array): boolean => {
  const simd = simdFor(out, a, b)
  if (simd !== undefined) return simd.lin2Finite(out.byteOffset, a.byteOffset, b.byteOffset, out.length, ca, cb) === 1
  let probe = 0
  for (let i = 0; i < out.length; i++) {
    out[i] = ca * a[i]! + cb * b[i]!
    // The rounded float32 value, as the SIMD kernel probes it.
    probe += out[i]! * 0
  }
  return probe === 0
}

/** out = (ca·a + cb·b) + cc·c, in float64 rounded once. */
export const combine3 = (out: Float32Array, ca: number, a: Float32Array, cb: number, b: Float32Array, cc: number, c: Float32Array): void => {
  const simd = simdFor(out, a, b, c)
  if (simd !== undefined) return simd.lin3(out.byteOffset, a.byteOffset, b.byteOffset, c.byteOffset, out.length, ca, cb, cc)
  for (let i = 0; i < out.length; i++) out[i] = ca * a[i]! + cb * b[i]! + cc * c[i]!
}

/**
 * Two-level Bloop's second sweep (see `projectedCombination.ts`): d = (g₀ + λ·g₁) + c·r and
 * e' = keep·e + take·g₀, in float64 rounded once.
 */
export const bloopSweep = (
  d: Float32Array,
  emaOut: Float32Array,
  g0: Float32Array,
  g1: Float32Array,
  r: Float32Array,
  e: Float32Array,
  lambda: number,
  c: number,
  keep: number,
  take: number,
): void => {
  const simd = simdFor(d, emaOut, g0, g1, r, e)
  if (simd !== undefined) {
    return simd.bloop2(d.byteOffset, emaOut.byteOffset, g0.byteOffset, g1.byteOffset, r.byteOffset, e.byteOffset, d.length, lambda, c, keep, take)
  }
  for (let i = 0; i < d.length; i++) {
    const a = g0[i]!
    d[i] = a + lambda * g1[i]! + c * r[i]!
    emaOut[i] = keep * e[i]! + take * a
  }
}

/** [⟨x, y₀⟩, ⟨x, y₁⟩, …] in float64, two products per sweep. */
export const innerProducts = (x: Float32Array, ys: ReadonlyArray<Float32Array>): Float64Array => {
  const out = new Float64Array(ys.length)
  for (let j = 0; j < ys.length; j += 2) {
    const [first, second] = dotPair(x, ys[j]!, ys[Math.min(j + 1, ys.length - 1)]!)
    out[j] = first
    if (j + 1 < ys.length) out[j + 1] = second
  }
  return out
}

/** G_ab = ⟨v_a, v_b⟩ in float64 (k×k, row-major), two entries per sweep. */
export const gramMatrix64 = (vectors: ReadonlyArray<Float32Array>): Float64Array => {
  const k = vectors.length
  const gram = new Float64Array(k * k)
  for (let a = 0; a < k; a++) {
    innerProducts(vectors[a]!, vectors.slice(a)).forEach((value, j) => (gram[a * k + a + j] = gram[(a + j) * k + a] = value))
  }
  return gram
}

/**
 * out = Σ_m c_m·v_m, summed in float64 in order m = 0, 1, … and rounded once (one sweep). Two or
 * three vectors take the dedicated kernels (the same bits), more take the table-driven `linN`.
 */
export const combineMany = (out: Float32Array, coefficients: ArrayLike<number>, vectors: ReadonlyArray<Float32Array>): void => {
  const [a, b, c] = vectors
  if (vectors.length === 1) return combine2(out, coefficients[0]!, a!, 0, a!)
  if (vectors.length === 2) return combine2(out, coefficients[0]!, a!, coefficients[1]!, b!)
  if (vectors.length === 3) return combine3(out, coefficients[0]!, a!, coefficients[1]!, b!, coefficients[2]!, c!)
  const simd = simdFor(out, ...vectors)
  if (simd !== undefined && bound?.table !== undefined && vectors.length <= tableCapacity) {
    const table = bound.table
    const words = new Int32Array(bound.memory.buffer, table, 4 * vectors.length)
    const numbers = new Float64Array(bound.memory.buffer, table, 2 * vectors.length)
    vectors.forEach((v, m) => {
      words[4 * m] = v.byteOffset
      numbers[2 * m + 1] = coefficients[m]!
    })
    return simd.linN(out.byteOffset, table, vectors.length, out.length)
  }
  for (let i = 0; i < out.length; i++) {
    let s = 0
    for (let m = 0; m < vectors.length; m++) s += coefficients[m]! * vectors[m]![i]!
    out[i] = s
  }
}

/** Copy `src` into `dst` (of the same length); true when every value is finite. */
export const copyFinite = (dst: Float32Array, src: Float32Array): boolean => {
  const simd = simdFor(dst, src)
  if (simd !== undefined) return simd.copyFinite(dst.byteOffset, src.byteOffset, src.length) === 1
  dst.set(src)
  let probe = 0
  for (let i = 0; i < src.length; i++) probe += src[i]! * 0
  return probe === 0
}
