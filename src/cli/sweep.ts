/** `scalpel sweep SPEC.json`: train a spec over a grid of methods × λ × seeds; tables and Pareto plots. */
import { availableParallelism } from "node:os"
import { basename, join } from "node:path"
import { Args, Command, Options } from "@effect/cli"
import { Effect, Either, Option } from "effect"
import { SpecError } from "../dsl/errors.ts"
import { parseSpecDocument, runLengthOf } from "../dsl/json.ts"
import { readText } from "../experiments/experimentFile.ts"
import { runSweep } from "../experiments/runSweep.ts"
import { backendOption } from "./backendOption.ts"
import { choiceOption } from "./choiceOption.ts"
import { interpretersOption, modulesOf, problemsOption } from "./moduleOptions.ts"
import { parseQueueOption, queueOption, withQueueOrBackend } from "./queueOptions.ts"
import { forceOutOption, outOption, runName } from "./run.ts"

/** Parse `0.01,0.1,1` (or a single value) into numbers, naming the bad item if any. */
export const parseNumberList = (flag: string, text: string): Either.Either<ReadonlyArray<number>, SpecError> => {
  const items = text.split(",").map((s) => s.trim())
  const values = items.map(Number)
  const bad = items.findIndex((s, i) => s === "" || !Number.isFinite(values[i]!))
  return bad >= 0
    ? Either.left(new SpecError({ path: `--${flag}`, problem: `expected comma-separated numbers, got '${items[bad]}' in '${text}'` }))
    : Either.right(values)
}

/** Parse `bloop,pcgrad` into names. */
export const parseNameList = (text: string): ReadonlyArray<string> => text.split(",").map((s) => s.trim()).filter((s) => s !== "")

export const defaultJobs = Math.max(1, Math.min(2, availableParallelism()))

export const jobsOption = Options.integer("jobs").pipe(
  Options.withDescription(`processes to train in at once (default ${defaultJobs}; 1 trains in this process)`),
  Options.withDefault(defaultJobs),
)

const spec = Args.text({ name: "SPEC.json" }).pipe(Args.withDescription("the JSON spec to sweep (its structure must be prioritize or hierarchy)"))
const lambda = Options.text("lambda").pipe(Options.withDescription("comma-separated λ values"), Options.withDefault("0.01,0.1,1,10"))
const method = Options.text("method").pipe(
  Options.withDescription("comma-separated methods"),
  Options.withDefault("bloop,weighted-sum,pcgrad,bloop-no-ema"),
)
const seeds = Options.integer("seeds").pipe(Options.withDescription("seeds per (method, λ)"), Options.withDefault(3))
const learningRateScaling = choiceOption("learning-rate-scaling", ["none", "inverse-one-plus-lambda"] as const).pipe(
  Options.withDescription("scale the spec's learning rate per λ: none, or × 1/(1 + λ) as the paper's §5.3"),
  Options.withDefault("none" as const),
)

export const sweepCommand = Command.make(
  "sweep",
  {
    spec,
    lambda,
    method,
    seeds,
    learningRateScaling,
    out: outOption,
    forceOut: forceOutOption,
    jobs: jobsOption,
    backend: backendOption,
    queue: queueOption,
    problems: problemsOption,
    interpreters: interpretersOption,
  },
  ({ spec, lambda, method, seeds, learningRateScaling, out, forceOut, jobs, backend, queue, problems, interpreters }) =>
    Effect.gen(function* () {
      const queueUrl = yield* parseQueueOption(queue)
      const lambdas = yield* parseNumberList("lambda", lambda)
      if (jobs < 1) return yield* new SpecError({ path: "--jobs", problem: `expected a positive integer, got ${jobs}` })
      const document = yield* parseSpecDocument(yield* readText(spec))
      const name = basename(spec).replace(/\.json$/i, "")
      yield* withQueueOrBackend(queueUrl, backend)(
        runSweep(
          document,
          {
            name,
            title: name,
            setup: `Sweep of ${spec} (problem ${document.problem.name}).`,
            mainLabel: "main loss",
            auxLabel: "auxiliary loss",
            grid: { lambdas, methods: parseNameList(method), seeds, learningRateScaling },
            steps: runLengthOf(document),
          },
          {
            out: Option.getOrElse(out, () => join("runs", `sweep-${runName(spec)}`)),
            forceOut,
            jobs,
            problemModules: modulesOf(problems),
            interpreterModules: modulesOf(interpreters),
            ...Option.match(queueUrl, { onNone: () => ({}), onSome: (q) => ({ queue: q }) }),
            ...Option.match(backend, { onNone: () => ({}), onSome: (b) => ({ backend: b }) }),
          },
        ),
      )
    }),
).pipe(
  Command.withDescription(
    "Train a spec for every method × λ × seed (in parallel processes, or on `scalpel worker`s through --queue), then write a table (Markdown, CSV, JSON), Pareto-front plots (SVG) and a report.",
  ),
)
