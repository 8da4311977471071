/**
 * One Bloop training step of the reference MLP 784-1024-1024-10 (1.86M parameters) at batch 256:
 * two gradients (cross-entropy on random data, an L2 prior), EMA of the main gradient, projection
 * of the auxiliary one, SGD. Variants, measured in one run with interleaved repetitions:
 *
 * (a) naive: a hand-written tfjs loop, `tf.variableGrads` twice, flat EMA/projection/SGD, with
 *     tfjs's own kernels (scalpel's fast kernels uninstalled);
 * (b) scalpel: the real training session (`trainingEvents`), fast kernels installed;
 * (b') scalpel with SCALPEL_FAST_MATMUL=0 (tfjs's own kernels), to separate the effect of
 *     scalpel's kernels (fastMatMul.ts, fastSlice.ts) from the rest of the loop;
 * (c) scalpel on the cpu backend, afterwards, fewer repetitions.
 *
 * The combine part (rule step = EMA + projection, optimizer, applyStep) is timed on its own with
 * the same functions the session calls, on gradients of the same size.
 *
 * `npm run bench -- step` (`--quick` for fewer repetitions).
 */
import { Effect, Stream } from "effect"
import { activateBackend, type BackendName } from "../src/core/backend.ts"
import { installFastMatMul, rewrittenMatMulCount, uninstallFastMatMul } from "../src/core/fastMatMul.ts"
import { installPackedMatMul, packedMatMulCount, uninstallPackedMatMul } from "../src/core/packedMatMul.ts"
import { installFastSlice, uninstallFastSlice } from "../src/core/fastSlice.ts"
import { tf, type Scalar, type Tensor, type Tensor1D } from "../src/core/tf.ts"
import { type DataSource, objective, type Params } from "../src/dsl/objective.ts"
import { makeSpec, type ParameterDeclaration, sgd, type Spec } from "../src/dsl/spec.ts"
import { prioritize } from "../src/dsl/structure.ts"
import { bloop } from "../src/interpreters/bloop.ts"
import type { UpdateRule } from "../src/interpreters/interpreter.ts"
import { createVariables } from "../src/training/parameters.ts"
import { trainingEvents } from "../src/training/train.ts"
import { mb, newPeak, type PeakMemory, sampleMemory } from "./measure.ts"
import { combineStepper } from "./rules.ts"
import { median, ms, table, timeMs } from "./timing.ts"

export const description = "one Bloop step of an MLP 784-1024-1024-10 at batch 256: naive tfjs vs scalpel"

const widths = [784, 1024, 1024, 10] as const
const batchSize = 256
const examples = 2048
const lambda = 0.1
const rho = 0.01
const learningRate = 0.01
const priorWeight = 1e-4

const parameters: Record<string, ParameterDeclaration> = Object.fromEntries(
  widths.slice(1).flatMap((out, i) => [
    [`w${i + 1}`, { shape: [widths[i]!, out], init: { kind: "glorot" } }],
    [`b${i + 1}`, { shape: [out], init: { kind: "zeros" } }],
  ]),
)

interface Batch {
  readonly x: Tensor
  readonly y: Tensor
}

const forward = (p: Params, x: Tensor): Tensor => {
  let h = x
  for (let i = 1; i < widths.length; i++) {
    const z = tf.add(tf.matMul(h, p[`w${i}`]!), p[`b${i}`]!)
    h = i === widths.length - 1 ? z : tf.relu(z)
  }
  return h
}
const crossEntropy = (p: Params, batch: Batch): Scalar => tf.losses.softmaxCrossEntropy(batch.y, forward(p, batch.x)) as Scalar
/** ½·c·‖θ‖² over every parameter (scalpel's session differentiates each objective in every variable). */
const l2Prior = (p: Params): Scalar => tf.mul(0.5 * priorWeight, tf.addN(Object.values(p).map((v) => tf.sum(tf.square(v))))) as Scalar

/** Random images and one-hot labels (2048 examples) as the session's data source. */
export const makeData = (): { readonly source: DataSource<Batch>; readonly dispose: () => void } => {
  const x = tf.randomUniform([examples, widths[0]], 0, 1, "float32", 1)
  const labels = tf.randomUniform([examples], 0, widths[3], "int32", 2)
  const y = tf.oneHot(labels, widths[3]).toFloat()
  labels.dispose()
  return {
    source: {
      name: "random-images",
      size: examples,
      batch: (indices) =>
        tf.tidy(() => {
          const idx = tf.tensor1d(indices, "int32")
          return { x: tf.gather(x, idx), y: tf.gather(y, idx) }
        }),
    },
    dispose: () => tf.dispose([x, y]),
  }
}

/** The reference Bloop spec: cross-entropy main, L2 prior aux, λ = 0.1, SGD 0.01, batch 256. */
export const makeBloopSpec = (source: DataSource<Batch>, steps: number): Spec =>
  Effect.runSync(
    makeSpec({
      parameters,
      structure: prioritize(objective("cross-entropy", crossEntropy, source), objective("l2-prior", l2Prior), { lambda }),
      optimizer: sgd({ learningRate }),
      steps,
      batchSize,
      seed: 3,
    }),
  )

/**
 * The reference spec on its own data, for gradient workers (`gradientWorkers(N, { module, export:
 * "referenceSpec", argument: steps })`): the data are seeded, so every thread builds the same.
 */
export const referenceSpec = (steps: number): Spec => makeBloopSpec(makeData().source, steps)

export const lowerBloop = (spec: Spec): UpdateRule<any> =>
  Effect.runSync(Effect.flatMap(bloop.decodeOptions({ rho }), (options) => bloop.lower(spec.structure, options, { seed: spec.seed })))

/** Variant (a): what one writes with plain tfjs. Returns the step's and the combine part's times. */
const makeNaiveStep = (source: DataSource<Batch>) => {
  const variables = createVariables(parameters, 5)
  const names = Object.keys(variables).sort()
  const list = names.map((n) => variables[n]!)
  let ema: Tensor1D | undefined
  let seed = 0
  const flat = (grads: Record<string, Tensor>): Tensor1D =>
    tf.concat(names.map((n) => tf.reshape(grads[n] ?? tf.zerosLike(variables[n]!), [-1]))) as Tensor1D
  const step = (): { readonly total: number; readonly combine: number } => {
    let combine = 0
    const total = timeMs(() => {
      const indices = Int32Array.from({ length: batchSize }, () => (seed = (seed * 1103515245 + 12345) % 2147483648) % examples)
      const batch = source.batch(indices)
      const main = tf.variableGrads(() => crossEntropy(variables, batch), list)
      const aux = tf.variableGrads(() => l2Prior(variables), list)
      combine = timeMs(() => {
        const next = tf.tidy(() => {
          const gMain = flat(main.grads)
          const gAux = flat(aux.grads)
          const reference = ema ?? gMain
          const coefficient = tf.div(tf.sum(tf.mul(gAux, reference)), tf.add(tf.sum(tf.square(reference)), 1e-30))
          const direction = tf.add(gMain, tf.mul(tf.sub(gAux, tf.mul(reference, coefficient)), lambda))
          let offset = 0
          for (const n of names) {
            const v = variables[n]!
            v.assign(tf.sub(v, tf.mul(tf.reshape(tf.slice(direction, offset, v.size), v.shape), learningRate)))
            offset += v.size
          }
          return ema === undefined ? gMain : tf.add(tf.mul(ema, 1 - rho), tf.mul(gMain, rho))
        }) as Tensor1D
        ema?.dispose()
        ema = next
        readScalar(ema) // wait for the work, as the session's finiteness check does
      })
      main.value.dataSync()
      tf.dispose([main.value, aux.value, ...Object.values(main.grads), ...Object.values(aux.grads), batch.x, batch.y])
    })
    return { total, combine }
  }
  const dispose = () => tf.dispose([...list, ...(ema === undefined ? [] : [ema])])
  return { step, dispose }
}

/** Run scalpel's real training session, calling `onStep` after each of its steps. */
export const runSession = (spec: Spec, onStep: (step: number, stepMs: number) => void | Promise<void>): Promise<void> =>
  Effect.runPromise(
    Stream.runForEach(trainingEvents(spec, lowerBloop(spec)), (event) =>
      event._tag === "Step" ? Effect.promise(async () => onStep(event.step, event.stepMs)) : Effect.void,
    ),
  )

/**
 * Read one number that depends on all of `x` (reading all of a large tensor back costs more than
 * the arithmetic and is not part of a step; on cpu and wasm the work is done when this returns).
 */
const readScalar = (x: Tensor): number => tf.tidy(() => tf.sum(x).dataSync()[0]!)

/** (a) and (b') run on tfjs's own kernels, (b) and the combine part on scalpel's (SCALPEL_FAST_MATMUL). */
const useTfjsKernels = (): void => {
  uninstallPackedMatMul()
  uninstallFastMatMul()
  uninstallFastSlice()
}
/** scalpel's default products: the packed kernel on wasm, the explicit transposes elsewhere. */
const useScalpelKernels = (): void => {
  if (!installPackedMatMul().installed) installFastMatMul()
  installFastSlice()
}

const activate = (backend: BackendName) => Effect.runPromise(activateBackend(backend))

export const run = async (args: ReadonlyArray<string>): Promise<void> => {
  const quick = args.includes("--quick")
  const rounds = quick ? 4 : 9
  const cpuSteps = quick ? 2 : 3
  await activate("wasm")
  const data = makeData()
  const naive = makeNaiveStep(data.source)
  const combineSpec = makeBloopSpec(data.source, 1)
  const combine = combineStepper(lowerBloop(combineSpec), combineSpec.optimizer, parameters, 9)
  const samples = { naive: [] as Array<number>, naiveCombine: [] as Array<number>, scalpel: [] as Array<number>, scalpelNoFast: [] as Array<number>, combine: [] as Array<number> }
  // Peak memory per variant, sampled right after each of its steps (RSS of the process, tfjs bytes).
  const peaks: Record<string, PeakMemory> = {}
  const notePeak = (variant: string) => sampleMemory((peaks[variant] ??= newPeak()))
  let fastRewrites = 0
  let countAtInstall: number | undefined

  // Warm-up: one step of each, not recorded (first kernel calls allocate XNNPACK operators).
  useTfjsKernels()
  naive.step()
  useScalpelKernels()
  combine.step()

  // The session drives: after each of its steps, the other variants run once, so that every
  // variant sees the same machine load. Session steps alternate: even steps with the fast kernels,
  // odd steps with tfjs's own; step 1 is a warm-up.
  await runSession(makeBloopSpec(data.source, 2 * rounds + 1), (step, stepMs) => {
    if (countAtInstall !== undefined) fastRewrites += rewrittenMatMulCount() + packedMatMulCount() - countAtInstall
    countAtInstall = undefined
    if (step > 1) (step % 2 === 0 ? samples.scalpel : samples.scalpelNoFast).push(stepMs)
    notePeak(step % 2 === 0 ? "scalpel" : "scalpelNoFast")
    useTfjsKernels()
    const n = naive.step()
    notePeak("naive")
    samples.naive.push(n.total)
    samples.naiveCombine.push(n.combine)
    useScalpelKernels()
    samples.combine.push(combine.step())
    if ((step + 1) % 2 === 0) countAtInstall = rewrittenMatMulCount() + packedMatMulCount()
    else useTfjsKernels()
  })
  const rewritesPerFastStep = fastRewrites / samples.scalpel.length
  naive.dispose()
  combine.dispose()

  // (c) the cpu backend, after the wasm rounds (a cpu step takes seconds).
  await activate("cpu")
  const cpu: Array<number> = []
  await runSession(makeBloopSpec(data.source, cpuSteps + 1), (step, stepMs) => {
    if (step > 1) cpu.push(stepMs)
    notePeak("cpu")
  })
  data.dispose()

  const naiveMs = median(samples.naive)
  const scalpelMs = median(samples.scalpel)
  const combineMs = median(samples.combine)
  const memory = (variant: string) => [mb(peaks[variant]?.rssBytes ?? 0), mb(peaks[variant]?.tfBytes ?? 0)]
  const rows = [
    ["(a) naive tfjs, wasm, default kernels", ms(naiveMs), String(samples.naive.length), "1.00", `${ms(median(samples.naiveCombine))} (${pct(median(samples.naiveCombine), naiveMs)})`, ...memory("naive")],
    ["(b) scalpel session, wasm, fast kernels", ms(scalpelMs), String(samples.scalpel.length), ratio(scalpelMs, naiveMs), `${ms(combineMs)} (${pct(combineMs, scalpelMs)})`, ...memory("scalpel")],
    ["(b') scalpel session, wasm, SCALPEL_FAST_MATMUL=0", ms(median(samples.scalpelNoFast)), String(samples.scalpelNoFast.length), ratio(median(samples.scalpelNoFast), naiveMs), "same as (b)", ...memory("scalpelNoFast")],
    ["(c) scalpel session, cpu", ms(median(cpu)), String(cpu.length), ratio(median(cpu), naiveMs), "-", ...memory("cpu")],
  ]
  console.log(table(["variant", "step ms (median)", "n", "step / naive", "combine ms (share of step)", "peak RSS MB", "peak tfjs MB"], rows))
  console.log(`\nscalpel wasm step / naive wasm step = ${(scalpelMs / naiveMs).toFixed(3)} (target ≤ 0.333)`)
  console.log(`combine / scalpel wasm step = ${(combineMs / scalpelMs).toFixed(3)} (target ≤ 0.10)`)
  console.log(`matMul kernel calls by scalpel's product path (packed kernel or explicit transposes) per fast session step: ${rewritesPerFastStep}`)
  console.log(`samples (ms): naive [${samples.naive.map(ms).join(", ")}]; scalpel [${samples.scalpel.map(ms).join(", ")}]`)
}

const ratio = (x: number, reference: number): string => (x / reference).toFixed(2)
const pct = (part: number, whole: number): string => `${((100 * part) / whole).toFixed(1)}%`
