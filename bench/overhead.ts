/**
 * DSL overhead: one training step of each interpreter through scalpel's training stream, against
 * a hand-written tfjs loop doing the same maths without scalpel (two per-objective gradients with
 * `tf.variableGrads`, the same combination per variable with global inner products, SGD), on the
 * 1.06M-parameter MLP of `mlp.ts`. Also Bloop against weighted sum inside scalpel (both compute
 * separate per-objective gradients). Variants alternate step by step in one run. Measured rules:
 * weighted sum, Bloop with and without EMA, PCGrad and MGDA (two tasks, closed form), whose
 * hand-written versions take a few lines each; the other Gram-based rules share MGDA's path
 * (`gram.ts`: float64 Gram matrix, small solver, one combining sweep).
 *
 * `npm run bench -- overhead` (`--quick` for fewer repetitions).
 */
import { Effect, Exit, Scope, Stream } from "effect"
import { activateBackend } from "../src/core/backend.ts"
import { tf, type Tensor, type Variable } from "../src/core/tf.ts"
import { trainingEvents, type TrainingEvent } from "../src/training/train.ts"
import { interleave, isQuick, mb, median, ms, newPeak, type PeakMemory, ratio, sampleMemory, table } from "./measure.ts"
import { combineStepper, lowerBuiltin } from "./rules.ts"
import { batchSize, lambda, learningRate, mlpProblem, mlpSpec, type MlpProblem, parameterCount, parameterDeclarations, twoLevels } from "./mlp.ts"

export const description = `one training step of each interpreter vs a hand-written tfjs loop (MLP, ${(parameterCount / 1e6).toFixed(2)}M parameters, batch ${batchSize})`

const methods = ["weighted-sum", "bloop", "bloop-no-ema", "pcgrad", "mgda"] as const
type Method = (typeof methods)[number]

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

/**
 * The combine part of a step alone for each method (rule step, optimizer, applying the step:
 * `combineAndApply`, as the session calls it) on fixed random gradients of the MLP's size. Its
 * differences between methods are what separates their step times; unlike whole steps, they are
 * short enough to measure with little noise.
 */
const combineOnly = (problem: MlpProblem, rounds: number): Record<string, number> => {
  const spec = mlpSpec(twoLevels(problem), 1)
  const steppers = methods.map((method) => [method, combineStepper(lowerBuiltin(method, spec.structure, spec.seed), spec.optimizer, parameterDeclarations, 2)] as const)
  const samples = interleave(
    rounds,
    steppers.map(([method, stepper]) => [method, stepper.step] as const),
  )
  for (const [, stepper] of steppers) stepper.dispose()
  return Object.fromEntries(methods.map((m) => [m, median(samples[m]!.samples)]))
}

export const run = async (args: ReadonlyArray<string>): Promise<void> => {
  const rounds = isQuick(args) ? 4 : 41
  const warmup = 3
  await Effect.runPromise(activateBackend("wasm"))
  const problem = mlpProblem()
  const scalpel = await Promise.all(methods.map((m) => scalpelStepper(problem, m, rounds + warmup + 1)))
  const hand = methods.map((m) => handWritten(problem, m))
  const variants: Array<readonly [string, () => Promise<number>]> = methods.flatMap((m, i) => [
    [`scalpel ${m}`, async () => {
      const start = performance.now()
      await scalpel[i]!.next()
      return performance.now() - start
    }] as const,
    [`tfjs ${m}`, async () => {
      const start = performance.now()
      hand[i]!.step()
      return performance.now() - start
    }] as const,
  ])
  for (let w = 0; w < warmup; w++) for (const [, v] of variants) await v()
  // Asynchronous variants, so interleave by hand (same rotation as measure.ts's interleave).
  const samples: Record<string, Array<number>> = Object.fromEntries(variants.map(([n]) => [n, [] as Array<number>]))
  const peaks: Record<string, PeakMemory> = Object.fromEntries(variants.map(([n]) => [n, newPeak()]))
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < variants.length; i++) {
      const [name, v] = variants[(i + r) % variants.length]!
      samples[name]!.push(await v())
      sampleMemory(peaks[name]!)
    }
  }
  const med = (name: string) => median(samples[name]!)
  console.log(`backend: ${tf.getBackend()}, ${rounds} interleaved steps per variant after ${warmup} warm-up steps; peak memory is for the whole process\n`)
  console.log(
    table(
      ["method", "scalpel step (ms)", "hand-written tfjs (ms)", "ratio scalpel/tfjs", "target", "peak RSS (MB)", "tfjs bytes (MB)"],
      methods.map((m) => [
        m,
        ms(med(`scalpel ${m}`)),
        ms(med(`tfjs ${m}`)),
        ratio(med(`scalpel ${m}`) / med(`tfjs ${m}`)),
        "≤ 1.05",
        mb(peaks[`scalpel ${m}`]!.rssBytes),
        mb(peaks[`scalpel ${m}`]!.tfBytes),
      ]),
    ),
  )
  const combine = combineOnly(problem, isQuick(args) ? 5 : 41)
  const ws = med("scalpel weighted-sum")
  console.log("\nBloop vs weighted sum, both through scalpel with separate per-objective gradients. The combine")
  console.log("part alone is timed separately (interleaved, on fixed gradients); 'from combine' is the step ratio")
  console.log("it implies: (weighted-sum step + combine − weighted-sum combine) / weighted-sum step.\n")
  console.log(
    table(
      ["variant", "step (ms)", "ratio to weighted sum", "combine (ms)", "ratio from combine", "target"],
      methods.map((m) => [
        m,
        ms(med(`scalpel ${m}`)),
        ratio(med(`scalpel ${m}`) / ws),
        ms(combine[m]!),
        ratio((ws + combine[m]! - combine["weighted-sum"]!) / ws),
        m === "bloop" ? "≤ 1.10" : "",
      ]),
    ),
  )
  for (const s of scalpel) await s.close()
  for (const h of hand) h.dispose()
  problem.dispose()
}
