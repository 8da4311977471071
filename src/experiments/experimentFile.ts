/**
 * Experiment files (`experiments/<name>.json`): a spec document, the sweep to run over it, the
 * words of its report, and a reduced "smoke" version that the test suite runs in seconds.
 */
import { readdir, readFile } from "node:fs/promises"
import { basename, join } from "node:path"
import { fileURLToPath } from "node:url"
import { Data, Effect, Either, Schema } from "effect"
import { SpecError } from "../dsl/errors.ts"
import { issueMessage } from "../dsl/issueMessage.ts"
import { decodeSpecDocument, MethodReferenceSchema, parseJsonText, type SpecDocument } from "../dsl/json.ts"
import type { SweepGrid } from "./sweep.ts"
import type { ReferenceTable } from "./referenceReport.ts"
import type { ReportFigures } from "./sweepReport.ts"

/** An experiment file cannot be read. */
export class ExperimentNotFound extends Data.TaggedError("ExperimentNotFound")<{
  readonly name: string
  readonly known: ReadonlyArray<string>
}> {
  override get message(): string {
    return `no experiment named '${this.name}' (known: ${this.known.join(", ") || "none"}; see scalpel experiment --list)`
  }
}

/** A file the command line was asked to read cannot be read. */
export class FileUnreadable extends Data.TaggedError("FileUnreadable")<{ readonly path: string; readonly reason: string }> {
  override get message(): string {
    return `cannot read ${this.path}: ${this.reason}`
  }
}

const Grid = Schema.Struct({
  methods: Schema.Array(Schema.String),
  lambdas: Schema.Array(Schema.Number),
  seeds: Schema.Number,
  variants: Schema.optional(Schema.Record({ key: Schema.String, value: MethodReferenceSchema })),
  learningRateScaling: Schema.optional(Schema.Literal("none", "inverse-one-plus-lambda")),
  trajectoryEvery: Schema.optional(Schema.Number),
})

const Figures = Schema.Struct({
  trajectoryLambda: Schema.optional(Schema.Number),
  mixedLoss: Schema.optional(Schema.Boolean),
  metric: Schema.optional(Schema.Struct({ name: Schema.String, label: Schema.String })),
  referenceForm: Schema.optional(Schema.Struct({ auxExpLabel: Schema.String })),
  epochs: Schema.optional(
    Schema.Struct({ lambda: Schema.Number, test: Schema.String, accuracy: Schema.String, aux: Schema.String, auxExpLabel: Schema.String }),
  ),
})

const Reference = Schema.Struct({
  source: Schema.String,
  referenceLabel: Schema.String,
  otherLabel: Schema.optional(Schema.String),
  rows: Schema.Array(
    Schema.Struct({
      aspect: Schema.Literal("data", "network", "optimizer", "training", "auxiliary", "methods", "lambda"),
      reference: Schema.String,
      other: Schema.optional(Schema.String),
    }),
  ),
})

const ExperimentSchema = Schema.Struct({
  title: Schema.String,
  setup: Schema.String,
  mainLabel: Schema.String,
  auxLabel: Schema.String,
  spec: Schema.Unknown,
  sweep: Grid,
  figures: Schema.optional(Figures),
  /** A published setting the family reproduces: its configuration beside the family's. */
  reference: Schema.optional(Reference),
  /** Another family whose committed results the report compares with (its name). */
  compareWith: Schema.optional(Schema.String),
  smoke: Schema.Struct({
    /** The smoke run's length: `steps`, or `epochs` (for a family declared in epochs); exactly one. */
    steps: Schema.optional(Schema.Number),
    epochs: Schema.optional(Schema.Number),
    lambdas: Schema.Array(Schema.Number),
    seeds: Schema.Number,
    trajectoryEvery: Schema.optional(Schema.Number),
    problemOptions: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.Unknown }), { default: () => ({}) }),
  }),
})

/** A decoded experiment. */
export interface Experiment {
  readonly name: string
  readonly title: string
  readonly setup: string
  readonly mainLabel: string
  readonly auxLabel: string
  readonly document: SpecDocument
  readonly grid: SweepGrid
  readonly figures: ReportFigures
  readonly reference?: ReferenceTable | undefined
  readonly compareWith?: string | undefined
}

/** The folder of the experiment files shipped with scalpel. */
export const experimentsFolder = fileURLToPath(new URL("../../experiments/", import.meta.url))

/** Names of the shipped experiments. */
export const listExperiments = (folder = experimentsFolder): Effect.Effect<ReadonlyArray<string>> =>
  Effect.promise(() => readdir(folder).catch(() => [] as Array<string>)).pipe(
    Effect.map((files) => files.filter((f) => f.endsWith(".json")).map((f) => basename(f, ".json")).sort()),
  )

/** Read a text file as a typed effect. */
export const readText = (path: string): Effect.Effect<string, FileUnreadable> =>
  Effect.tryPromise({
    try: () => readFile(path, "utf8"),
    catch: (error) => new FileUnreadable({ path, reason: (error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : String(error) }),
  })

const prefixed = (error: SpecError, prefix: string) =>
  new SpecError({ path: error.path === "" ? prefix : `${prefix}.${error.path}`, problem: error.problem })

/**
 * Decode an experiment from JSON text; `smoke` swaps in the reduced grid, step count and problem
 * options. Errors are {@link SpecError}s with paths such as `spec.structure.aux`.
 */
export const decodeExperiment = (name: string, text: string, smoke: boolean): Either.Either<Experiment, SpecError> =>
  Either.gen(function* () {
    const raw = yield* parseJsonText(text)
    const file = yield* Either.mapLeft(
      Schema.decodeUnknownEither(ExperimentSchema, { errors: "first", onExcessProperty: "error" })(raw),
      (error) => {
        const { path, message } = issueMessage(error)
        return new SpecError({ path, problem: message })
      },
    )
    const full = yield* Either.mapLeft(decodeSpecDocument(file.spec), (e) => prefixed(e, "spec"))
    if ((file.smoke.steps === undefined) === (file.smoke.epochs === undefined)) {
      return yield* Either.left(new SpecError({ path: "smoke", problem: "expected steps or epochs (one of the two)" }))
    }
    const { steps: _steps, epochs: _epochs, ...unsized } = full
    const document: SpecDocument = smoke
      ? {
          ...unsized,
          ...(file.smoke.epochs === undefined ? { steps: file.smoke.steps! } : { epochs: file.smoke.epochs }),
          problem: { ...full.problem, options: { ...full.problem.options, ...file.smoke.problemOptions } },
        }
      : full
    const grid: SweepGrid = smoke
      ? {
          ...file.sweep,
          lambdas: file.smoke.lambdas,
          seeds: file.smoke.seeds,
          trajectoryEvery: file.sweep.trajectoryEvery === undefined ? undefined : (file.smoke.trajectoryEvery ?? file.sweep.trajectoryEvery),
        }
      : file.sweep
    return {
      name,
      title: file.title,
      setup: file.setup,
      mainLabel: file.mainLabel,
      auxLabel: file.auxLabel,
      document,
      grid,
      figures: file.figures ?? {},
      ...(file.reference === undefined ? {} : { reference: file.reference }),
      ...(file.compareWith === undefined ? {} : { compareWith: file.compareWith }),
    }
  })

/** Load a shipped experiment by name. */
export const loadExperiment = (name: string, smoke: boolean, folder = experimentsFolder) =>
  Effect.gen(function* () {
    const known = yield* listExperiments(folder)
    if (!known.includes(name)) return yield* new ExperimentNotFound({ name, known })
    const text = yield* readText(join(folder, `${name}.json`))
    return yield* decodeExperiment(name, text, smoke)
  })
