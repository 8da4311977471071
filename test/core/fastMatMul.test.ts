import { ConfigProvider, Effect } from "effect"
import fc from "fast-check"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { activateBackend } from "../../src/core/backend.ts"
import {
  installFastMatMul,
  isFastMatMulInstalled,
  matMulShapeOf,
  measuredRule,
  parseFastMatMulSetting,
  rewrittenMatMulCount,
  uninstallFastMatMul,
} from "../../src/core/fastMatMul.ts"
import { isPackedMatMulInstalled, uninstallPackedMatMul } from "../../src/core/packedMatMul.ts"
import { nextFloat, seedState } from "../../src/core/random.ts"
import { tf } from "../../src/core/tf.ts"

/** Unit roundoff of float32 and γₙ = n·u/(1 − n·u), the dot-product error constant (Higham §3.1). */
const u32 = 2 ** -24
const gamma = (n: number): number => (n * u32) / (1 - n * u32)

/** One generated problem: op(A)·op(B) with A, B, and the weights W of the loss Σ W ⊙ op(A)op(B). */
interface Case {
  readonly batch: number // 0: plain 2-D tensors; ≥ 1: 3-D with that batch size
  readonly m: number
  readonly k: number
  readonly n: number
  readonly transposeA: boolean
  readonly transposeB: boolean
  readonly seed: number
  readonly scale: number
}

const caseArbitrary = (maxDim: number, maxBatch: number): fc.Arbitrary<Case> =>
  fc.record({
    batch: fc.integer({ min: 0, max: maxBatch }),
    m: fc.integer({ min: 1, max: maxDim }),
    k: fc.integer({ min: 1, max: maxDim }),
    n: fc.integer({ min: 1, max: maxDim }),
    transposeA: fc.boolean(),
    transposeB: fc.boolean(),
    seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
    // 0 gives all-zero operands (the gradient must be exactly 0); 2^±20 probes range, not rounding.
    scale: fc.constantFrom(1, 0, 2 ** -20, 2 ** 20),
  })

/** Float32-representable values in (−scale, scale), from the project's seeded generator. */
const values = (count: number, seed: number, scale: number): Float64Array => {
  const out = new Float64Array(count)
  let s = seedState(seed)
  for (let i = 0; i < count; i++) {
    const [x, next] = nextFloat(s)
    s = next
    out[i] = Math.fround((2 * x - 1) * scale)
  }
  return out
}

/** Stored shapes: op(A) is m×k, op(B) is k×n, W is m×n, each per batch entry. */
const shapesOf = (c: Case) => {
  const lead = c.batch === 0 ? [] : [c.batch]
  return {
    a: [...lead, ...(c.transposeA ? [c.k, c.m] : [c.m, c.k])],
    b: [...lead, ...(c.transposeB ? [c.n, c.k] : [c.k, c.n])],
    w: [...lead, c.m, c.n],
  }
}

interface Operands {
  readonly a: Float64Array
  readonly b: Float64Array
  readonly w: Float64Array
}

const operandsOf = (c: Case): Operands => {
  const batches = Math.max(c.batch, 1)
  return {
    a: values(batches * c.m * c.k, c.seed, c.scale),
    b: values(batches * c.k * c.n, c.seed + 1, c.scale),
    w: values(batches * c.m * c.n, c.seed + 2, 1),
  }
}

/**
 * Float64 reference of the gradients of f(A, B) = Σ W ⊙ op(A)·op(B), and of the same expression on
 * absolute values (|W|, |A|, |B|), which is the matrix Σ|x||y| in the error bound of each entry.
 * d op(A) = W·op(B)ᵀ (inner length n), d op(B) = op(A)ᵀ·W (inner length m).
 */
const reference = (c: Case, o: Operands) => {
  const batches = Math.max(c.batch, 1)
  const { m, k, n } = c
  const opA = (t: number, i: number, l: number) => o.a[t * m * k + (c.transposeA ? l * m + i : i * k + l)]!
  const opB = (t: number, l: number, j: number) => o.b[t * k * n + (c.transposeB ? j * k + l : l * n + j)]!
  const da = new Float64Array(o.a.length)
  const daAbs = new Float64Array(o.a.length)
  const db = new Float64Array(o.b.length)
  const dbAbs = new Float64Array(o.b.length)
  for (let t = 0; t < batches; t++) {
    for (let i = 0; i < m; i++) {
      for (let l = 0; l < k; l++) {
        let s = 0
        let sAbs = 0
        for (let j = 0; j < n; j++) {
          const w = o.w[t * m * n + i * n + j]!
          s += w * opB(t, l, j)
          sAbs += Math.abs(w * opB(t, l, j))
        }
        const at = t * m * k + (c.transposeA ? l * m + i : i * k + l)
        da[at] = s
        daAbs[at] = sAbs
      }
    }
    for (let l = 0; l < k; l++) {
      for (let j = 0; j < n; j++) {
        let s = 0
        let sAbs = 0
        for (let i = 0; i < m; i++) {
          const w = o.w[t * m * n + i * n + j]!
          s += opA(t, i, l) * w
          sAbs += Math.abs(opA(t, i, l) * w)
        }
        const at = t * k * n + (c.transposeB ? j * k + l : l * n + j)
        db[at] = s
        dbAbs[at] = sAbs
      }
    }
  }
  return { da, daAbs, db, dbAbs }
}

/** f(A, B) = Σ W ⊙ op(A)·op(B) in float64, for finite differences. */
const loss64 = (c: Case, a: Float64Array, b: Float64Array, w: Float64Array): number => {
  const { m, k, n } = c
  let total = 0
  for (let t = 0; t < Math.max(c.batch, 1); t++) {
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0
        for (let l = 0; l < k; l++) {
          const x = a[t * m * k + (c.transposeA ? l * m + i : i * k + l)]!
          const y = b[t * k * n + (c.transposeB ? j * k + l : l * n + j)]!
          s += x * y
        }
        total += w[t * m * n + i * n + j]! * s
      }
    }
  }
  return total
}

/** Central differences of `loss64` in every entry of `which` (step h; f is bilinear, so exact up to rounding). */
const finiteDifferences = (c: Case, o: Operands, which: "a" | "b", h: number): Float64Array => {
  const target = o[which]
  const out = new Float64Array(target.length)
  for (let i = 0; i < target.length; i++) {
    const plus = Float64Array.from(target)
    const minus = Float64Array.from(target)
    plus[i] = plus[i]! + h
    minus[i] = minus[i]! - h
    const fPlus = which === "a" ? loss64(c, plus, o.b, o.w) : loss64(c, o.a, plus, o.w)
    const fMinus = which === "a" ? loss64(c, minus, o.b, o.w) : loss64(c, o.a, minus, o.w)
    out[i] = (fPlus - fMinus) / (2 * h)
  }
  return out
}

type Product = "matMul" | "fused"

/** tfjs gradients (dA, dB) of Σ W ⊙ op(A)op(B), computed by whatever kernels are registered now. */
const tfGradients = (c: Case, o: Operands, product: Product): { da: Float32Array; db: Float32Array } => {
  const s = shapesOf(c)
  const [da, db] = tf.tidy(() => {
    const a = tf.tensor(Float32Array.from(o.a), s.a)
    const b = tf.tensor(Float32Array.from(o.b), s.b)
    const w = tf.tensor(Float32Array.from(o.w), s.w)
    const f = (x: tf.Tensor, y: tf.Tensor) => {
      const out =
        product === "matMul"
          ? tf.matMul(x, y, c.transposeA, c.transposeB)
          : tf.fused.matMul({ a: x, b: y, transposeA: c.transposeA, transposeB: c.transposeB, bias: tf.zeros([c.n]) })
      return tf.sum(tf.mul(out, w))
    }
    return tf.grads(f)([a, b])
  })
  const result = { da: da!.dataSync() as Float32Array, db: db!.dataSync() as Float32Array }
  tf.dispose([da!, db!])
  return result
}

const withDefaultKernels = <T>(fn: () => T): T => {
  uninstallFastMatMul()
  return fn()
}

/** Every transposed product rewritten, whatever its size: the tests exercise the rewrite itself. */
const withRewriteEverywhere = <T>(fn: () => T): T => {
  uninstallFastMatMul()
  installFastMatMul({ rule: () => true })
  try {
    return fn()
  } finally {
    uninstallFastMatMul()
  }
}

/** |x − y| ≤ bound entrywise; returns the first violation for a readable failure. */
const firstViolation = (x: ArrayLike<number>, y: ArrayLike<number>, bound: (i: number) => number): string | undefined => {
  for (let i = 0; i < x.length; i++) {
    const diff = Math.abs(x[i]! - y[i]!)
    if (!(diff <= bound(i))) return `entry ${i}: ${x[i]} vs ${y[i]} (difference ${diff} > bound ${bound(i)})`
  }
  return undefined
}

describe.each(["wasm", "cpu"] as const)("fast transposed matMul on %s", (backend) => {
  beforeAll(async () => {
    await Effect.runPromise(activateBackend(backend))
    // These tests are about the explicit-transpose path over tfjs's own kernels, not the packed kernel.
    uninstallPackedMatMul()
  })
  afterAll(() => uninstallFastMatMul())

  it.each(["matMul", "fused"] as const)(
    "%s: rewritten gradients equal tfjs's default ones within 2·γ·(|W|·|op(B)|ᵀ) entrywise (both are float32 dot products of the same inputs)",
    (product) => {
      fc.assert(
        fc.property(caseArbitrary(9, 3), (c) => {
          const o = operandsOf(c)
          const reference64 = reference(c, o)
          const before = rewrittenMatMulCount()
          const fast = withRewriteEverywhere(() => tfGradients(c, o, product))
          const rewritten = rewrittenMatMulCount() - before
          const slow = withDefaultKernels(() => tfGradients(c, o, product))
          // Each gradient product is within γ·Σ|x||y| of the exact value, so two of them within twice that.
          const violationA = firstViolation(fast.da, slow.da, (i) => 2 * gamma(c.n) * reference64.daAbs[i]!)
          const violationB = firstViolation(fast.db, slow.db, (i) => 2 * gamma(c.m) * reference64.dbAbs[i]!)
          expect(violationA, `dA, case ${JSON.stringify(c)}`).toBeUndefined()
          expect(violationB, `dB, case ${JSON.stringify(c)}`).toBeUndefined()
          // The backward pass always contains transposed products, so the rewrite must have run.
          expect(rewritten).toBeGreaterThan(0)
        }),
        { numRuns: 40 },
      )
    },
  )

  it("rewritten gradients are within γ·(|W|·|op(B)|ᵀ) of the float64 gradient", () => {
    fc.assert(
      fc.property(caseArbitrary(12, 2), (c) => {
        const o = operandsOf(c)
        const r = reference(c, o)
        const fast = withRewriteEverywhere(() => tfGradients(c, o, "matMul"))
        // + 2^-52·n·Σ|x||y|: the float64 reference's own rounding.
        expect(firstViolation(fast.da, r.da, (i) => (gamma(c.n) + 2 ** -52 * c.n) * r.daAbs[i]!)).toBeUndefined()
        expect(firstViolation(fast.db, r.db, (i) => (gamma(c.m) + 2 ** -52 * c.m) * r.dbAbs[i]!)).toBeUndefined()
      }),
      { numRuns: 40 },
    )
  })

  it("rewritten gradients match central finite differences of the float64 loss (tiny shapes)", () => {
    fc.assert(
      fc.property(caseArbitrary(4, 2), (c) => {
        const o = operandsOf(c)
        const r = reference(c, o)
        const fast = withRewriteEverywhere(() => tfGradients(c, o, "matMul"))
        // f is bilinear, so the central difference is exact in exact arithmetic for any h; with
        // h = max(scale, 1) its float64 error is at most 2·(mkn)·2^-53·Σ|W||A||B| / (2h).
        const h = Math.max(c.scale, 1)
        const abs = loss64(c, o.a.map(Math.abs), o.b.map(Math.abs), o.w.map(Math.abs))
        const fdError = (2 * c.m * c.k * c.n * 2 ** -53 * abs) / (2 * h)
        const fdA = finiteDifferences(c, o, "a", h)
        const fdB = finiteDifferences(c, o, "b", h)
        expect(firstViolation(fast.da, fdA, (i) => gamma(c.n) * r.daAbs[i]! + fdError)).toBeUndefined()
        expect(firstViolation(fast.db, fdB, (i) => gamma(c.m) * r.dbAbs[i]! + fdError)).toBeUndefined()
      }),
      { numRuns: 30 },
    )
  })

  it("a dense layer built with tfjs-layers goes through the rewrite and keeps its gradient", () => {
    const c: Case = { batch: 0, m: 48, k: 40, n: 36, transposeA: false, transposeB: false, seed: 11, scale: 1 }
    const o = operandsOf(c)
    const r = reference(c, o)
    const kernelGradient = (): Float32Array => {
      const layer = tf.layers.dense({ units: c.n, useBias: true, inputShape: [c.k] })
      layer.build([c.m, c.k])
      const initial = [tf.tensor2d(Float32Array.from(o.b), [c.k, c.n]), tf.zeros([c.n])]
      layer.setWeights(initial)
      const x = tf.tensor2d(Float32Array.from(o.a), [c.m, c.k])
      const w = tf.tensor2d(Float32Array.from(o.w), [c.m, c.n])
      const kernel = layer.trainableWeights[0]!.read() as tf.Variable
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(layer.apply(x) as tf.Tensor, w)) as tf.Scalar, [kernel])
      const g = grads[kernel.name]!.dataSync() as Float32Array
      tf.dispose([value, x, w, ...initial, ...Object.values(grads)])
      for (const v of layer.weights) v.dispose()
      return g
    }
    const before = rewrittenMatMulCount()
    const fast = withRewriteEverywhere(kernelGradient)
    expect(rewrittenMatMulCount() - before).toBeGreaterThan(0)
    const slow = withDefaultKernels(kernelGradient)
    expect(firstViolation(fast, slow, (i) => 2 * gamma(c.m) * r.dbAbs[i]!)).toBeUndefined()
  })

  it("leaks neither tensors nor backend buffers", () => {
    const c: Case = { batch: 2, m: 7, k: 5, n: 6, transposeA: true, transposeB: true, seed: 3, scale: 1 }
    const plain: Case = { ...c, batch: 0 }
    const o = operandsOf(c)
    const oPlain = operandsOf(plain)
    withRewriteEverywhere(() => tfGradients(c, o, "matMul")) // first call may allocate backend caches
    const before = tf.memory()
    withRewriteEverywhere(() => {
      tfGradients(c, o, "matMul")
      tfGradients(plain, oPlain, "fused")
    })
    const after = tf.memory()
    expect(after.numTensors).toBe(before.numTensors)
    expect(after.numDataBuffers).toBe(before.numDataBuffers)
  })

  it("install is idempotent and uninstall restores the original kernels", () => {
    uninstallFastMatMul()
    const original = tf.getKernel("BatchMatMul", backend)!.kernelFunc
    installFastMatMul({ backend })
    const wrapped = tf.getKernel("BatchMatMul", backend)!.kernelFunc
    expect(wrapped).not.toBe(original)
    installFastMatMul({ backend })
    expect(tf.getKernel("BatchMatMul", backend)!.kernelFunc).toBe(wrapped)
    uninstallFastMatMul(backend)
    expect(tf.getKernel("BatchMatMul", backend)!.kernelFunc).toBe(original)
    expect(isFastMatMulInstalled(backend)).toBe(false)
  })

  it("activateBackend installs the fast path unless SCALPEL_FAST_MATMUL=0 (on wasm with SCALPEL_MATMUL_KERNEL=transpose; its default there is the packed kernel)", async () => {
    const choice: ReadonlyArray<readonly [string, string]> = backend === "wasm" ? [["SCALPEL_MATMUL_KERNEL", "transpose"]] : []
    const activate = (env: ReadonlyArray<readonly [string, string]>) =>
      Effect.runPromise(activateBackend(backend).pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map([...choice, ...env])))))
    uninstallFastMatMul()
    await activate([["SCALPEL_FAST_MATMUL", "0"]])
    expect(isFastMatMulInstalled(backend)).toBe(false)
    await activate([])
    expect(isFastMatMulInstalled(backend)).toBe(true)
    await activate([])
    expect(isFastMatMulInstalled(backend)).toBe(true)
    expect(isPackedMatMulInstalled(backend)).toBe(false)
  })
})

describe("the measured rule", () => {
  it("rewrites the narrow products of a dense layer's backward pass (measured: flagged 6.6 ms, explicit 1.3 ms at 1024×256×10)", () => {
    // dW = hᵀ·dy of a 10-wide output layer (m = 1024, k = 256, n = 10): tfjs's flagged kernel is
    // 4–5× slower than transposing h first (bench/matmulProbe.ts's row 1×1024×256×10 A).
    expect(measuredRule("wasm", { batch: 1, m: 1024, k: 256, n: 10, transposeA: true, transposeB: false })).toBe(true)
    expect(measuredRule("wasm", { batch: 1, m: 256, k: 1024, n: 10, transposeA: true, transposeB: false })).toBe(true)
    // Bᵀ with only 10 rows in the result: the flagged kernel wins (0.6–0.9×), keep the flag.
    expect(measuredRule("wasm", { batch: 1, m: 10, k: 256, n: 1024, transposeA: false, transposeB: true })).toBe(false)
  })

  it("rewrites only unbatched wasm products of at least 32³ multiply-adds (Bᵀ only with at least 16 result rows)", () => {
    fc.assert(
      fc.property(
        fc.constantFrom("wasm", "cpu", "tensorflow", "webgl"),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 2048 }),
        fc.integer({ min: 1, max: 2048 }),
        fc.integer({ min: 1, max: 2048 }),
        fc.boolean(),
        fc.boolean(),
        (backend, batch, m, k, n, transposeA, transposeB) => {
          const shape = { batch, m, k, n, transposeA, transposeB }
          const reused = !transposeB || m >= 16
          expect(measuredRule(backend, shape)).toBe(backend === "wasm" && batch === 1 && m * k * n >= 32 ** 3 && reused)
        },
      ),
    )
  })

  it("reads batch, m, k, n from stored shapes and flags", () => {
    expect(matMulShapeOf([3, 5, 7], [3, 7, 2], false, false)).toEqual({ batch: 3, m: 5, k: 7, n: 2, transposeA: false, transposeB: false })
    expect(matMulShapeOf([7, 5], [2, 7], true, true)).toEqual({ batch: 1, m: 5, k: 7, n: 2, transposeA: true, transposeB: true })
  })

  it("SCALPEL_FAST_MATMUL: unset or 1 enables, 0/false/off/no disables", () => {
    expect(parseFastMatMulSetting(undefined)).toBe(true)
    expect(parseFastMatMulSetting("1")).toBe(true)
    for (const off of ["0", "false", "OFF", " no "]) expect(parseFastMatMulSetting(off)).toBe(false)
  })
})
