import { describe, expect, it } from "vitest"
import { bindSweepsToMemory, combine2, runsOnSimd } from "../../src/core/hostSweeps.ts"

// The multi-threaded tfjs wasm build (browsers use it on cross-origin isolated pages) keeps its
// tensors in a shared memory, which the SIMD sweeps module (it imports an unshared memory) cannot
// link to: those views must take the JavaScript loops instead of failing.
describe("host sweeps on a shared WebAssembly memory", () => {
  type SharedMemory = { readonly buffer: SharedArrayBuffer; grow(pages: number): number }
  const { Memory } = (globalThis as unknown as { WebAssembly: { Memory: new (d: { initial: number; maximum: number; shared: true }) => SharedMemory } }).WebAssembly
  const memory = new Memory({ initial: 1, maximum: 1, shared: true })

  it("binding to it does not throw, and the sweeps there run as JavaScript with the same results", () => {
    expect(() => bindSweepsToMemory(memory, () => 32_768)).not.toThrow()
    const n = 1000
    const [out, a, b] = [0, 1, 2].map((i) => new Float32Array(memory.buffer, i * 4 * n, n)) as [Float32Array, Float32Array, Float32Array]
    for (let i = 0; i < n; i++) {
      a[i] = i / 7
      b[i] = 1 - i / 11
    }
    expect(runsOnSimd(out, a, b)).toBe(false)
    combine2(out, 2, a, -3, b)
    for (let i = 0; i < n; i++) expect(out[i]).toBe(Math.fround(2 * a[i]! - 3 * b[i]!))
  })
})
