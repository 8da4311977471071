/**
 * `scalpel run SPEC.json`: train one JSON spec, with progress, events, a summary, the final
 * weights (docs/models.md) and a copy of the resolved spec on disk.
 */
import { mkdir, writeFile, appendFile } from "node:fs/promises"
import { basename, join } from "node:path"
import { Args, Command, Options } from "@effect/cli"
import { Console, Effect, Either, Option, Stream } from "effect"
import { tf } from "../core/tf.ts"
import { formatSpecDocument, parseSpecDocument } from "../dsl/json.ts"
import { readText } from "../experiments/experimentFile.ts"
import { OutputError } from "../experiments/sweepReport.ts"
import { formatNumber, formatTable } from "../experiments/table.ts"
import { builtinInterpreters } from "../interpreters/builtins.ts"
import { lookup } from "../interpreters/registry.ts"
import { resolveSpecJson } from "../problems/resolveSpec.ts"
import { trainingEvents, type TrainingSummary } from "../training/train.ts"
import { writeWeights } from "../training/weightsFile.ts"
import { backendOption, withBackend } from "./backendOption.ts"
import { checkpointFlags, checkpointTrainingOptions } from "./checkpointOptions.ts"
import { progressReporter } from "./progress.ts"
import { workersOption, workersTrainingOptions } from "./workersOption.ts"

/** `name-2026-01-31T12-00-00` from a spec path. */
export const runName = (specPath: string, now = new Date()): string =>
  `${basename(specPath).replace(/\.json$/i, "")}-${now.toISOString().slice(0, 19).replaceAll(":", "-")}`

const attempt = (path: string, f: () => Promise<unknown>) =>
  Effect.tryPromise({ try: f, catch: (error) => new OutputError({ path, reason: error instanceof Error ? error.message : String(error) }) })

const spec = Args.file({ name: "SPEC.json" }).pipe(Args.withDescription("the JSON spec to train"))
export const outOption = Options.directory("out").pipe(
  Options.withDescription("output folder (default: runs/<spec name>-<timestamp>)"),
  Options.optional,
)

const summaryRows = (summary: TrainingSummary) => [
  ...Object.entries(summary.finalLosses).map(([name, value]) => [name, "training data", formatNumber(value)]),
  ...Object.entries(summary.evaluations).map(([name, value]) => [name, "evaluation", formatNumber(value)]),
]

export const runCommand = Command.make("run", { spec, out: outOption, backend: backendOption, workers: workersOption, ...checkpointFlags }, ({ spec, out, backend, workers, ...flags }) =>
  withBackend(backend)(
    Effect.gen(function* () {
      const text = yield* readText(spec)
      yield* Effect.scoped(
        Effect.gen(function* () {
          const resolved = yield* Effect.acquireRelease(resolveSpecJson(text), (r) => Effect.sync(r.problem.dispose))
          const interpreter = yield* lookup(builtinInterpreters, resolved.method.name)
          const options = yield* interpreter.decodeOptions(resolved.method.options)
          const rule = yield* interpreter.lower(resolved.spec.structure, options, { seed: resolved.spec.seed })
          const folder = Option.getOrElse(out, () => join("runs", runName(spec)))
          const eventsPath = join(folder, "events.jsonl")
          yield* attempt(folder, () => mkdir(folder, { recursive: true }))
          yield* attempt(eventsPath, () => writeFile(eventsPath, ""))
          // The spec as it was resolved: every default written out (it parsed, or resolving would have failed).
          const resolvedSpecPath = join(folder, "spec.json")
          yield* Either.match(parseSpecDocument(text), {
            onLeft: () => Effect.void,
            onRight: (document) => attempt(resolvedSpecPath, () => writeFile(resolvedSpecPath, `${formatSpecDocument(document)}\n`)),
          })
          yield* Console.log(`${resolved.problem.description}\nmethod: ${rule.name}, ${resolved.spec.steps} steps, writing to ${folder}`)
          const report = progressReporter(resolved.spec.steps, process.stderr.isTTY === true)
          let pending: Array<string> = []
          const flush = attempt(eventsPath, () => {
            const lines = pending.join("")
            pending = []
            return lines === "" ? Promise.resolve() : appendFile(eventsPath, lines)
          })
          const last = yield* trainingEvents(resolved.spec, rule, {
            evaluations: resolved.problem.evaluations,
            keepParameters: true,
            ...checkpointTrainingOptions(flags),
            ...workersTrainingOptions(workers, resolved),
          }).pipe(
            Stream.tap((event) =>
              event._tag === "Step"
                ? Effect.zipRight(
                    Effect.sync(() => pending.push(`${JSON.stringify(event)}\n`)),
                    pending.length >= 256 ? Effect.zipRight(flush, report(event)) : report(event),
                  )
                : Effect.void,
            ),
            Stream.runLast,
          )
          const finished = Option.isSome(last) && last.value._tag === "Finished" ? last.value : undefined
          const trained = finished?.parameters ?? {}
          yield* writeWeights(folder, trained).pipe(
            Effect.when(() => finished !== undefined),
            Effect.ensuring(Effect.sync(() => tf.dispose(Object.values(trained)))),
          )
          yield* flush
          if (finished === undefined) return
          const summary = finished.summary
          const summaryPath = join(folder, "summary.json")
          yield* attempt(summaryPath, () => writeFile(summaryPath, JSON.stringify({ spec, method: resolved.method, summary }, null, 2) + "\n"))
          yield* Console.log(`\n${formatTable(["objective", "measured on", "final value"], summaryRows(summary))}`)
          yield* Console.log(`\n${summary.steps} steps in ${(summary.wallTimeMs / 1000).toFixed(1)} s on ${summary.backend}; events, summary, weights and spec in ${folder}`)
        }),
      )
    }),
  ),
).pipe(Command.withDescription("Train a JSON spec; writes step events (JSON lines), a final summary, the final weights (weights.json + weights.bin) and the resolved spec (spec.json) to an output folder."))
