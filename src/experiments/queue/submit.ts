/**
 * The submitting side of a sweep on a queue: one BullMQ job per run, keyed by its content, then
 * wait for every result. Runs finished by an earlier submission are taken from the queue (a
 * job's id is a hash of its content, and the queue keeps finished jobs); runs that failed before
 * are retried once more. Retries of runs whose worker died, and the detection of such workers,
 * are BullMQ's (stalled jobs); see `serve.ts` for the worker side.
 */
import { Effect, Either, Schedule } from "effect"
import type { Job } from "bullmq"
import type { SpecDocument } from "../../dsl/json.ts"
import { RunFailed } from "../pool.ts"
import { documentForJob, type RunRecord, type SweepJob } from "../sweep.ts"
import { checkReachable, connectionOptions, queueEngine } from "./connection.ts"
import { decodeRecord, type JobPayload, jobKey, makePayload, queueName } from "./payload.ts"
import type { QueueProgress } from "./progress.ts"
import { QueueUnreachable, type QueueUrl } from "./url.ts"

/** Attempts of a run whose worker process died (a failure of the training itself is never retried). */
export const attemptsPerRun = 3

export interface QueueSweepOptions {
  readonly url: QueueUrl
  /** Problem modules the sweep's documents need (workers must be started with them). */
  readonly problemModules?: ReadonlyArray<string>
  /** Interpreter modules the sweep's methods need (workers must be started with them). */
  readonly interpreterModules?: ReadonlyArray<string>
  /** Called after each finished run (in the order they finish), with the number finished so far. */
  readonly onRecord?: (record: RunRecord, finished: number, total: number) => Effect.Effect<void>
  /** Called every `progressEveryMs` when the counts changed. */
  readonly onProgress?: (progress: QueueProgress) => Effect.Effect<void>
  readonly progressEveryMs?: number
}

const reasonOf = (error: unknown): string => (error instanceof Error ? error.message : String(error))

/** A promise of BullMQ as an effect; a rejection is the server's failure, password hidden. */
const call = <A>(url: QueueUrl, what: string, f: () => Promise<A>) =>
  Effect.tryPromise({ try: f, catch: (error) => new QueueUnreachable({ url: url.redacted, reason: url.redact(`${what}: ${reasonOf(error)}`) }) })

type State = "done" | "running" | "failed" | "queued"

const stateOf = (state: string): State =>
  state === "completed" ? "done" : state === "active" ? "running" : state === "failed" ? "failed" : "queued"

/** Run every job of a sweep through the queue at `options.url`; records come back in the order of `jobs`. */
export const runJobsOnQueue = (document: SpecDocument, jobs: ReadonlyArray<SweepJob>, options: QueueSweepOptions) =>
  Effect.scoped(
    Effect.gen(function* () {
      const { url } = options
      const { Queue, QueueEvents } = yield* queueEngine
      yield* checkReachable(url)
      const payloads: ReadonlyArray<JobPayload> = yield* Effect.forEach(jobs, (job) =>
        Effect.map(documentForJob(document, job), (d) => makePayload(d, job, options.problemModules ?? [], options.interpreterModules ?? [])),
      )
      const ids = payloads.map(jobKey)
      const connection = connectionOptions(url)
      const queue = yield* Effect.acquireRelease(
        Effect.sync(() => new Queue<JobPayload, unknown>(queueName, { connection })),
        (q) => Effect.promise(() => q.close().catch(() => undefined)),
      )
      const events = yield* Effect.acquireRelease(
        Effect.sync(() => new QueueEvents(queueName, { connection })),
        (e) => Effect.promise(() => e.close().catch(() => undefined)),
      )
      // Connection trouble surfaces as rejected calls below; the events are only for logging by BullMQ.
      queue.on("error", () => undefined)
      events.on("error", () => undefined)
      yield* call(url, "listening for results", () => events.waitUntilReady())

      const before = yield* call(url, "reading job states", () => Promise.all(ids.map((id) => queue.getJobState(id))))
      const reused = before.filter((s) => s === "completed").length
      const added: ReadonlyArray<Job<JobPayload, unknown>> = yield* call(url, "adding jobs", () =>
        queue.addBulk(
          payloads.map((data, i) => ({
            name: "run",
            data,
            opts: {
              jobId: ids[i]!,
              attempts: attemptsPerRun,
              backoff: { type: "fixed", delay: 1000 },
              removeOnComplete: false,
              removeOnFail: false,
            },
          })),
        ),
      )
      // Asked again for a run that failed: one more try (it may have failed for want of a problem module).
      yield* Effect.forEach(
        ids.filter((_, i) => before[i] === "failed"),
        (id) => call(url, "retrying a failed job", async () => (await queue.getJob(id))?.retry("failed", { resetAttemptsMade: true })),
      )

      const startedAt = Date.now()
      if (options.onProgress !== undefined) {
        const onProgress = options.onProgress
        let last = ""
        const report = Effect.gen(function* () {
          const states = yield* call(url, "reading job states", () => Promise.all(ids.map((id) => queue.getJobState(id))))
          const count = (s: State) => states.filter((state) => stateOf(state) === s).length
          const progress: QueueProgress = {
            total: ids.length,
            done: count("done"),
            reused,
            running: count("running"),
            failed: count("failed"),
            queued: count("queued"),
            elapsedMs: Date.now() - startedAt,
          }
          const key = `${progress.done} ${progress.running} ${progress.failed} ${progress.queued}`
          if (key !== last) {
            last = key
            yield* onProgress(progress)
          }
        }).pipe(Effect.ignore)
        yield* Effect.forkScoped(Effect.repeat(report, Schedule.spaced(options.progressEveryMs ?? 2000)))
      }

      let finished = 0
      return yield* Effect.forEach(
        added,
        (job, i) =>
          Effect.gen(function* () {
            const result = yield* Effect.tryPromise({
              try: () => job.waitUntilFinished(events),
              catch: (error) => new RunFailed({ job: jobs[i]!, reason: url.redact(reasonOf(error)), kind: "run" }),
            })
            const record = yield* Either.mapLeft(decodeRecord(result), (e) => new RunFailed({ job: jobs[i]!, reason: e.message, kind: "run" }))
            finished += 1
            yield* options.onRecord?.(record, finished, jobs.length) ?? Effect.void
            return record
          }),
        { concurrency: "unbounded" },
      )
    }),
  )
