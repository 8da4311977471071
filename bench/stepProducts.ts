/**
 * The eight matrix products of the reference step (MLP 784-1024-1024-10, batch 256: three forward,
 * five backward) in GFLOP/s on each product path of the wasm backend, beside the machine's 128-bit
 * SIMD peak measured in the same run by a tiny WebAssembly loop, and PyTorch's (OpenBLAS) rate on
 * one thread when a PyTorch peer is given. Used by `bench/peer.ts` (`npm run bench -- peer`).
 *
 * Paths: scalpel's packed kernel (plain SIMD; relaxed FMA where the engine validates it), the old
 * path (tfjs's kernels behind fastMatMul.ts's explicit transposes, the default before the packed
 * kernel), and XNNPACK alone (tfjs's kernel on operands transposed beforehand, outside the timing:
 * what the old path would reach without its transposes).
 */
import { installFastMatMul, uninstallFastMatMul } from "../src/core/fastMatMul.ts"
import { installPackedMatMul, packedMatMulCount, relaxedSimdSupported, uninstallPackedMatMul } from "../src/core/packedMatMul.ts"
import { tf } from "../src/core/tf.ts"
import { assembleWat } from "../scripts/kernelAssembly.ts"
import { median, table } from "./timing.ts"

/** One product op(A)·op(B) of the step: op(A) is m×k, op(B) k×n. */
export interface StepProduct {
  readonly name: string
  readonly m: number
  readonly k: number
  readonly n: number
  readonly transposeA: boolean
  readonly transposeB: boolean
}

/** The step's products: y = h·W forward, dh = dy·Wᵀ and dW = hᵀ·dy backward (no dx for the input layer). */
export const stepProducts: ReadonlyArray<StepProduct> = [
  { name: "forward x·W1", m: 256, k: 784, n: 1024, transposeA: false, transposeB: false },
  { name: "forward h1·W2", m: 256, k: 1024, n: 1024, transposeA: false, transposeB: false },
  { name: "forward h2·W3", m: 256, k: 1024, n: 10, transposeA: false, transposeB: false },
  { name: "backward dy·W3ᵀ", m: 256, k: 10, n: 1024, transposeA: false, transposeB: true },
  { name: "backward dh2·W2ᵀ", m: 256, k: 1024, n: 1024, transposeA: false, transposeB: true },
  { name: "backward h2ᵀ·dy", m: 1024, k: 256, n: 10, transposeA: true, transposeB: false },
  { name: "backward h1ᵀ·dh2", m: 1024, k: 256, n: 1024, transposeA: true, transposeB: false },
  { name: "backward xᵀ·dh1", m: 784, k: 256, n: 1024, transposeA: true, transposeB: false },
]

export const flopsOf = (p: StepProduct): number => 2 * p.m * p.k * p.n

/** The product paths compared, and how to select each on the wasm backend. */
export type ProductPath = "packed-plain" | "packed-relaxed" | "old" | "tfjs"

/** Install exactly one product path on the wasm backend. */
export const selectProductPath = (path: ProductPath): void => {
  uninstallPackedMatMul("wasm")
  uninstallFastMatMul("wasm")
  if (path === "old") installFastMatMul({ backend: "wasm" })
  else if (path === "packed-plain" || path === "packed-relaxed") {
    const status = installPackedMatMul({ backend: "wasm", relaxed: path === "packed-relaxed" })
    if (!status.installed) throw new Error(`the packed kernel did not install on wasm (${status.variant})`)
  }
}

/**
 * A loop of 12 independent chains x ← x·b + c on f32x4 (plain: f32x4.mul then f32x4.add; relaxed:
 * f32x4.relaxed_madd), enough chains to hide the latency of the multiply-add on current x86 and ARM
 * cores: its rate is the 128-bit SIMD peak of one core, 8 FLOP per chain and iteration.
 */
const peakWat = (relaxed: boolean): string => {
  const chains = Array.from({ length: 12 }, (_, i) => i)
  const update = (i: number) =>
    relaxed
      ? `(local.set $x${i} (f32x4.relaxed_madd (local.get $x${i}) (local.get $b) (local.get $c)))`
      : `(local.set $x${i} (f32x4.add (f32x4.mul (local.get $x${i}) (local.get $b)) (local.get $c)))`
  return `(module
  (memory (export "memory") 1)
  (func (export "run") (param $n i32)
    (local $b v128) (local $c v128) ${chains.map((i) => `(local $x${i} v128)`).join(" ")}
    (local.set $b (f32x4.splat (f32.const 0.9999999)))
    (local.set $c (f32x4.splat (f32.const 0.0000001)))
    ${chains.map((i) => `(local.set $x${i} (f32x4.splat (f32.const ${1 + i / 16})))`).join("\n    ")}
    (block $done (loop $step
      (br_if $done (i32.eqz (local.get $n)))
      ${chains.map(update).join("\n      ")}
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $step)))
    ${chains.map((i) => `(v128.store offset=${16 * i} (i32.const 0) (local.get $x${i}))`).join("\n    ")}))`
}

/** The 128-bit SIMD peak (FLOP/s) of this core, best of `rounds` runs of the loop. */
export const simdPeak = async (relaxed: boolean, rounds: number, iterations = 2_000_000): Promise<number> => {
  const bytes = await assembleWat(relaxed ? "peak-relaxed.wat" : "peak.wat", peakWat(relaxed))
  const api = (globalThis as unknown as { readonly WebAssembly: { Module: new (b: Uint8Array) => object; Instance: new (m: object, i: object) => { exports: { run: (n: number) => void } } } }).WebAssembly
  const { run } = new api.Instance(new api.Module(bytes), {}).exports
  run(iterations / 10) // tier-up
  let best = Number.POSITIVE_INFINITY
  for (let r = 0; r < rounds; r++) {
    const start = performance.now()
    run(iterations)
    best = Math.min(best, performance.now() - start)
  }
  return (iterations * 12 * 8) / (best / 1000)
}

/** A PyTorch peer that times a product on its threads (`gemm M K N TA TB REPS` → median ms). */
export interface ProductPeer {
  readonly gemm: (p: StepProduct, reps: number) => Promise<number>
}

/** Median milliseconds of `reps` timed calls of `fn` (after one untimed call). */
const timeProduct = (fn: () => void, reps: number): number => {
  fn()
  const samples: Array<number> = []
  for (let r = 0; r < reps; r++) {
    const start = performance.now()
    fn()
    samples.push(performance.now() - start)
  }
  return median(samples)
}

/**
 * Print the products' GFLOP/s on every path (interleaved: each round times every path once per
 * product) and the SIMD peak. Leaves the packed plain kernel installed.
 */
export const printProductRates = async (options: { readonly reps: number; readonly rounds: number; readonly peer?: ProductPeer }): Promise<void> => {
  const relaxed = relaxedSimdSupported()
  const paths: ReadonlyArray<ProductPath> = relaxed ? ["packed-plain", "packed-relaxed", "old", "tfjs"] : ["packed-plain", "old", "tfjs"]
  const ms = new Map<string, Array<number>>()
  const key = (p: StepProduct, path: ProductPath | "xnnpack") => `${p.name}/${path}`
  for (let round = 0; round < options.rounds; round++) {
    for (const p of stepProducts) {
      const a = tf.randomNormal(p.transposeA ? [p.k, p.m] : [p.m, p.k], 0, 1, "float32", 1)
      const b = tf.randomNormal(p.transposeB ? [p.n, p.k] : [p.k, p.n], 0, 1, "float32", 2)
      const order = round % 2 === 0 ? paths : [...paths].reverse()
      for (const path of order) {
        selectProductPath(path)
        const before = packedMatMulCount()
        // XNNPACK alone: tfjs's kernel on the operands transposed beforehand (no flag reaches it).
        const [x, y, ta, tb] =
          path === "tfjs"
            ? [p.transposeA ? tf.transpose(a) : a, p.transposeB ? tf.transpose(b) : b, false, false]
            : [a, b, p.transposeA, p.transposeB]
        // No read-back: the wasm backend computes synchronously, and dataSync would time a fresh
        // JavaScript copy of the output (1-4 MB here, page faults on this machine): read that way,
        // dy·W3ᵀ (5.2 MFLOP) ran at 1.6 GFLOP/s, 3.3 ms; without it at 15 GFLOP/s.
        const t = timeProduct(() => tf.matMul(x, y, ta, tb).dispose(), options.reps)
        if (x !== a) x.dispose()
        if (y !== b) y.dispose()
        if (path.startsWith("packed") && packedMatMulCount() === before) throw new Error(`the packed kernel did not run for ${p.name}`)
        const name = key(p, path === "tfjs" ? "xnnpack" : path)
        ms.set(name, [...(ms.get(name) ?? []), t])
      }
      tf.dispose([a, b])
    }
  }
  const torch = new Map<string, number>()
  if (options.peer !== undefined) for (const p of stepProducts) torch.set(p.name, await options.peer.gemm(p, options.reps))
  selectProductPath("packed-plain")
  const peakPlain = await simdPeak(false, 5)
  const peakRelaxed = relaxed ? await simdPeak(true, 5) : undefined
  const columns: ReadonlyArray<readonly [string, ProductPath | "xnnpack"]> = [
    ["packed plain", "packed-plain"],
    ...(relaxed ? [["packed relaxed", "packed-relaxed"] as const] : []),
    ["old (transpose + tfjs)", "old"],
    ["XNNPACK alone", "xnnpack"],
  ]
  const gflops = (flops: number, milliseconds: number) => (flops / (milliseconds / 1000) / 1e9).toFixed(1)
  const totals = new Map<string, number>()
  const rows = stepProducts.map((p) => [
    p.name,
    `${p.m}×${p.k}×${p.n}${p.transposeA ? " Aᵀ" : ""}${p.transposeB ? " Bᵀ" : ""}`,
    ...columns.map(([, path]) => {
      const t = median(ms.get(key(p, path)) ?? [Number.NaN])
      totals.set(path, (totals.get(path) ?? 0) + t)
      return gflops(flopsOf(p), t)
    }),
    ...(options.peer === undefined ? [] : [gflops(flopsOf(p), torch.get(p.name) ?? Number.NaN)]),
  ])
  const stepFlops = stepProducts.reduce((s, p) => s + flopsOf(p), 0)
  const torchTotal = [...torch.values()].reduce((s, t) => s + t, 0)
  rows.push([
    "all eight (time-weighted)",
    `${(stepFlops / 1e9).toFixed(2)} GFLOP`,
    ...columns.map(([, path]) => gflops(stepFlops, totals.get(path) ?? Number.NaN)),
    ...(options.peer === undefined ? [] : [gflops(stepFlops, torchTotal)]),
  ])
  console.log("GFLOP/s of the step's products, one thread (median of the rounds):\n")
  console.log(table(["product", "m×k×n", ...columns.map(([name]) => name), ...(options.peer === undefined ? [] : ["PyTorch 1 thread"])], rows))
  console.log(
    `\n128-bit SIMD peak of one core (wasm loop, 12 chains): mul + add ${(peakPlain / 1e9).toFixed(1)} GFLOP/s` +
      (peakRelaxed === undefined ? " (relaxed SIMD not validated by this engine: no relaxed column)" : `, relaxed_madd ${(peakRelaxed / 1e9).toFixed(1)} GFLOP/s`) +
      `; the packed plain kernel's eight products reach ${((100 * stepFlops) / ((totals.get("packed-plain") ?? Number.NaN) / 1000) / peakPlain).toFixed(0)} % of the mul + add peak`,
  )
}
