import { ConfigProvider, Effect } from "effect"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import { assembleMatMulKernel, matMulBinaryModuleText } from "../../scripts/kernelAssembly.ts"
import { activateBackend } from "../../src/core/backend.ts"
import { installFastMatMul, isFastMatMulInstalled, uninstallFastMatMul } from "../../src/core/fastMatMul.ts"
import { shippedMatMulKernels } from "../../src/core/kernels/matMulWat.ts"
import {
  installPackedMatMul,
  matMulKernelVariant,
  type PackedMatMulOptions,
  packedMatMulCount,
  parseMatMulKernelSetting,
  parseRelaxedSimdSetting,
  relaxedSimdSupported,
  uninstallPackedMatMul,
} from "../../src/core/packedMatMul.ts"
import { nextFloat, seedState } from "../../src/core/random.ts"
import { tf } from "../../src/core/tf.ts"
import { readFile } from "node:fs/promises"

/** Unit roundoff of float32 and γₖ = k·u/(1 − k·u) (Higham §3.5). */
const u32 = 2 ** -24
const gamma = (k: number): number => (k * u32) / (1 - k * u32)

/** Float32-representable values in (−1, 1) from the project's seeded generator. */
const values = (count: number, seed: number): Float32Array => {
  const out = new Float32Array(count)
  let s = seedState(seed)
  for (let i = 0; i < count; i++) {
    const [x, next] = nextFloat(s)
    s = next
    out[i] = 2 * x - 1
  }
  return out
}

interface Product {
  readonly batch: number // 0: 2-D
  readonly m: number
  readonly k: number
  readonly n: number
  readonly transposeA: boolean
  readonly transposeB: boolean
}

const layouts = [
  [false, false],
  [true, false],
  [false, true],
  [true, true],
] as const

/** Stored operands of a product and its float64 reference op(A)·op(B) and |op(A)|·|op(B)|. */
const operands = (p: Product, seed: number) => {
  const batches = Math.max(1, p.batch)
  const lead = p.batch === 0 ? [] : [p.batch]
  const aShape = [...lead, ...(p.transposeA ? [p.k, p.m] : [p.m, p.k])]
  const bShape = [...lead, ...(p.transposeB ? [p.n, p.k] : [p.k, p.n])]
  const a = values(batches * p.m * p.k, seed)
  const b = values(batches * p.k * p.n, seed + 1)
  const exact = new Float64Array(batches * p.m * p.n)
  const magnitude = new Float64Array(batches * p.m * p.n)
  for (let t = 0; t < batches; t++) {
    const at = (i: number, q: number) => a[t * p.m * p.k + (p.transposeA ? q * p.m + i : i * p.k + q)]!
    const bt = (q: number, j: number) => b[t * p.k * p.n + (p.transposeB ? j * p.k + q : q * p.n + j)]!
    for (let i = 0; i < p.m; i++) {
      for (let j = 0; j < p.n; j++) {
        let s = 0
        let g = 0
        for (let q = 0; q < p.k; q++) {
          s += at(i, q) * bt(q, j)
          g += Math.abs(at(i, q) * bt(q, j))
        }
        exact[(t * p.m + i) * p.n + j] = s
        magnitude[(t * p.m + i) * p.n + j] = g
      }
    }
  }
  return { aShape, bShape, a, b, exact, magnitude }
}

const product = (p: Product, a: Float32Array, b: Float32Array, aShape: Array<number>, bShape: Array<number>): Float32Array =>
  tf.tidy(() => tf.matMul(tf.tensor(a, aShape), tf.tensor(b, bShape), p.transposeA, p.transposeB).dataSync() as Float32Array)

const install = (options: Omit<PackedMatMulOptions, "backend"> = {}) => {
  uninstallPackedMatMul()
  uninstallFastMatMul()
  return installPackedMatMul({ backend: "wasm", ...options })
}

/** The first index where two arrays' bits differ, or -1. */
const firstBitDifference = (x: Float32Array, y: Float32Array): number => {
  const bx = new Uint32Array(x.buffer, x.byteOffset, x.length)
  const by = new Uint32Array(y.buffer, y.byteOffset, y.length)
  if (bx.length !== by.length) return 0
  for (let i = 0; i < bx.length; i++) if (bx[i] !== by[i]) return i
  return -1
}

const edgeShapes: ReadonlyArray<readonly [number, number, number]> = [
  [1, 1, 1],
  [7, 13, 29],
  [13, 29, 7],
  [5, 1, 9],
  [6, 8, 8],
  [12, 16, 16],
  [31, 300, 17],
  [3, 2000, 5],
  [97, 65, 41],
]

const variants = (): ReadonlyArray<{ readonly name: string; readonly relaxed: boolean }> =>
  relaxedSimdSupported() ? [{ name: "plain-simd", relaxed: false }, { name: "relaxed-fma", relaxed: true }] : [{ name: "plain-simd", relaxed: false }]

beforeAll(async () => {
  await Effect.runPromise(activateBackend("wasm"))
})
afterEach(() => {
  uninstallPackedMatMul()
})
afterAll(() => {
  uninstallPackedMatMul()
})

describe("the packed wasm kernel: exact within γₖ·(|op(A)|·|op(B)|) of the float64 product", () => {
  for (const variant of variants()) {
    it(`${variant.name}: every transpose layout on edge shapes (1×1×1, primes, k = 1, large k, not multiples of the tile)`, () => {
      expect(install({ relaxed: variant.relaxed }).variant).toBe(variant.name)
      let seed = 1
      for (const [m, k, n] of edgeShapes) {
        for (const [transposeA, transposeB] of layouts) {
          const p: Product = { batch: 0, m, k, n, transposeA, transposeB }
          const { aShape, bShape, a, b, exact, magnitude } = operands(p, seed++)
          const before = packedMatMulCount()
          const got = product(p, a, b, aShape, bShape)
          expect(packedMatMulCount(), "the packed kernel ran").toBe(before + 1)
          for (let i = 0; i < exact.length; i++) {
            const error = Math.abs(got[i]! - exact[i]!)
            if (error > gamma(k) * magnitude[i]!) throw new Error(`${m}×${k}×${n} tA=${transposeA} tB=${transposeB} entry ${i}: error ${error} > bound ${gamma(k) * magnitude[i]!}`)
          }
        }
      }
    })

    it(`${variant.name}: batched products, one side broadcast, and the fused bias + relu`, () => {
      install({ relaxed: variant.relaxed })
      for (const [transposeA, transposeB] of layouts) {
        const p: Product = { batch: 3, m: 9, k: 17, n: 11, transposeA, transposeB }
        const { aShape, bShape, a, b, exact, magnitude } = operands(p, 40)
        const got = product(p, a, b, aShape, bShape)
        for (let i = 0; i < exact.length; i++) expect(Math.abs(got[i]! - exact[i]!)).toBeLessThanOrEqual(gamma(p.k) * magnitude[i]!)
      }
      // A batch of 3 times one matrix: each batch entry uses the same B.
      const a = values(3 * 4 * 5, 7)
      const b = values(5 * 6, 8)
      const got = tf.tidy(() => tf.matMul(tf.tensor(a, [3, 4, 5]), tf.tensor(b, [1, 5, 6])).arraySync() as Array<Array<Array<number>>>)
      const wanted = tf.tidy(() => tf.stack([0, 1, 2].map((t) => tf.matMul(tf.tensor(a.subarray(t * 20, t * 20 + 20), [4, 5]), tf.tensor(b, [5, 6])))).arraySync())
      expect(got).toEqual(wanted)
      // Fused: relu(x·W + bias), against the float64 reference.
      const x = values(10 * 7, 9)
      const w = values(7 * 12, 10)
      const bias = values(12, 11)
      const fused = tf.tidy(() => tf.fused.matMul({ a: tf.tensor(x, [10, 7]), b: tf.tensor(w, [7, 12]), bias: tf.tensor(bias), activation: "relu" }).dataSync())
      for (let i = 0; i < 10; i++) {
        for (let j = 0; j < 12; j++) {
          let s = bias[j]!
          let g = Math.abs(bias[j]!)
          for (let q = 0; q < 7; q++) {
            s += x[i * 7 + q]! * w[q * 12 + j]!
            g += Math.abs(x[i * 7 + q]! * w[q * 12 + j]!)
          }
          expect(Math.abs(fused[i * 12 + j]! - Math.max(0, s))).toBeLessThanOrEqual(gamma(8) * g)
        }
      }
    })

    it(`${variant.name}: tile and block sizes do not change the bits (${shippedMatMulKernels[variant.relaxed ? "relaxed" : "plain"].rows}×8 tile, kc 256, mc 96 against 4×8 and 7×8 tiles, kc 7 and 1000, mc 8 and 3, nc 16 and 8)`, async () => {
      const others = [
        { rows: 4, blocking: { kc: 7, mc: 8, nc: 16 } },
        { rows: 7, blocking: { kc: 1000, mc: 3, nc: 8 } },
      ]
      const binaries = await Promise.all(others.map((o) => assembleMatMulKernel({ rows: o.rows, relaxed: variant.relaxed })))
      for (const [m, k, n] of [[37, 300, 29], [64, 64, 64], [7, 13, 29]] as const) {
        for (const [transposeA, transposeB] of layouts) {
          const p: Product = { batch: 0, m, k, n, transposeA, transposeB }
          const { aShape, bShape, a, b } = operands(p, m + k + n)
          install({ relaxed: variant.relaxed })
          const shipped = product(p, a, b, aShape, bShape)
          for (const [i, other] of others.entries()) {
            install({ kernel: { bytes: binaries[i]!, rows: other.rows, relaxed: variant.relaxed }, blocking: other.blocking })
            const small = product(p, a, b, aShape, bShape)
            expect(firstBitDifference(shipped, small), `${m}×${k}×${n} tA=${transposeA} tB=${transposeB} against ${other.rows}×8`).toBe(-1)
          }
        }
      }
    })
  }

  it("plain-simd gives XNNPACK's bits on untransposed 2-D products (the same order of sums), with and without bias", () => {
    for (const [m, k, n] of [[37, 300, 29], [256, 129, 64], [7, 13, 29], [1, 1, 1]] as const) {
      const p: Product = { batch: 0, m, k, n, transposeA: false, transposeB: false }
      const { aShape, bShape, a, b } = operands(p, 3 * m + n)
      const bias = values(n, 5)
      const run = () => [product(p, a, b, aShape, bShape), tf.tidy(() => tf.fused.matMul({ a: tf.tensor(a, aShape), b: tf.tensor(b, bShape), bias: tf.tensor(bias), activation: "relu" }).dataSync() as Float32Array)] as const
      uninstallPackedMatMul()
      const [xnnpack, xnnpackFused] = run()
      install()
      const [packed, packedFused] = run()
      expect(firstBitDifference(packed, xnnpack), `${m}×${k}×${n}`).toBe(-1)
      expect(firstBitDifference(packedFused, xnnpackFused), `${m}×${k}×${n} fused`).toBe(-1)
    }
  })

  it("transposed products differ from tfjs's generic loop only within the bound (its order of sums is blocked)", () => {
    const p: Product = { batch: 0, m: 64, k: 200, n: 48, transposeA: true, transposeB: true }
    const { aShape, bShape, a, b, magnitude } = operands(p, 77)
    uninstallPackedMatMul()
    const tfjs = product(p, a, b, aShape, bShape)
    install()
    const packed = product(p, a, b, aShape, bShape)
    // Both are within γₖ of the exact product, so within 2γₖ of each other.
    for (let i = 0; i < packed.length; i++) expect(Math.abs(packed[i]! - tfjs[i]!)).toBeLessThanOrEqual(2 * gamma(p.k) * magnitude[i]!)
  })

  it("gradients through the packed kernel equal tfjs's within the bound, and nothing leaks", () => {
    install()
    const x = tf.tensor(values(32 * 20, 3), [32, 20])
    const w = tf.variable(tf.tensor(values(20 * 16, 4), [20, 16]))
    const bias = tf.variable(tf.tensor(values(16, 5)))
    const gradients = () =>
      tf.tidy(() => {
        const { grads } = tf.variableGrads(() => tf.sum(tf.square(tf.fused.matMul({ a: x, b: w, bias, activation: "relu" }))) as tf.Scalar, [w, bias])
        return [grads[w.name]!.dataSync(), grads[bias.name]!.dataSync()] as const
      })
    gradients()
    const before = tf.memory()
    const packed = gradients() as readonly [Float32Array, Float32Array]
    for (let i = 0; i < 5; i++) gradients()
    expect(tf.memory().numTensors).toBe(before.numTensors)
    expect(tf.memory().numBytes).toBe(before.numBytes)
    uninstallPackedMatMul()
    const reference = gradients() as readonly [Float32Array, Float32Array]
    for (const [got, wanted] of [[packed[0], reference[0]], [packed[1], reference[1]]] as const) {
      const scale = Array.from(wanted).reduce((s, v) => Math.max(s, Math.abs(v)), 0)
      for (let i = 0; i < got.length; i++) expect(Math.abs(got[i]! - wanted[i]!)).toBeLessThanOrEqual(1e-4 * scale)
    }
    tf.dispose([x, w, bias])
  })

  it("falls back to the kernel registered before for what it does not cover (leakyrelu), and uninstall restores it", () => {
    install()
    const before = packedMatMulCount()
    const y = tf.tidy(() => tf.fused.matMul({ a: tf.ones([2, 3]), b: tf.ones([3, 2]), activation: "leakyrelu", leakyreluAlpha: 0.1 }).arraySync())
    expect(y).toEqual([[3, 3], [3, 3]])
    expect(packedMatMulCount()).toBe(before)
    expect(matMulKernelVariant("wasm")).not.toBe("tfjs")
    uninstallPackedMatMul()
    expect(matMulKernelVariant("wasm")).toBe("tfjs")
    tf.tidy(() => tf.matMul(tf.ones([2, 3]), tf.ones([3, 2])).dataSync())
    expect(packedMatMulCount()).toBe(before)
    expect(installPackedMatMul({ backend: "cpu" })).toEqual({ backend: "cpu", installed: false, variant: "tfjs" })
  })
})

describe("choosing the product path", () => {
  const activate = (entries: ReadonlyArray<readonly [string, string]>) =>
    Effect.runPromise(activateBackend("wasm").pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map(entries)))))

  it("activateBackend installs the packed kernel by default, the old transpose path or tfjs's on request (SCALPEL_MATMUL_KERNEL)", async () => {
    uninstallPackedMatMul()
    uninstallFastMatMul()
    await activate([])
    expect(matMulKernelVariant("wasm")).toBe("plain-simd")
    expect(isFastMatMulInstalled("wasm")).toBe(false)
    await activate([["SCALPEL_MATMUL_KERNEL", "transpose"]])
    expect(matMulKernelVariant("wasm")).toBe("tfjs")
    expect(isFastMatMulInstalled("wasm")).toBe(true)
    await activate([["SCALPEL_MATMUL_KERNEL", "tfjs"]])
    expect(matMulKernelVariant("wasm")).toBe("tfjs")
    expect(isFastMatMulInstalled("wasm")).toBe(false)
    await activate([["SCALPEL_RELAXED_SIMD", "1"]])
    expect(matMulKernelVariant("wasm")).toBe(relaxedSimdSupported() ? "relaxed-fma" : "plain-simd")
    await expect(activate([["SCALPEL_MATMUL_KERNEL", "fast"]])).rejects.toThrow(/SCALPEL_MATMUL_KERNEL.*packed, transpose, tfjs/)
    installFastMatMul({ backend: "wasm" })
    uninstallFastMatMul()
    await activate([])
  })

  it("parses the settings", () => {
    expect(parseMatMulKernelSetting(undefined)).toBe("packed")
    expect(parseMatMulKernelSetting(" Transpose ")).toBe("transpose")
    expect(parseMatMulKernelSetting("xnnpack")).toBeUndefined()
    expect(parseRelaxedSimdSetting(undefined)).toBe(false)
    expect(parseRelaxedSimdSetting("1")).toBe(true)
    expect(parseRelaxedSimdSetting("0")).toBe(false)
  })

  it("relaxed SIMD is validated by this engine exactly when it is Node ≥ 22 (or run with the flag)", () => {
    const major = Number(process.versions.node.split(".")[0])
    if (major >= 22) expect(relaxedSimdSupported()).toBe(true)
    else if (!process.execArgv.some((a) => a.includes("relaxed-simd"))) expect(relaxedSimdSupported()).toBe(false)
  })
})

describe("the embedded matrix-product binaries", () => {
  it("are the assembly of the generator's shipped configurations (run `npm run build:kernels` after editing matMulWat.ts)", async () => {
    const embedded = await readFile(new URL("../../src/core/kernels/matMulBinary.ts", import.meta.url), "utf8")
    expect(embedded).toBe(await matMulBinaryModuleText())
  })
})
