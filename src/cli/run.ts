/** `scalpel run SPEC.json`: train one JSON spec, with progress, events and a summary on disk. */
import { appendFile, rm, writeFile } from "node:fs/promises"
import { interpreterWithSharing } from "../interpreters/sharedParameters.ts"
import { basename, dirname, join } from "node:path"
import { Args, Command, Options } from "@effect/cli"
import { Console, Data, Effect, Option, Stream } from "effect"
import { tf } from "../core/tf.ts"
import { SpecError } from "../dsl/errors.ts"
import { formatSpecDocument, parseSpecDocument } from "../dsl/json.ts"
import { didYouMean } from "../dsl/suggest.ts"
import { readText } from "../experiments/experimentFile.ts"
import { prepareOutputFolder } from "../experiments/outputFolder.ts"
import { OutputError } from "../experiments/sweepReport.ts"
import { formatNumber, formatTable } from "../experiments/table.ts"
import { lookup } from "../interpreters/registry.ts"
import { resolveSpecDocument } from "../problems/resolveSpec.ts"
import { describeDivergence } from "../training/divergence.ts"
import { type ResumedEvent, trainingEvents, type TrainingSummary } from "../training/train.ts"
import { writeWeights } from "../training/weightsFile.ts"
import { backendOption, withBackend } from "./backendOption.ts"
import { checkpointFlags, checkpointTrainingOptions, specDeclaration } from "./checkpointOptions.ts"
import { progressReporter } from "./progress.ts"
import { workersOption, workersTrainingOptions } from "./workersOption.ts"
import { interpretersOption, loadModules, modulesOf, problemsOption } from "./moduleOptions.ts"
import { receivedSignal, stopSignal } from "./interrupts.ts"
import { applyOverrides, describeOverrides, overrideFlags } from "./specOverrides.ts"

/** `name-2026-01-31T12-00-00` from a spec path. */
export const runName = (specPath: string, now = new Date()): string =>
  `${basename(specPath).replace(/\.json$/i, "")}-${now.toISOString().slice(0, 19).replaceAll(":", "-")}`

const attempt = (path: string, f: () => Promise<unknown>) =>
  Effect.tryPromise({ try: f, catch: (error) => new OutputError({ path, reason: error instanceof Error ? error.message : String(error) }) })

// Paths are plain text: @effect/cli's file and directory options probe the path while parsing and
// turn an error other than "missing" (ENOTDIR, EACCES) into a defect with a stack trace. The
// commands check their paths themselves, with typed errors (readText, prepareOutputFolder).
const spec = Args.text({ name: "SPEC.json" }).pipe(Args.withDescription("the JSON spec to train"))
export const outOption = Options.text("out").pipe(
  Options.withPseudoName("DIR"),
  Options.withDescription("output folder (default: runs/<spec name>-<timestamp>)"),
  Options.optional,
)

const summaryRows = (summary: TrainingSummary) => [
  ...Object.entries(summary.finalLosses).map(([name, value]) => [name, "training data", formatNumber(value)]),
  ...Object.entries(summary.evaluations).map(([name, value]) => [name, "evaluation", formatNumber(value)]),
]

/** `--force-out`: write into a system folder (`/`, `/usr`, ...) named by --out or --checkpoint. */
export const forceOutOption = Options.boolean("force-out").pipe(
  Options.withDescription("write into the output folder even when it is a system folder such as /"),
)
const failOnDivergenceOption = Options.boolean("fail-on-divergence").pipe(
  Options.withDescription("exit with code 1 when the run diverged (a loss non-finite or 1000× its first value at the end)"),
)

/** The run finished but diverged and `--fail-on-divergence` was given. */
export class RunDiverged extends Data.TaggedError("RunDiverged")<{ readonly text: string }> {
  override get message(): string {
    return this.text
  }
}

/** What a resume could not check, or was told not to, on stderr. */
const resumeWarnings = (event: ResumedEvent): Effect.Effect<void> =>
  Effect.all([
    event.specChange === undefined
      ? Effect.void
      : Console.error(`warning: resuming from ${event.path} although its spec differs: ${event.specChange} (--resume-with-changed-spec)`),
    event.specUnverified === true
      ? Console.error(
          `warning: ${event.path} was written by an older scalpel and records no spec: only the rule, objectives, parameter shapes, optimizer, seed, batch size and non-finite policy were checked against this spec`,
        )
      : Effect.void,
  ], { discard: true })

/** Longest time buffered events wait before they are appended to events.jsonl. */
const eventsFlushIntervalMs = 1000

export const runCommand = Command.make(
  "run",
  {
    spec,
    out: outOption,
    backend: backendOption,
    workers: workersOption,
    forceOut: forceOutOption,
    failOnDivergence: failOnDivergenceOption,
    problems: problemsOption,
    interpreters: interpretersOption,
    overrides: Options.all(overrideFlags),
    ...checkpointFlags,
  },
  ({ spec, out, backend, workers, forceOut, failOnDivergence, problems, interpreters, overrides, ...flags }) =>
  withBackend(backend)(
    Effect.gen(function* () {
      const text = yield* readText(spec)
      const document = yield* applyOverrides(yield* parseSpecDocument(text), overrides)
      const { catalogue, registry } = yield* loadModules(problems, interpreters)
      yield* Effect.scoped(
        Effect.gen(function* () {
          const resolved = yield* Effect.acquireRelease(resolveSpecDocument(document, catalogue), (r) => Effect.sync(r.problem.dispose))
          const found = yield* lookup(registry, resolved.method.name).pipe(
            Effect.mapError(
              (unknown) =>
                new SpecError({
                  path: Option.isSome(overrides.method) ? "--method" : "method.name",
                  problem: `unknown method '${unknown.name}'${didYouMean(unknown.name, unknown.known)}; known: ${unknown.known.join(", ")}${
                    modulesOf(interpreters).length === 0 ? " (a method of your own needs --interpreters MODULE)" : ""
                  }`,
                }),
            ),
          )
          const interpreter = yield* interpreterWithSharing(found, resolved.method.sharedParameters, resolved.problem.sharing, resolved.problem.name)
          const options = yield* interpreter.decodeOptions(resolved.method.options)
          const rule = yield* interpreter.lower(resolved.spec.structure, options, { seed: resolved.spec.seed })
          const folder = Option.getOrElse(out, () => join("runs", runName(spec)))
          const eventsPath = join(folder, "events.jsonl")
          const summaryPath = join(folder, "summary.json")
          // Every folder the run writes to is checked before the first step.
          yield* prepareOutputFolder(folder, { force: forceOut })
          if (Option.isSome(flags.checkpoint)) yield* prepareOutputFolder(dirname(flags.checkpoint.value), { force: forceOut, flag: "--checkpoint" })
          // A summary left by an earlier run into this folder would describe another run.
          yield* attempt(summaryPath, () => rm(summaryPath, { force: true }))
          // A resumed run continues its events log; a new run starts a new one.
          const resuming = Option.isSome(flags.resume)
          yield* attempt(eventsPath, () => (resuming ? appendFile(eventsPath, "") : writeFile(eventsPath, "")))
          // The spec as it was resolved, command-line overrides included: every default written out.
          const resolvedSpecPath = join(folder, "spec.json")
          yield* attempt(resolvedSpecPath, () => writeFile(resolvedSpecPath, `${formatSpecDocument(document)}\n`))
          const overridden = describeOverrides(overrides)
          yield* Console.log(
            `${resolved.problem.description}\nmethod: ${rule.name}, ${resolved.spec.steps} steps, writing to ${folder}${overridden === "" ? "" : `\noverridden on the command line: ${overridden}`}`,
          )
          const report = progressReporter(resolved.spec.steps, process.stderr.isTTY === true)
          let pending: Array<string> = []
          let lastFlush = performance.now()
          const flush = attempt(eventsPath, () => {
            const lines = pending.join("")
            pending = []
            lastFlush = performance.now()
            return lines === "" ? Promise.resolve() : appendFile(eventsPath, lines)
          })
          const flushDue = () => pending.length >= 256 || performance.now() - lastFlush > eventsFlushIntervalMs
          const terminal = process.stderr.isTTY === true
          // Steps completed in the checkpoint this run resumed from (0 for a new run).
          let resumedAt = 0
          const last = yield* trainingEvents(resolved.spec, rule, {
            evaluations: resolved.problem.evaluations,
            keepParameters: true,
            // Ctrl-C or SIGTERM ends the run after its current step, with the state so far (interrupts.ts).
            signal: stopSignal(),
            ...checkpointTrainingOptions(flags, specDeclaration(resolved, options)),
            ...workersTrainingOptions(workers, resolved, modulesOf(problems)),
          }).pipe(
            Stream.tap((event) => {
              switch (event._tag) {
                case "Step":
                  return Effect.zipRight(
                    Effect.sync(() => pending.push(`${JSON.stringify(event)}\n`)),
                    flushDue() ? Effect.zipRight(flush, report(event)) : report(event),
                  )
                case "Resumed":
                  // The resume (and any override of the spec check) is part of the run's record.
                  return Effect.zipRight(
                    Effect.sync(() => {
                      resumedAt = event.step
                      pending.push(`${JSON.stringify(event)}\n`)
                    }),
                    Effect.zipRight(Console.log(`resumed from ${event.path} after step ${event.step} of ${resolved.spec.steps}`), resumeWarnings(event)),
                  )
                default:
                  return Effect.void
              }
            }),
            Stream.runLast,
            // On every exit (end, failure, Ctrl-C or SIGTERM), the buffered events reach the log.
            Effect.ensuring(Effect.catchAll(flush, (e) => Console.error(`error: ${e.message}`))),
          )
          const finished = Option.isSome(last) && last.value._tag === "Finished" ? last.value : undefined
          const trained = finished?.parameters ?? {}
          yield* writeWeights(folder, trained).pipe(
            Effect.when(() => finished !== undefined),
            Effect.ensuring(Effect.sync(() => tf.dispose(Object.values(trained)))),
          )
          if (finished === undefined) return
          const summary = finished.summary
          yield* attempt(summaryPath, () => writeFile(summaryPath, JSON.stringify({ spec, method: resolved.method, summary }, null, 2) + "\n"))
          yield* Console.log(`\n${formatTable(["objective", "measured on", "final value"], summaryRows(summary))}`)
          const trainedNow = summary.steps - resumedAt
          const which = resumedAt === 0 ? `${trainedNow} steps` : `${trainedNow} steps (${resumedAt + 1} to ${summary.steps}, resumed)`
          yield* Console.log(`\n${which} in ${(summary.wallTimeMs / 1000).toFixed(1)} s on ${summary.backend}; events, summary, weights and spec in ${folder}`)
          if (summary.interrupted) {
            // On a line of its own, after the progress bar; the exit status (130, 143) comes from interrupts.ts.
            const kept = Option.isSome(flags.checkpoint)
              ? `checkpoint of step ${summary.steps} in ${flags.checkpoint.value} (continue with --resume ${flags.checkpoint.value})`
              : "no checkpoint (run with --checkpoint FILE to be able to resume)"
            yield* Console.error(`${terminal ? "\n" : ""}interrupted by ${receivedSignal() ?? "a signal"} after step ${summary.steps} of ${resolved.spec.steps}: kept the summary (marked interrupted) and the weights of that step, ${kept}`)
          }
          if (summary.skippedSteps > 0) {
            yield* Console.error(`warning: ${summary.skippedSteps} of ${summary.steps} steps were skipped for non-finite values (nonFinite: "skip")`)
          }
          if (summary.divergence !== undefined) {
            const text = `the run diverged: ${describeDivergence(summary.divergence)}`
            if (failOnDivergence) return yield* new RunDiverged({ text })
            yield* Console.error(`warning: ${text} (--fail-on-divergence makes this an error)`)
          }
        }),
      )
    }),
  ),
).pipe(Command.withDescription("Train a JSON spec; writes step events (JSON lines) and a final summary to an output folder."))
