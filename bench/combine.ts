/**
 * Combination throughput: Bloop's combine step alone (EMA update + projection + direction, for
 * two levels) over 1e4…1e7 parameters, against a plain Float32Array copy of the same size measured
 * in the same run. Bandwidth counts the bytes the step must move at least: three vectors read
 * (g_main, g_aux, ĝ) and two written (d, ĝ'), i.e. 20 bytes per parameter; a copy moves 8.
 * Variants: scalpel's fused host path (`projectedCombination`), the Bloop rule's whole `step`
 * (which calls it), and the same maths with tfjs tensor operations (the previous implementation).
 *
 * `npm run bench -- combine` (`--quick` for fewer repetitions and sizes up to 1e6; cpu always stops at 1e6).
 */
import { Effect } from "effect"
import { activateBackend, type BackendName } from "../src/core/backend.ts"
import { projectedCombination, projectedCombinationWithTensorOps } from "../src/core/projectedCombination.ts"
import { layoutOf } from "../src/core/paramVector.ts"
import { tf, tidy, type Tensor1D } from "../src/core/tf.ts"
import { objective } from "../src/dsl/objective.ts"
import { prioritize } from "../src/dsl/structure.ts"
import { bloop } from "../src/interpreters/bloop.ts"
import { interleave, isQuick, mb, median, ms, ratio, table, timeMs } from "./measure.ts"

export const description = "Bloop's combine step (EMA + projection + direction) vs a Float32Array copy of the same size"

const lambda = 0.5
const decay = 0.99

const rule = Effect.runSync(
  Effect.flatMap(bloop.decodeOptions({}), (options) =>
    bloop.lower(prioritize(objective("main", () => tf.scalar(0)), objective("aux", () => tf.scalar(0)), { lambda }), options, { seed: 0 }),
  ),
)

const measureSize = (n: number, rounds: number) => {
  const [g0, g1, ema] = [1, 2, 3].map((seed) => tf.randomNormal([n], 0, 1, "float32", seed) as Tensor1D) as [Tensor1D, Tensor1D, Tensor1D]
  const src = new Float32Array(n).map((_, i) => Math.sin(i))
  const dst = new Float32Array(n)
  const state = { t: 1, emas: [ema] }
  void layoutOf
  // Small sizes repeat inside one sample so that a sample lasts long enough to time.
  const repeat = Math.max(1, Math.round(1e6 / n))
  const timed = (fn: () => void) => () => timeMs(() => { for (let r = 0; r < repeat; r++) fn() }) / repeat
  const samples = interleave(rounds, [
    ["copy", timed(() => dst.set(src))],
    ["fused", timed(() => {
      const [d, e] = projectedCombination([g0, g1], [ema], [1, lambda], { emas: [ema], decay })
      tf.dispose([d, ...e])
    })],
    ["rule step", timed(() => {
      const [d, next] = tidy(() => rule.step({ main: g0, aux: g1 }, state))
      tf.dispose([d, ...(next as { emas: ReadonlyArray<Tensor1D> }).emas])
    })],
    ["tensor ops", timed(() => {
      const [d, e] = projectedCombinationWithTensorOps([g0, g1], [ema], [1, lambda], { emas: [ema], decay })
      tf.dispose([d, ...e])
    })],
  ])
  tf.dispose([g0, g1, ema])
  return samples
}

export const run = async (args: ReadonlyArray<string>): Promise<void> => {
  const quick = isQuick(args)
  const sizes = quick ? [1e4, 1e5, 1e6] : [1e4, 1e5, 1e6, 1e7]
  const backends: ReadonlyArray<BackendName> = ["wasm", "cpu"]
  for (const backend of backends) {
    await Effect.runPromise(activateBackend(backend))
    const rows: Array<Array<string>> = []
    // The cpu backend's tensor-op path takes ~20 s per sample at 1e7; cpu stops at 1e6.
    for (const n of backend === "cpu" ? sizes.filter((x) => x <= 1e6) : sizes) {
      const s = measureSize(n, quick ? 5 : n >= 1e7 ? 9 : 15)
      const t = (name: string) => median(s[name]!.samples)
      const gbps = (bytes: number, millis: number) => bytes / 1e6 / millis
      const copyBandwidth = gbps(8 * n, t("copy"))
      const bandwidth = (name: string) => gbps(20 * n, t(name))
      rows.push([
        n.toExponential(0),
        ms(t("copy")),
        ms(t("fused")),
        ms(t("rule step")),
        ms(t("tensor ops")),
        copyBandwidth.toFixed(2),
        bandwidth("fused").toFixed(2),
        ratio(bandwidth("fused") / copyBandwidth),
        ratio(bandwidth("rule step") / copyBandwidth),
        ratio(bandwidth("tensor ops") / copyBandwidth),
        mb(Math.max(...Object.values(s).map((v) => v.peak.rssBytes))),
        mb(Math.max(...Object.values(s).map((v) => v.peak.tfBytes))),
      ])
    }
    console.log(`backend: ${backend} (medians of interleaved samples; bandwidth in GB/s; target fused ≥ 0.50 of copy at 1e7 on wasm)\n`)
    console.log(
      table(
        ["n", "copy ms", "fused ms", "rule step ms", "tensor ops ms", "copy GB/s", "fused GB/s", "fused/copy", "rule step/copy", "tensor ops/copy", "peak RSS MB", "peak tfjs MB"],
        rows,
      ),
    )
    console.log("")
  }
}
