/**
 * The whole sweep pipeline shared by `scalpel sweep` and `scalpel experiment`: check the grid,
 * run the jobs (in local processes, or through a job queue when one is given), print one line
 * per finished run, write the outputs.
 */
import { Console, Effect } from "effect"
import type { SpecDocument } from "../dsl/json.ts"
import { runJobs } from "./pool.ts"
import type { InterpreterRegistry } from "../interpreters/registry.ts"
import { loadInterpreterModules } from "./interpreterModules.ts"
import { loadProblemModules } from "./problemModules.ts"
import { progressLine } from "./queue/progress.ts"
import { runJobsOnQueue } from "./queue/submit.ts"
import type { QueueUrl } from "./queue/url.ts"
import type { RunRecord } from "./sweep.ts"
import { documentForJob, sweepJobs, validateGrid } from "./sweep.ts"
import { prepareOutputFolder } from "./outputFolder.ts"
import { readRunRecord, recordsFolder, writeRunRecord } from "./runRecords.ts"
import { type SweepDescription, writeSweepOutputs } from "./sweepReport.ts"
import { formatNumber } from "./table.ts"

export interface SweepRunOptions {
  readonly out: string
  /** Local processes to train in at once (ignored with `queue`). */
  readonly jobs: number
  readonly backend?: string
  /** Write into a system folder (`--force-out`). */
  readonly forceOut?: boolean
  /** Train through this job queue (`scalpel worker` processes) instead of local processes. */
  readonly queue?: QueueUrl
  /** Modules that register problems the document may name (loaded by every worker). */
  readonly problemModules?: ReadonlyArray<string>
  /** Modules that register interpreters the grid may name (loaded here and by every worker). */
  readonly interpreterModules?: ReadonlyArray<string>
}

/** One line per finished run, for logs and terminals alike. */
export const runLine = (record: RunRecord, finished: number, total: number, methodWidth = 13): string => {
  const width = String(total).length
  return (
    `[${String(finished).padStart(width)}/${total}] ${record.method.padEnd(methodWidth)} λ=${formatNumber(record.lambda).padEnd(8)} seed ${record.seed}  ` +
    `main ${formatNumber(record.mainTrain)} (held out ${formatNumber(record.mainTest)})  aux ${formatNumber(record.auxTrain)}  ${(record.wallTimeMs / 1000).toFixed(1)} s`
  )
}

const trainAll = (
  document: SpecDocument,
  jobs: Parameters<typeof runJobs>[1],
  options: SweepRunOptions,
  registry: InterpreterRegistry,
  onRecord: (record: RunRecord, finished: number, total: number) => Effect.Effect<void>,
) =>
  Effect.gen(function* () {
    const problemModules = options.problemModules ?? []
    const interpreterModules = options.interpreterModules ?? []
    if (options.queue !== undefined) {
      return yield* runJobsOnQueue(document, jobs, {
        url: options.queue,
        problemModules,
        interpreterModules,
        onRecord,
        onProgress: (progress) => Console.error(progressLine(progress)),
      })
    }
    const catalogue = yield* loadProblemModules(problemModules)
    return yield* runJobs(document, jobs, {
      jobs: options.jobs,
      ...(options.backend === undefined ? {} : { backend: options.backend }),
      catalogue,
      registry,
      problemModules,
      interpreterModules,
      onRecord,
    })
  })

export const runSweep = (document: SpecDocument, description: SweepDescription, options: SweepRunOptions) =>
  Effect.gen(function* () {
    // The grid may name the interpreters of the sweep's modules: load them before checking it.
    const registry = yield* loadInterpreterModules(options.interpreterModules ?? [])
    const grid = yield* validateGrid(description.grid, registry)
    const jobs = sweepJobs(grid, document.seed)
    // Columns stay aligned for the longest method name of the grid (`dynamic-barrier`, a variant label).
    const methodWidth = Math.max(13, ...jobs.map((job) => job.method.length))
    const where = options.queue === undefined ? `${options.jobs} at a time` : `through the queue at ${options.queue.redacted}`
    yield* Console.log(`${description.title}: ${jobs.length} runs (${grid.methods.length} methods × ${grid.lambdas.length} λ × ${grid.seeds} seeds), ${where}`)
    // Fail before training if the results could not be written, and keep each run's record as it finishes.
    yield* prepareOutputFolder(options.out, { force: options.forceOut === true })
    const reused = new Map<number, RunRecord>()
    for (const [i, job] of jobs.entries()) {
      const saved = yield* readRunRecord(options.out, job, yield* documentForJob(document, job))
      if (saved !== undefined) reused.set(i, saved)
    }
    if (reused.size > 0) yield* Console.log(`reusing ${reused.size} finished run(s) from ${recordsFolder(options.out)}`)
    const remaining = jobs.filter((_, i) => !reused.has(i))
    const fresh = yield* trainAll(document, remaining, options, registry, (record, finished, total) =>
      Effect.zipRight(
        Effect.suspend(() => {
          // The job itself (its variant, learning-rate factor, trajectory), so that the record holds the document it trained.
          const job = remaining.find((j) => j.method === record.method && j.lambda === record.lambda && j.seed === record.seed) ?? {
            method: record.method,
            lambda: record.lambda,
            seed: record.seed,
          }
          return Effect.flatMap(documentForJob(document, job), (d) => writeRunRecord(options.out, job, d, record))
        }).pipe(Effect.catchAll((e) => Console.error(`error: ${e.message}`))),
        Console.log(runLine(record, finished + reused.size, total + reused.size, methodWidth)),
      ),
    )
    let next = 0
    const records = jobs.map((_, i) => reused.get(i) ?? fresh[next++]!)
    const summary = yield* writeSweepOutputs(options.out, records, description)
    yield* Console.log(`\n${summary.bestTable}\n\n${summary.verdictTrain}\n${summary.verdictTest}\n\nwritten to ${options.out}`)
    return { records, summary }
  })
