/**
 * The probe behind `measuredRule` in src/core/fastMatMul.ts: for each backend, shape and
 * transpose flag, the time of tfjs's own kernel with the flag set against an explicit transpose
 * followed by the untransposed product. Interleaved repetitions, medians.
 *
 * `npm run bench -- matmul` (add `--quick` for fewer shapes and repetitions).
 */
import { Effect } from "effect"
import { activateBackend, type BackendName } from "../src/core/backend.ts"
import { installFastMatMul, measuredRule, uninstallFastMatMul, type MatMulShape } from "../src/core/fastMatMul.ts"
import { uninstallPackedMatMul } from "../src/core/packedMatMul.ts"
import { tf } from "../src/core/tf.ts"
import { interleave, median, ms, table, timeMs } from "./timing.ts"

export const description = "transposed matMul: tfjs kernel with the flag vs explicit transpose + plain product"

type Case = readonly [batch: number, m: number, k: number, n: number]

const wasmCases: ReadonlyArray<Case> = [
  [1, 1024, 1024, 1024],
  [1, 256, 784, 1024],
  [1, 784, 256, 1024],
  [1, 256, 1024, 1024],
  [1, 1024, 256, 1024],
  [1, 256, 1024, 10],
  [1, 1024, 256, 10],
  [1, 256, 10, 1024],
  [1, 128, 128, 128],
  [1, 64, 64, 64],
  [1, 32, 32, 32],
  [1, 16, 16, 16],
  [8, 128, 128, 128],
  [64, 32, 32, 32],
]
const cpuCases: ReadonlyArray<Case> = [
  [1, 256, 784, 1024],
  [1, 256, 1024, 10],
  [1, 128, 128, 128],
  [1, 32, 32, 32],
  [8, 128, 128, 128],
]

const flagSets = [
  [true, false],
  [false, true],
  [true, true],
] as const

/** Repeat `fn` until about `targetMs` has passed and return the time per call. */
const perCall = (fn: () => void, targetMs: number): number => {
  let calls = 1
  for (;;) {
    const elapsed = timeMs(() => {
      for (let i = 0; i < calls; i++) fn()
    })
    if (elapsed >= targetMs || calls >= 4096) return elapsed / calls
    calls *= Math.max(2, Math.ceil(targetMs / Math.max(elapsed, 0.01)))
  }
}

const probeBackend = async (backend: BackendName, cases: ReadonlyArray<Case>, rounds: number): Promise<void> => {
  await Effect.runPromise(activateBackend(backend))
  // This probe compares tfjs's own kernels with and without the explicit transposes (the packed
  // kernel, the wasm default now, is compared in `npm run bench -- peer`).
  uninstallPackedMatMul()
  uninstallFastMatMul()
  const rows: Array<Array<string>> = []
  for (const [batch, m, k, n] of cases) {
    for (const [transposeA, transposeB] of flagSets) {
      const dims = (rows: number, cols: number, transposed: boolean) => {
        const last = transposed ? [cols, rows] : [rows, cols]
        return batch === 1 ? last : [batch, ...last]
      }
      const a = tf.randomNormal(dims(m, k, transposeA))
      const b = tf.randomNormal(dims(k, n, transposeB))
      // Not `tf.tidy(() => c.dataSync())`: tidy walks its result, and walking a typed array of
      // a million entries costs more than the product itself.
      const product = () => {
        const c = tf.matMul(a, b, transposeA, transposeB)
        c.dataSync()
        c.dispose()
      }
      const target = backend === "cpu" ? 5 : 20
      const samples = interleave(rounds, [
        [
          "flag",
          () => {
            uninstallFastMatMul()
            return perCall(product, target)
          },
        ],
        [
          "rewrite",
          () => {
            installFastMatMul({ rule: () => true })
            const t = perCall(product, target)
            uninstallFastMatMul()
            return t
          },
        ],
      ])
      tf.dispose([a, b])
      const flag = median(samples.flag!)
      const rewrite = median(samples.rewrite!)
      const shape: MatMulShape = { batch, m, k, n, transposeA, transposeB }
      const ruleSays = measuredRule(backend, shape)
      const faster = rewrite < flag
      rows.push([
        backend,
        `${batch}×${m}×${k}×${n}`,
        transposeA && transposeB ? "A,B" : transposeA ? "A" : "B",
        ms(flag),
        ms(rewrite),
        (flag / rewrite).toFixed(2),
        ruleSays ? "rewrite" : "keep",
        ruleSays === faster ? "" : Math.abs(flag - rewrite) < 0.02 * Math.max(flag, rewrite) + 0.005 ? "(tie)" : "DISAGREES",
      ])
    }
  }
  console.log(
    table(["backend", "batch×m×k×n", "transposed", "flag ms", "rewrite ms", "speed-up", "measuredRule", "check"], rows),
  )
}

export const run = async (args: ReadonlyArray<string>): Promise<void> => {
  const quick = args.includes("--quick")
  await probeBackend("wasm", quick ? wasmCases.filter((_, i) => i % 3 === 0) : wasmCases, quick ? 3 : 5)
  console.log("")
  await probeBackend("cpu", quick ? cpuCases.slice(1) : cpuCases, 3)
}
