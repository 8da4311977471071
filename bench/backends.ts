/**
 * Backends: a Bloop training step of the benchmark MLP and the combine step alone at 1e6
 * parameters, on every backend that loads here (cpu, wasm, and node when @tensorflow/tfjs-node
 * is installed), in alternating blocks; then checks that the automatic default is the fastest.
 *
 * `npm run bench -- backends` (`--quick` for fewer repetitions).
 */
import { Effect, Either, Stream } from "effect"
import { activateBackend, type BackendName, backendNames, selectBackend } from "../src/core/backend.ts"
import { projectedCombination } from "../src/core/projectedCombination.ts"
import { tf, type Tensor1D } from "../src/core/tf.ts"
import { trainingEvents } from "../src/training/train.ts"
import { isQuick, mb, median, ms, newPeak, type PeakMemory, ratio, sampleMemory, table, timeMs } from "./measure.ts"
import { lowerBuiltin } from "./rules.ts"
import { mlpProblem, mlpSpec, parameterCount, twoLevels } from "./mlp.ts"

export const description = "cpu vs wasm (vs node when installed): training step and combine step; is the automatic default the fastest?"

/** Peak memory per backend, sampled after every training step and after each block. */
const peaks: Record<string, PeakMemory> = {}

/** Step times (ms) of one Bloop session of `steps` steps on the active backend (named `backend`), after one warm-up step. */
const trainingSteps = async (backend: string, steps: number): Promise<Array<number>> => {
  const problem = mlpProblem()
  const spec = mlpSpec(twoLevels(problem), steps + 1)
  const rule = lowerBuiltin("bloop", spec.structure, 1)
  const times: Array<number> = []
  await Effect.runPromise(
    trainingEvents(spec, rule).pipe(
      Stream.runForEach((e) =>
        Effect.sync(() => {
          if (e._tag !== "Step") return
          if (e.step > 1) times.push(e.stepMs)
          sampleMemory((peaks[backend] ??= newPeak()))
        }),
      ),
    ),
  )
  problem.dispose()
  return times
}

const combineTimes = (reps: number): Array<number> => {
  const [g0, g1, ema] = [1, 2, 3].map((s) => tf.randomNormal([1e6], 0, 1, "float32", s) as Tensor1D) as [Tensor1D, Tensor1D, Tensor1D]
  const times = Array.from({ length: reps }, () =>
    timeMs(() => {
      const [d, e] = projectedCombination([g0, g1], [ema], [1, 0.5], { emas: [ema], decay: 0.99 })
      tf.dispose([d, ...e])
    }),
  )
  tf.dispose([g0, g1, ema])
  return times
}

export const run = async (args: ReadonlyArray<string>): Promise<void> => {
  const quick = isQuick(args)
  const available: Array<BackendName> = []
  for (const name of backendNames) {
    const loaded = await Effect.runPromise(Effect.either(activateBackend(name)))
    if (Either.isRight(loaded)) available.push(name)
    else console.log(`${name}: unavailable (${loaded.left.reason})`)
  }
  const step: Record<string, Array<number>> = Object.fromEntries(available.map((b) => [b, [] as Array<number>]))
  const combine: Record<string, Array<number>> = Object.fromEntries(available.map((b) => [b, [] as Array<number>]))
  const blocks = quick ? 1 : 2
  for (let block = 0; block < blocks; block++) {
    for (const name of block % 2 === 0 ? available : [...available].reverse()) {
      await Effect.runPromise(activateBackend(name))
      step[name]!.push(...(await trainingSteps(name, quick ? 2 : 4)))
      combine[name]!.push(...combineTimes(quick ? 3 : 7))
      sampleMemory((peaks[name] ??= newPeak()))
    }
  }
  const fastest = [...available].sort((a, b) => median(step[a]!) - median(step[b]!))[0]!
  console.log(`Bloop training step of the MLP (${(parameterCount / 1e6).toFixed(2)}M parameters) and combine step at 1e6, medians over ${blocks} alternating block(s)\n`)
  console.log(
    table(
      ["backend", "training step ms", "vs fastest", "combine step ms", "peak RSS MB", "peak tfjs MB"],
      available.map((b) => [b, ms(median(step[b]!)), ratio(median(step[b]!) / median(step[fastest]!)), ms(median(combine[b]!)), mb(peaks[b]!.rssBytes), mb(peaks[b]!.tfBytes)]),
    ),
  )
  const auto = await Effect.runPromise(selectBackend("auto"))
  console.log(
    `\nautomatic default: ${auto.name} (${auto.reason}); fastest measured: ${fastest} → ${auto.name === fastest ? "the default is the fastest available" : "THE DEFAULT IS NOT THE FASTEST"}`,
  )
}
