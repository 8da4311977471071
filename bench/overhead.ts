/**
 * DSL overhead: one training step of each interpreter through scalpel's training stream, against
 * a hand-written tfjs loop doing the same maths without scalpel (two per-objective gradients with
 * `tf.variableGrads`, the same combination per variable with global inner products, SGD), on the
 * 1.06M-parameter MLP of `mlp.ts`. Also Bloop against weighted sum inside scalpel (both compute
 * separate per-objective gradients). Measured rules:
 * weighted sum, Bloop with and without EMA, PCGrad and MGDA (two tasks, closed form), whose
 * hand-written versions take a few lines each; the other Gram-based rules share MGDA's path
 * (`gram.ts`: float64 Gram matrix, small solver, one combining sweep).
 *
 * Each method runs in processes of its own (`overheadPair.ts`, three repetitions in rotated
 * order), the two sides alternating ABBA within the process; the ratio is the median of the paired
 * step ratios. The combine parts are timed here, in this process.
 *
 * `npm run bench -- overhead` (`--quick` for fewer repetitions).
 */
import { Effect } from "effect"
import { spawnSync } from "node:child_process"
import { fileURLToPath } from "node:url"
import { activateBackend } from "../src/core/backend.ts"
import { interleave, isQuick, keptMemoryEnv, mb, median, ms, ratio, table } from "./measure.ts"
import { combineStepper, lowerBuiltin } from "./rules.ts"
import { batchSize, mlpProblem, mlpSpec, type MlpProblem, parameterCount, parameterDeclarations, twoLevels } from "./mlp.ts"
import { overheadMethods, type OverheadMethod, type PairSamples, warmupSteps } from "./overheadPair.ts"

export const description = `one training step of each interpreter vs a hand-written tfjs loop (MLP, ${(parameterCount / 1e6).toFixed(2)}M parameters, batch ${batchSize})`

/**
 * The combine part of a step alone for each method (rule step, optimizer, applying the step:
 * `combineAndApply`, as the session calls it) on fixed random gradients of the MLP's size. Its
 * differences between methods are what separates their step times; unlike whole steps, they are
 * short enough to measure with little noise.
 */
const combineOnly = (problem: MlpProblem, rounds: number): Record<string, number> => {
  const spec = mlpSpec(twoLevels(problem), 1)
  const steppers = overheadMethods.map((method) => [method, combineStepper(lowerBuiltin(method, spec.structure, spec.seed), spec.optimizer, parameterDeclarations, 2)] as const)
  const samples = interleave(
    rounds,
    steppers.map(([method, stepper]) => [method, stepper.step] as const),
  )
  for (const [, stepper] of steppers) stepper.dispose()
  return Object.fromEntries(overheadMethods.map((m) => [m, median(samples[m]!.samples)]))
}

/** Paired ratios scalpel/hand-written of one process, step by step (the two steps of a round are adjacent in time). */
const pairedRatios = (scalpel: ReadonlyArray<number>, hand: ReadonlyArray<number>): Array<number> => scalpel.map((s, i) => s / hand[i]!)

/** Run one (method, repetition) in a child process and read its samples. */
const runPair = (method: OverheadMethod, rounds: number, env: Readonly<Record<string, string>>): PairSamples => {
  const child = spawnSync(process.execPath, ["--import", "tsx", fileURLToPath(new URL("./overheadPair.ts", import.meta.url)), method, String(rounds)], {
    env: { ...process.env, ...env },
    encoding: "utf8",
    maxBuffer: 64 * 2 ** 20,
  })
  const last = child.stdout.trim().split("\n").at(-1) ?? ""
  if (child.status !== 0 || !last.startsWith("{")) throw new Error(`overhead pair ${method} failed (status ${child.status}): ${child.stderr.slice(-2000)}`)
  return JSON.parse(last) as PairSamples
}

/** Each method in `repetitions` processes of its own; repetition r runs the methods in an order rotated by r. */
const measureAll = (rounds: number, repetitions: number, env: Readonly<Record<string, string>>): Record<OverheadMethod, Array<PairSamples>> => {
  const results = Object.fromEntries(overheadMethods.map((m) => [m, [] as Array<PairSamples>])) as Record<OverheadMethod, Array<PairSamples>>
  for (let r = 0; r < repetitions; r++) {
    for (let i = 0; i < overheadMethods.length; i++) {
      const method = overheadMethods[(i + r) % overheadMethods.length]!
      results[method].push(runPair(method, rounds, env))
    }
  }
  return results
}

const spread = (xs: ReadonlyArray<number>) => (xs.length === 1 ? ratio(xs[0]!) : `${ratio(Math.min(...xs))}–${ratio(Math.max(...xs))}`)

/** The overhead table of one allocator setting. */
const overheadTable = (results: Record<OverheadMethod, ReadonlyArray<PairSamples>>): string => {
  const pooled = (m: OverheadMethod, pick: (p: PairSamples) => ReadonlyArray<number>) => results[m].flatMap(pick)
  return table(
    ["method", "scalpel step (ms)", "hand-written tfjs (ms)", "ratio scalpel/tfjs", "per process", "ratio, CPU time", "per process, CPU", "target", "page faults per step, scalpel / tfjs", "peak RSS (MB)", "tfjs bytes (MB)"],
    overheadMethods.map((m) => [
      m,
      ms(median(pooled(m, (p) => p.scalpelMs))),
      ms(median(pooled(m, (p) => p.handMs))),
      ratio(median(pooled(m, (p) => pairedRatios(p.scalpelMs, p.handMs)))),
      spread(results[m].map((p) => median(pairedRatios(p.scalpelMs, p.handMs)))),
      ratio(median(pooled(m, (p) => pairedRatios(p.scalpelCpuMs, p.handCpuMs)))),
      spread(results[m].map((p) => median(pairedRatios(p.scalpelCpuMs, p.handCpuMs)))),
      "≤ 1.05",
      `${median(pooled(m, (p) => p.scalpelFaults))} / ${median(pooled(m, (p) => p.handFaults))}`,
      mb(Math.max(...results[m].map((p) => p.peakRssBytes))),
      mb(Math.max(...results[m].map((p) => p.peakTfBytes))),
    ]),
  )
}

export const run = async (args: ReadonlyArray<string>): Promise<void> => {
  const quick = isQuick(args)
  const rounds = quick ? 4 : 40
  const repetitions = quick ? 1 : 3
  console.log(
    `backend: wasm; each method in ${repetitions} process(es) of its own, ${rounds} steps of each side per process after ${warmupSteps} warm-up steps, ` +
      `alternating ABBA; ratio = median over all rounds of the paired ratios scalpel step / hand-written step (wall clock; CPU time, all threads, beside it); ` +
      `'per process' = the range of each process's own median ratio; page faults = median minor page faults per step\n`,
  )
  const byDefault = measureAll(rounds, repetitions, {})
  console.log("glibc malloc as configured by default (what users run):\n")
  console.log(overheadTable(byDefault))
  console.log(`\nglibc malloc keeping freed blocks (${Object.entries(keptMemoryEnv).map(([k, v]) => `${k}=${v}`).join(" ")}): fewer fresh pages, so fewer page faults in either side's step:\n`)
  console.log(overheadTable(measureAll(rounds, repetitions, keptMemoryEnv)))
  const step = (m: OverheadMethod) => median(byDefault[m].flatMap((p) => p.scalpelMs))
  await Effect.runPromise(activateBackend("wasm"))
  const problem = mlpProblem()
  const combine = combineOnly(problem, quick ? 5 : 41)
  problem.dispose()
  const ws = step("weighted-sum")
  console.log("\nBloop vs weighted sum, both through scalpel with separate per-objective gradients. The combine")
  console.log("part alone is timed separately (interleaved, on fixed gradients); 'from combine' is the step ratio")
  console.log("it implies: (weighted-sum step + combine − weighted-sum combine) / weighted-sum step.\n")
  console.log(
    table(
      ["variant", "step (ms)", "ratio to weighted sum", "combine (ms)", "ratio from combine", "target"],
      overheadMethods.map((m) => [
        m,
        ms(step(m)),
        ratio(step(m) / ws),
        ms(combine[m]!),
        ratio((ws + combine[m]! - combine["weighted-sum"]!) / ws),
        m === "bloop" ? "≤ 1.10" : "",
      ]),
    ),
  )
}
