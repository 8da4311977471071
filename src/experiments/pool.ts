/**
 * Run the jobs of a sweep, in this process or in parallel across child processes.
 *
 * TensorFlow.js keeps one engine per process and the wasm backend computes on one thread, so
 * parallelism means processes: each worker (`worker.ts`) loads tfjs once and trains the jobs it
 * is handed, one at a time. Workers resolve documents against the built-in problem catalogue;
 * a custom catalogue runs in-process (`jobs: 1`).
 */
import { type ChildProcess, fork } from "node:child_process"
import { fileURLToPath } from "node:url"
import { Data, Effect, Queue } from "effect"
import { encodeSpecDocument, type SpecDocument } from "../dsl/json.ts"
import type { SpecError } from "../dsl/errors.ts"
import { builtinProblems, type ProblemCatalogue } from "../problems/catalogue.ts"
import { documentForJob, type RunRecord, runDocument, type SweepJob } from "./sweep.ts"

/** A job of a sweep failed; the sweep stops. */
export class RunFailed extends Data.TaggedError("RunFailed")<{
  readonly job: SweepJob
  readonly reason: string
}> {
  override get message(): string {
    return `run ${this.job.method} λ=${this.job.lambda} seed ${this.job.seed} failed: ${this.reason}`
  }
}

/** A message to a worker: one job, with its document already specialised. */
export interface WorkerRequest {
  readonly document: unknown
  readonly job: SweepJob
}

/** A worker's answer. */
export type WorkerReply = { readonly ok: true; readonly record: RunRecord } | { readonly ok: false; readonly reason: string }

export interface PoolOptions {
  /** Processes to run at once; 1 runs in this process. */
  readonly jobs: number
  /** Backend for the workers (`SCALPEL_BACKEND` in their environment); default: inherited. */
  readonly backend?: string
  readonly catalogue?: ProblemCatalogue
  /** Called after each finished run, with the number finished so far. */
  readonly onRecord?: (record: RunRecord, finished: number, total: number) => Effect.Effect<void>
}

/** Whether this module runs from the TypeScript sources (tsx, vitest) or from the built dist/. */
const fromSources = import.meta.url.endsWith(".ts")

const workerPath = fileURLToPath(new URL(fromSources ? "./worker.ts" : "./worker.js", import.meta.url))

/** Node flags that let a child process load TypeScript sources, as this process does (none from dist/). */
const typeScriptFlags = (): ReadonlyArray<string> => (fromSources ? ["--import", import.meta.resolve("tsx")] : [])

const spawnWorker = (backend: string | undefined): Effect.Effect<ChildProcess> =>
  Effect.sync(() =>
    fork(workerPath, [], {
      execArgv: [...typeScriptFlags()],
      env: backend === undefined ? process.env : { ...process.env, SCALPEL_BACKEND: backend },
      stdio: ["ignore", "ignore", "inherit", "ipc"],
    }),
  )

const ask = (worker: ChildProcess, request: WorkerRequest): Effect.Effect<RunRecord, RunFailed> =>
  Effect.async<RunRecord, RunFailed>((resume) => {
    const onMessage = (reply: WorkerReply) => {
      cleanup()
      resume(reply.ok ? Effect.succeed(reply.record) : Effect.fail(new RunFailed({ job: request.job, reason: reply.reason })))
    }
    const onExit = (code: number | null) => {
      cleanup()
      resume(Effect.fail(new RunFailed({ job: request.job, reason: `worker exited with code ${code}` })))
    }
    const cleanup = () => {
      worker.off("message", onMessage)
      worker.off("exit", onExit)
    }
    worker.on("message", onMessage)
    worker.on("exit", onExit)
    worker.send(request)
    return Effect.sync(cleanup)
  })

const specialise = (document: SpecDocument, job: SweepJob): Effect.Effect<SpecDocument, SpecError> => documentForJob(document, job)

/** Run every job of a sweep; records come back in the order of `jobs`. */
export const runJobs = (
  document: SpecDocument,
  jobs: ReadonlyArray<SweepJob>,
  options: PoolOptions,
) => {
  let finished = 0
  const report = (record: RunRecord) =>
    Effect.suspend(() => {
      finished += 1
      return options.onRecord?.(record, finished, jobs.length) ?? Effect.void
    })
  if (options.jobs <= 1) {
    return Effect.forEach(jobs, (job) =>
      specialise(document, job).pipe(
        Effect.flatMap((d) => runDocument(d, job, options.catalogue ?? builtinProblems)),
        Effect.tap(report),
      ),
    )
  }
  return Effect.scoped(
    Effect.gen(function* () {
      const count = Math.min(options.jobs, jobs.length)
      const idle = yield* Queue.unbounded<ChildProcess>()
      for (let i = 0; i < count; i++) {
        const worker = yield* Effect.acquireRelease(spawnWorker(options.backend), (w) => Effect.sync(() => w.kill()))
        yield* Queue.offer(idle, worker)
      }
      return yield* Effect.forEach(
        jobs,
        (job) =>
          Effect.gen(function* () {
            const specialised = yield* specialise(document, job)
            const worker = yield* Queue.take(idle)
            const record = yield* ask(worker, { document: encodeSpecDocument(specialised), job }).pipe(
              Effect.ensuring(Queue.offer(idle, worker)),
            )
            yield* report(record)
            return record
          }),
        { concurrency: count },
      )
    }),
  )
}
