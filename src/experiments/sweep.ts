/**
 * A sweep: one spec document trained over a grid of methods × λ × seeds, the evidence the Bloop
 * paper gives (Hsieh et al. 2024, §5: a Pareto front is the set of end-of-training points
 * (L_main(θ_λ), L_aux(θ_λ)) over a grid of λ, for each method).
 *
 * This module knows the grid, how one grid point changes the document (λ of the priority
 * structure, the method, the seed), and how one run becomes a {@link RunRecord}. Running many
 * jobs in parallel is `pool.ts`'s business; tables, plots and verdicts are `report.ts`'s.
 */
import { didYouMean } from "../dsl/suggest.ts"
import { Effect, Either, Stream } from "effect"
import { interpreterWithSharing } from "../interpreters/sharedParameters.ts"
import { SpecError } from "../dsl/errors.ts"
import type { MethodReference, SpecDocument, StructureDocument } from "../dsl/json.ts"
import type { Objective } from "../dsl/objective.ts"
import { levelsOf } from "../dsl/structure.ts"
import { builtinInterpreters } from "../interpreters/builtins.ts"
import type { InterpreterRegistry } from "../interpreters/registry.ts"
import { lookup } from "../interpreters/registry.ts"
import { builtinProblems, type ProblemCatalogue } from "../problems/catalogue.ts"
import { resolveSpecDocument } from "../problems/resolveSpec.ts"
import { type TrainingSummary, trainingEvents } from "../training/train.ts"

/**
 * How the learning rate follows λ: `none` keeps the document's, `inverse-one-plus-lambda`
 * multiplies it by 1/(1 + λ) (the Bloop paper's multi-task runs, §5.3, so that the size of a step
 * stays comparable when λ weighs the auxiliary gradient heavily).
 */
export type LearningRateScaling = "none" | "inverse-one-plus-lambda"

/** The grid of a sweep. */
export interface SweepGrid {
  readonly lambdas: ReadonlyArray<number>
  /** Method labels: an interpreter's name, or a key of `variants`. */
  readonly methods: ReadonlyArray<string>
  /** Number of seeds; seed k is the document's seed + k. */
  readonly seeds: number
  /** Named variants of an interpreter (e.g. `"bloop ρ=0.1": { name: "bloop", options: { rho: 0.1 } }`). */
  readonly variants?: Readonly<Record<string, MethodReference>> | undefined
  readonly learningRateScaling?: LearningRateScaling | undefined
  /** Record the training losses every this many steps (the trajectory figures); none when absent. */
  readonly trajectoryEvery?: number | undefined
}

/** One point of the grid. */
export interface SweepJob {
  /** The method's label (an interpreter's name or a variant's). */
  readonly method: string
  readonly lambda: number
  readonly seed: number
  /** The interpreter and options behind a variant label; absent for a plain interpreter name. */
  readonly variant?: MethodReference | undefined
  /** Factor of the document's learning rate (1 when absent). */
  readonly learningRateFactor?: number | undefined
  readonly trajectoryEvery?: number | undefined
}

/** The factor of the learning rate at `lambda`. */
export const learningRateFactor = (scaling: LearningRateScaling | undefined, lambda: number): number =>
  scaling === "inverse-one-plus-lambda" ? 1 / (1 + lambda) : 1

/** Every job of `grid`, λ-major so that a partial sweep already covers every method. */
export const sweepJobs = (grid: SweepGrid, baseSeed: number): ReadonlyArray<SweepJob> =>
  grid.lambdas.flatMap((lambda) =>
    Array.from({ length: grid.seeds }, (_, k) => baseSeed + k).flatMap((seed) =>
      grid.methods.map((method) => {
        const variant = grid.variants?.[method]
        const factor = learningRateFactor(grid.learningRateScaling, lambda)
        return {
          method,
          lambda,
          seed,
          ...(variant === undefined ? {} : { variant }),
          ...(factor === 1 ? {} : { learningRateFactor: factor }),
          ...(grid.trajectoryEvery === undefined ? {} : { trajectoryEvery: grid.trajectoryEvery }),
        }
      }),
    ),
  )

/** Check a grid before running anything: known methods, non-negative λ, at least one seed. */
export const validateGrid = (grid: SweepGrid, registry: InterpreterRegistry = builtinInterpreters): Either.Either<SweepGrid, SpecError> => {
  const fail = (path: string, problem: string) => Either.left(new SpecError({ path, problem }))
  if (grid.methods.length === 0) return fail("method", "expected at least one method")
  const unknown = grid.methods.find((m) => !registry.has(m) && grid.variants?.[m] === undefined)
  const known = [...registry.keys()]
  if (unknown !== undefined) {
    return fail("method", `unknown method '${unknown}'${didYouMean(unknown, [...known, ...Object.keys(grid.variants ?? {})])} (known: ${known.join(", ")}, or a key of variants)`)
  }
  for (const [label, variant] of Object.entries(grid.variants ?? {})) {
    if (!registry.has(variant.name)) return fail(`variants.${label}.name`, `unknown method '${variant.name}'${didYouMean(variant.name, known)} (known: ${known.join(", ")})`)
  }
  if (grid.trajectoryEvery !== undefined && !(Number.isInteger(grid.trajectoryEvery) && grid.trajectoryEvery > 0)) {
    return fail("trajectoryEvery", `expected a positive integer, got ${grid.trajectoryEvery}`)
  }
  if (grid.lambdas.length === 0) return fail("lambda", "expected at least one λ")
  const bad = grid.lambdas.find((l) => !(Number.isFinite(l) && l >= 0))
  if (bad !== undefined) return fail("lambda", `expected non-negative numbers, got ${bad}`)
  if (!(Number.isInteger(grid.seeds) && grid.seeds > 0)) return fail("seeds", `expected a positive integer, got ${grid.seeds}`)
  return Either.right(grid)
}

/**
 * Set the λ of every lower-priority level of a priority structure (`prioritize`, or a `hierarchy`
 * whose levels after the first all get this λ). Other structures have no λ to sweep.
 */
/** `structure` with the λ of its auxiliary level(s) set (a `prioritize`, or every level below the first of a `hierarchy`). */
export const withLambda = (structure: StructureDocument, lambda: number): Either.Either<StructureDocument, SpecError> => {
  if (typeof structure !== "string" && structure.kind === "prioritize") return Either.right({ ...structure, lambda })
  if (typeof structure !== "string" && structure.kind === "hierarchy" && structure.levels.length >= 2) {
    return Either.right({ ...structure, levels: structure.levels.map((l, i) => (i === 0 ? l : { ...l, lambda })) })
  }
  const kind = typeof structure === "string" ? "a single objective" : `a '${structure.kind}'`
  return Either.left(
    new SpecError({ path: "structure", problem: `a λ sweep needs a 'prioritize' or 'hierarchy' structure, got ${kind}` }),
  )
}

/**
 * The document of one job: its λ, its method (a variant's interpreter and options; otherwise the
 * document's options when it names the same method), its seed, its learning rate. The document
 * method's `sharedParameters` applies to every method of the sweep.
 */
export const documentForJob = (document: SpecDocument, job: SweepJob): Either.Either<SpecDocument, SpecError> =>
  Either.map(withLambda(document.structure, job.lambda), (structure) => ({
    ...document,
    structure,
    seed: job.seed,
    method: {
      ...(job.variant ?? (job.method === document.method.name ? document.method : { name: job.method, options: {} })),
      ...(document.method.sharedParameters === undefined ? {} : { sharedParameters: document.method.sharedParameters }),
    },
    optimizer: { ...document.optimizer, learningRate: document.optimizer.learningRate * (job.learningRateFactor ?? 1) },
  }))

/** Training losses of the two levels along a run, each a mean of the mini-batch losses over its window of steps. */
export interface Trajectory {
  /** The last step of each window. */
  readonly steps: ReadonlyArray<number>
  readonly main: ReadonlyArray<number>
  readonly aux: ReadonlyArray<number>
}

/**
 * One run, epoch by epoch (for runs declared in epochs): at the end of each epoch, the mean of the
 * epoch's mini-batch losses of each level (what the Bloop authors' script prints as its train
 * loss) and every evaluation measured on its whole data set (held-out losses, accuracies, and the
 * auxiliary objectives, which read no data, at the epoch's last parameters).
 */
export interface EpochHistory {
  /** The step that ends each epoch. */
  readonly steps: ReadonlyArray<number>
  /** Mean over the epoch's steps of the main level's mini-batch loss. */
  readonly trainMain: ReadonlyArray<number>
  readonly trainAux: ReadonlyArray<number>
  /** Each evaluation's value at the end of each epoch, by name (`ce:test`, `accuracy:test`, the auxiliary objectives, ...). */
  readonly values: Readonly<Record<string, ReadonlyArray<number>>>
}

/** What one run of a sweep reports. */
export interface RunRecord {
  readonly method: string
  readonly lambda: number
  readonly seed: number
  /** Main level's loss on its training data at the end (Σ weight·loss over its objectives). */
  readonly mainTrain: number
  readonly auxTrain: number
  /** The same on held-out data: `name:test` evaluations, or the training value when there is none (a prior). */
  readonly mainTest: number
  readonly auxTest: number
  /** Whether the main level had held-out data (false: `mainTest` repeats the training value). */
  readonly heldOut: boolean
  /** Mini-batch training losses along the run, when the grid asked for them. */
  readonly trajectory?: Trajectory | undefined
  /** Per-epoch losses and evaluations, for a run declared in epochs. */
  readonly epochs?: EpochHistory | undefined
  /** Other evaluations (accuracies, ...), by name. */
  readonly metrics: Readonly<Record<string, number>>
  readonly wallTimeMs: number
  readonly backend: string
}

/** Names of the held-out version of an objective, by convention. */
export const testName = (objective: string): string => `${objective}:test`

type LevelTerms = ReadonlyArray<{ readonly objective: Objective<any>; readonly weight: number }>

const levelValue = (terms: LevelTerms, values: (name: string) => number): number =>
  terms.reduce((acc, t) => acc + t.weight * values(t.objective.name), 0)

/**
 * Train one document to the end and summarise it as a {@link RunRecord} (the job's method, λ and
 * seed are read back from the document). The problem's tensors are released in every case.
 */
export const runDocument = (
  document: SpecDocument,
  job: SweepJob,
  catalogue: ProblemCatalogue = builtinProblems,
  registry: InterpreterRegistry = builtinInterpreters,
) =>
  Effect.acquireUseRelease(
    resolveSpecDocument(document, catalogue),
    (resolved) =>
      Effect.gen(function* () {
        const levels = levelsOf(resolved.spec.structure)
        const main = Either.isRight(levels) ? levels.right[0] : undefined
        const aux = Either.isRight(levels) ? levels.right[1] : undefined
        if (main === undefined || aux === undefined) {
          return yield* new SpecError({ path: "structure", problem: "a sweep needs a main and an auxiliary level" })
        }
        const interpreter = yield* Effect.flatMap(lookup(registry, resolved.method.name), (found) =>
          interpreterWithSharing(found, resolved.method.sharedParameters, resolved.problem.sharing, resolved.problem.name),
        )
        const options = yield* interpreter.decodeOptions(resolved.method.options)
        const rule = yield* interpreter.lower(resolved.spec.structure, options, { seed: resolved.spec.seed })
        const every = job.trajectoryEvery
        const window = { main: 0, aux: 0, count: 0 }
        const trajectory = { steps: [] as Array<number>, main: [] as Array<number>, aux: [] as Array<number> }
        // A run declared in epochs is measured at the end of every epoch: the problem's evaluations
        // and the auxiliary level's objectives that read no data (a function of the weights only).
        const byEpoch = resolved.spec.epochs !== undefined
        const epochObjectives = [...resolved.problem.evaluations, ...aux.terms.map((t) => t.objective).filter((o) => o.data === undefined)]
        const epochWindow = { main: 0, aux: 0, count: 0 }
        const epochs = { steps: [] as Array<number>, trainMain: [] as Array<number>, trainAux: [] as Array<number>, values: {} as Record<string, Array<number>> }
        let summary: TrainingSummary | undefined
        const trainingOptions = byEpoch && epochObjectives.length > 0
          ? { evaluations: resolved.problem.evaluations, validation: { objectives: epochObjectives, every: { epochs: 1 } } }
          : { evaluations: resolved.problem.evaluations }
        yield* trainingEvents(resolved.spec, rule, trainingOptions).pipe(
          Stream.runForEach((event) =>
            Effect.sync(() => {
              if (event._tag === "Finished") summary = event.summary
              if (event._tag === "Evaluation" && byEpoch) {
                epochs.steps.push(event.step)
                epochs.trainMain.push(epochWindow.main / Math.max(1, epochWindow.count))
                epochs.trainAux.push(epochWindow.aux / Math.max(1, epochWindow.count))
                for (const [name, value] of Object.entries(event.values)) (epochs.values[name] ??= []).push(value)
                Object.assign(epochWindow, { main: 0, aux: 0, count: 0 })
              }
              if (event._tag === "Step" && byEpoch) {
                epochWindow.main += levelValue(main.terms, (n) => event.losses[n]!)
                epochWindow.aux += levelValue(aux.terms, (n) => event.losses[n]!)
                epochWindow.count += 1
              }
              if (event._tag !== "Step" || every === undefined) return
              window.main += levelValue(main.terms, (n) => event.losses[n]!)
              window.aux += levelValue(aux.terms, (n) => event.losses[n]!)
              window.count += 1
              if (event.step % every === 0 || event.step === resolved.spec.steps) {
                trajectory.steps.push(event.step)
                trajectory.main.push(window.main / window.count)
                trajectory.aux.push(window.aux / window.count)
                Object.assign(window, { main: 0, aux: 0, count: 0 })
              }
            }),
          ),
        )
        if (summary === undefined) return yield* Effect.die(new Error("unreachable: a training stream always ends with a Finished event"))
        const finished = summary
        const trainValue = (name: string) => finished.finalLosses[name]!
        const testValue = (name: string) => finished.evaluations[testName(name)] ?? finished.finalLosses[name]!
        const used = new Set([...main.terms, ...aux.terms].map((t) => testName(t.objective.name)))
        return {
          method: job.method,
          lambda: job.lambda,
          seed: job.seed,
          mainTrain: levelValue(main.terms, trainValue),
          auxTrain: levelValue(aux.terms, trainValue),
          mainTest: levelValue(main.terms, testValue),
          auxTest: levelValue(aux.terms, testValue),
          heldOut: main.terms.every((t) => finished.evaluations[testName(t.objective.name)] !== undefined),
          ...(every === undefined ? {} : { trajectory }),
          ...(byEpoch && epochs.steps.length > 0 ? { epochs } : {}),
          metrics: Object.fromEntries(Object.entries(finished.evaluations).filter(([name]) => !used.has(name))),
          wallTimeMs: finished.wallTimeMs,
          backend: finished.backend,
        } satisfies RunRecord
      }),
    (resolved) => Effect.sync(resolved.problem.dispose),
  )
