import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { assembleKernels } from "../../scripts/kernelAssembly.ts"
import { bindSweepsToMemory, bloopSweep, combine2, combine2Finite, combine3, combineMany, copyFinite, dotPair } from "../../src/core/hostSweeps.ts"
import { sweepsWasmBase64 } from "../../src/core/kernels/sweepsBinary.ts"

/**
 * The SIMD sweeps run on views of a WebAssembly memory; here a memory of our own stands in for the
 * tfjs wasm backend's. Every view of the same data also exists as a plain array, which takes the
 * JavaScript loop, so each property compares the two paths on the same inputs.
 */
const memory = new (globalThis as unknown as { WebAssembly: { Memory: new (d: { initial: number }) => { buffer: ArrayBuffer; grow(p: number): number } } }).WebAssembly.Memory({ initial: 4 })
bindSweepsToMemory(memory, () => 200_000) // linN's table, far above the test vectors

/** A bump allocator in the wasm memory, reset at the start of every property run. */
let offset = 64
const resetWasm = () => (offset = 64)
/** Copies of `arrays` inside the wasm memory, each starting `shift` floats after a 16-byte boundary. */
const inWasm = (arrays: ReadonlyArray<Float32Array>, shift: number): Array<Float32Array> =>
  arrays.map((a) => {
    const view = new Float32Array(memory.buffer, offset + 4 * shift, a.length)
    view.set(a)
    offset += 16 * Math.ceil((4 * (a.length + shift)) / 16) + 16
    return view
  })
const fresh = (n: number, count: number, shift: number) => inWasm(Array.from({ length: count }, () => new Float32Array(n).fill(Number.NaN)), shift)
const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length))

const length = fc.integer({ min: 0, max: 45 }) // covers the vector loop, the scalar tail and both
const vectors = (count: number) =>
  length.chain((n) =>
    fc.tuple(
      fc.array(fc.float32Array({ minLength: n, maxLength: n, noNaN: true, noDefaultInfinity: true }), { minLength: count, maxLength: count }),
      fc.integer({ min: 0, max: 3 }),
    ),
  )
const coefficient = fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 })

describe("host sweeps: WebAssembly SIMD and JavaScript give the same bits", () => {
  it("combine2: out = ca·a + cb·b", () =>
    fc.assert(
      fc.property(vectors(2), coefficient, coefficient, ([[a, b], shift], ca, cb) => {
        resetWasm()
        const scalar = new Float32Array(a!.length)
        combine2(scalar, ca, a!, cb, b!)
        const [wa, wb] = inWasm([a!, b!], shift)
        const [out] = fresh(a!.length, 1, (shift + 1) % 4)
        combine2(out!, ca, wa!, cb, wb!)
        expect(bits(out!)).toEqual(bits(scalar))
        scalar.forEach((x, i) => expect(x).toBe(Math.fround(ca * a![i]! + cb * b![i]!)))
      }),
    ))

  it("combine3: out = (ca·a + cb·b) + cc·c", () =>
    fc.assert(
      fc.property(vectors(3), coefficient, coefficient, coefficient, ([[a, b, c], shift], ca, cb, cc) => {
        resetWasm()
        const scalar = new Float32Array(a!.length)
        combine3(scalar, ca, a!, cb, b!, cc, c!)
        const [wa, wb, wc, out] = inWasm([a!, b!, c!, new Float32Array(a!.length)], shift)
        combine3(out!, ca, wa!, cb, wb!, cc, wc!)
        expect(bits(out!)).toEqual(bits(scalar))
      }),
    ))

  it("bloopSweep: d = (g₀ + λ·g₁) + c·r and e' = keep·e + take·g₀", () =>
    fc.assert(
      fc.property(vectors(4), coefficient, coefficient, fc.double({ min: 0, max: 1, noNaN: true }), ([[g0, g1, r, e], shift], lambda, c, keep) => {
        resetWasm()
        const [d, emaOut] = [new Float32Array(g0!.length), new Float32Array(g0!.length)]
        bloopSweep(d, emaOut, g0!, g1!, r!, e!, lambda, c, keep, 1 - keep)
        const [w0, w1, wr, we] = inWasm([g0!, g1!, r!, e!], shift)
        const [wd, wEma] = fresh(g0!.length, 2, shift)
        bloopSweep(wd!, wEma!, w0!, w1!, wr!, we!, lambda, c, keep, 1 - keep)
        expect(bits(wd!)).toEqual(bits(d))
        expect(bits(wEma!)).toEqual(bits(emaOut))
        d.forEach((x, i) => expect(x).toBe(Math.fround(g0![i]! + lambda * g1![i]! + c * r![i]!)))
      }),
    ))

  it("combineMany (4–9 vectors, the table-driven kernel): out = Σ c_m·v_m summed in order", () =>
    fc.assert(
      fc.property(
        fc.integer({ min: 4, max: 9 }).chain((k) => fc.tuple(vectors(k), fc.array(coefficient, { minLength: k, maxLength: k }))),
        ([[vs, shift], cs]) => {
          resetWasm()
          const scalar = new Float32Array(vs[0]!.length)
          combineMany(scalar, cs, vs)
          const inside = inWasm(vs, shift)
          const [out] = fresh(vs[0]!.length, 1, shift)
          combineMany(out!, cs, inside)
          expect(bits(out!)).toEqual(bits(scalar))
          scalar.forEach((x, i) => expect(x).toBe(Math.fround(vs.reduce((s, v, m) => s + cs[m]! * v[i]!, 0))))
        },
      ),
    ))

  it("copyFinite copies every bit and reports false exactly when some value is ±∞ or NaN", () =>
    fc.assert(
      fc.property(length.chain((n) => fc.tuple(fc.float32Array({ minLength: n, maxLength: n }), fc.integer({ min: 0, max: 3 }))), ([src, shift]) => {
        resetWasm()
        const allFinite = src.every(Number.isFinite)
        const scalar = new Float32Array(src.length)
        expect(copyFinite(scalar, src)).toBe(allFinite)
        const [wsrc] = inWasm([src], shift)
        const [dst] = fresh(src.length, 1, 3 - shift)
        expect(copyFinite(dst!, wsrc!)).toBe(allFinite)
        expect(bits(dst!)).toEqual(bits(src))
        expect(bits(scalar)).toEqual(bits(src))
      }),
    ))

  it("dotPair: both paths are within the float64 summation bound 2n·2⁻⁵³·Σ|xᵢyᵢ| of each other", () =>
    fc.assert(
      fc.property(vectors(3), ([[x, y, z], shift]) => {
        resetWasm()
        const finite = [x!, y!, z!].map((v) => v.map((t) => (Number.isFinite(t) ? t : 1)))
        const [sy, sz] = dotPair(finite[0]!, finite[1]!, finite[2]!)
        const [wx, wy, wz] = inWasm(finite, shift)
        const [vy, vz] = dotPair(wx!, wy!, wz!)
        const bound = (other: Float32Array) => 2 * (x!.length + 2) * 2 ** -53 * finite[0]!.reduce((s, v, i) => s + Math.abs(v * other[i]!), 0)
        expect(Math.abs(vy - sy)).toBeLessThanOrEqual(bound(finite[1]!))
        expect(Math.abs(vz - sz)).toBeLessThanOrEqual(bound(finite[2]!))
      }),
    ))
})

describe("the embedded WebAssembly binary", () => {
  it("is the assembly of src/core/kernels/sweeps.wat (run `npm run build:kernels` after editing it)", async () => {
    const binary = await assembleKernels()
    expect(Buffer.from(binary).toString("base64")).toBe(sweepsWasmBase64)
  })
})

describe("combine2Finite: combine2's values and whether every one is finite, in the same pass", () => {
  // Coefficients up to 1e39 overflow float32 (max ≈ 3.4e38) on the store: the case of a huge step.
  const large = fc.double({ noNaN: true, min: -1e39, max: 1e39 })
  const anyFloats = length.chain((n) =>
    fc.tuple(fc.array(fc.float32Array({ minLength: n, maxLength: n }), { minLength: 2, maxLength: 2 }), fc.integer({ min: 0, max: 3 })),
  )
  it("both paths write combine2's bits and report finiteness exactly", () =>
    fc.assert(
      fc.property(anyFloats, large, large, ([[a, b], shift], ca, cb) => {
        resetWasm()
        const expected = new Float32Array(a!.length)
        combine2(expected, ca, a!, cb, b!)
        const finite = expected.every(Number.isFinite)
        const scalar = new Float32Array(a!.length)
        expect(combine2Finite(scalar, ca, a!, cb, b!)).toBe(finite)
        const [wa, wb] = inWasm([a!, b!], shift)
        const [out] = fresh(a!.length, 1, (shift + 1) % 4)
        expect(combine2Finite(out!, ca, wa!, cb, wb!)).toBe(finite)
        expect(bits(out!)).toEqual(bits(expected))
        expect(bits(scalar)).toEqual(bits(expected))
      }),
    ))
})
