/**
 * One method of the DSL-overhead benchmark, in a process of its own: scalpel's training stream and
 * the hand-written tfjs loop for the same maths, alternating step by step in the order ABBA (so
 * that drift within the process hits both alike), each step timed in wall-clock and in CPU time.
 * `bench/overhead.ts` runs this file once per (method, repetition) as a child process and reads the
 * JSON line it prints; alone: `tsx bench/overheadPair.ts METHOD ROUNDS`.
 *
 * A process per method keeps the other methods' models out of the heap and the caches: with all
 * ten variants in one process, variants doing the same work measured up to 20 % apart.
 */
import { Effect, Exit, Scope, Stream } from "effect"
import { fileURLToPath } from "node:url"
import { activateBackend } from "../src/core/backend.ts"
import { tf, type Tensor, type Variable } from "../src/core/tf.ts"
import { trainingEvents, type TrainingEvent } from "../src/training/train.ts"
import { newPeak, sampleMemory } from "./measure.ts"
import { lowerBuiltin } from "./rules.ts"
import { batchSize, lambda, learningRate, mlpProblem, mlpSpec, type MlpProblem, parameterDeclarations, twoLevels } from "./mlp.ts"

/** The methods the overhead benchmark compares, each with a hand-written tfjs version below. */
export const overheadMethods = ["weighted-sum", "bloop", "bloop-no-ema", "pcgrad", "mgda"] as const
export type OverheadMethod = (typeof overheadMethods)[number]

/** Steps of each side run before timing starts. */
export const warmupSteps = 3
type Method = OverheadMethod

/** A scalpel run advanced one step per call (the stream is pulled by hand). */
const scalpelStepper = async (problem: MlpProblem, method: Method, steps: number) => {
  const spec = mlpSpec(twoLevels(problem), steps)
  const rule = lowerBuiltin(method, spec.structure, spec.seed)
  const scope = Effect.runSync(Scope.make())
  const pull = await Effect.runPromise(Scope.extend(Stream.toPull(trainingEvents(spec, rule)), scope))
  const next = () => Effect.runPromise(pull as Effect.Effect<unknown, unknown>) as Promise<ReadonlyArray<TrainingEvent>>
  return { next, close: () => Effect.runPromise(Scope.close(scope, Exit.void)) }
}

/** The same maths written directly against tfjs, per variable. */
const handWritten = (problem: MlpProblem, method: Method) => {
  const names = Object.keys(parameterDeclarations).sort()
  const variables: Record<string, Variable> = {}
  for (const name of names) {
    const d = parameterDeclarations[name]!
    variables[name] = tf.variable(d.init.kind === "zeros" ? tf.zeros([...d.shape]) : tf.randomUniform([...d.shape], -0.05, 0.05), true)
  }
  const list = names.map((n) => variables[n]!)
  let ema: Record<string, Tensor> | undefined
  let cursor = 0
  const dot = (a: Record<string, Tensor>, b: Record<string, Tensor>) => tf.addN(names.map((n) => tf.sum(tf.mul(a[n]!, b[n]!))))
  const step = () => {
    const newEma = tf.tidy(() => {
      const indices = Int32Array.from({ length: batchSize }, (_, i) => (cursor + i * 31) % problem.data.size)
      cursor += 1
      const batch = problem.data.batch(indices)
      const byName = (grads: Record<string, Tensor>) => Object.fromEntries(names.map((n) => [n, grads[variables[n]!.name]!]))
      const gm = byName(tf.variableGrads(() => problem.mainLoss(variables, batch), list).grads)
      const ga = byName(tf.variableGrads(() => problem.auxLoss(variables), list).grads)
      let direction: Record<string, Tensor>
      let keep: Record<string, Tensor> | undefined
      if (method === "weighted-sum") {
        direction = Object.fromEntries(names.map((n) => [n, tf.add(gm[n]!, tf.mul(ga[n]!, lambda))]))
      } else if (method === "pcgrad") {
        const gaw = Object.fromEntries(names.map((n) => [n, tf.mul(ga[n]!, lambda)]))
        const cross = dot(gm, gaw)
        const c1 = tf.div(tf.minimum(cross, 0), dot(gaw, gaw))
        const c2 = tf.div(tf.minimum(cross, 0), dot(gm, gm))
        direction = Object.fromEntries(names.map((n) => [n, tf.add(tf.sub(gm[n]!, tf.mul(gaw[n]!, c1)), tf.sub(gaw[n]!, tf.mul(gm[n]!, c2)))]))
      } else if (method === "mgda") {
        // Two tasks g₁ = ∇main, g₂ = λ∇aux: the min-norm point of the segment, α = clip(⟨g₂ − g₁, g₂⟩/‖g₁ − g₂‖², 0, 1).
        const gaw = Object.fromEntries(names.map((n) => [n, tf.mul(ga[n]!, lambda)]))
        const diff = Object.fromEntries(names.map((n) => [n, tf.sub(gaw[n]!, gm[n]!)]))
        const alpha = tf.clipByValue(tf.div(dot(diff, gaw), tf.maximum(dot(diff, diff), 1e-30)), 0, 1)
        direction = Object.fromEntries(names.map((n) => [n, tf.add(tf.mul(gm[n]!, alpha), tf.mul(gaw[n]!, tf.sub(1, alpha)))]))
      } else {
        const reference = method === "bloop" && ema !== undefined ? ema : gm
        const c = tf.div(dot(ga, reference), dot(reference, reference))
        direction = Object.fromEntries(names.map((n) => [n, tf.add(gm[n]!, tf.mul(tf.sub(ga[n]!, tf.mul(reference[n]!, c)), lambda))]))
        keep = Object.fromEntries(names.map((n) => [n, ema === undefined ? tf.clone(gm[n]!) : tf.add(tf.mul(ema[n]!, 0.99), tf.mul(gm[n]!, 0.01))]))
      }
      for (const n of names) variables[n]!.assign(tf.sub(variables[n]!, tf.mul(direction[n]!, learningRate)))
      return keep
    })
    if (ema !== undefined) tf.dispose(Object.values(ema))
    ema = newEma
  }
  return { step, dispose: () => tf.dispose([...list, ...Object.values(ema ?? {})]) }
}

/** What one child process measured: per-step samples of both sides, in the order taken. */
export interface PairSamples {
  readonly method: Method
  readonly scalpelMs: ReadonlyArray<number>
  readonly handMs: ReadonlyArray<number>
  readonly scalpelCpuMs: ReadonlyArray<number>
  readonly handCpuMs: ReadonlyArray<number>
  /** Minor page faults of the process during each step (memory the step touched for the first time). */
  readonly scalpelFaults: ReadonlyArray<number>
  readonly handFaults: ReadonlyArray<number>
  readonly peakRssBytes: number
  readonly peakTfBytes: number
}

/** Wall-clock milliseconds, CPU milliseconds and minor page faults of one asynchronous call. */
const timed = async (run: () => Promise<unknown> | void): Promise<readonly [number, number, number]> => {
  const faults = process.resourceUsage().minorPageFault
  const cpu = process.cpuUsage()
  const start = performance.now()
  await run()
  const wall = performance.now() - start
  const used = process.cpuUsage(cpu)
  return [wall, (used.user + used.system) / 1000, process.resourceUsage().minorPageFault - faults] as const
}

/** Measure `rounds` steps of each side after `warmup` steps of each, alternating ABBA. */
export const measurePair = async (method: Method, rounds: number, warmup: number): Promise<PairSamples> => {
  await Effect.runPromise(activateBackend("wasm"))
  const problem = mlpProblem()
  const scalpel = await scalpelStepper(problem, method, rounds + warmup + 1)
  const hand = handWritten(problem, method)
  const sides = [() => scalpel.next(), () => hand.step()] as const
  for (let w = 0; w < warmup; w++) for (const side of sides) await side()
  const wall: [Array<number>, Array<number>] = [[], []]
  const cpu: [Array<number>, Array<number>] = [[], []]
  const faults: [Array<number>, Array<number>] = [[], []]
  const peak = newPeak()
  for (let r = 0; r < rounds; r++) {
    // ABBA: scalpel first in rounds 0, 3, 4, 7, 8, ...; hand-written first in the others.
    const order = (r + 1) % 4 < 2 ? [0, 1] : [1, 0]
    for (const side of order) {
      const [w, c, f] = await timed(sides[side]!)
      wall[side]!.push(w)
      cpu[side]!.push(c)
      faults[side]!.push(f)
      sampleMemory(peak)
    }
  }
  await scalpel.close()
  hand.dispose()
  problem.dispose()
  return { method, scalpelMs: wall[0], handMs: wall[1], scalpelCpuMs: cpu[0], handCpuMs: cpu[1], scalpelFaults: faults[0], handFaults: faults[1], peakRssBytes: peak.rssBytes, peakTfBytes: peak.tfBytes }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [method, rounds] = process.argv.slice(2)
  if (!overheadMethods.includes(method as Method) || !(Number(rounds) > 0)) {
    console.error(`usage: tsx bench/overheadPair.ts (${overheadMethods.join("|")}) ROUNDS`)
    process.exit(2)
  }
  console.log(JSON.stringify(await measurePair(method as Method, Number(rounds), warmupSteps)))
}
