/**
 * Run the jobs of a sweep, in this process or in parallel across child processes.
 *
 * TensorFlow.js keeps one engine per process and the wasm backend computes on one thread, so
 * parallelism means processes: each worker (`worker.ts`) loads tfjs once and trains the jobs it
 * is handed, one at a time. Workers resolve documents against the built-in problems plus the
 * sweep's problem modules (`problemModules.ts`), which every worker loads at start.
 */
import { type ChildProcess, fork } from "node:child_process"
import { fileURLToPath } from "node:url"
import { Data, Effect, Queue, type Scope } from "effect"
import { encodeSpecDocument, type SpecDocument } from "../dsl/json.ts"
import type { SpecError } from "../dsl/errors.ts"
import { builtinProblems, type ProblemCatalogue } from "../problems/catalogue.ts"
import { builtinInterpreters } from "../interpreters/builtins.ts"
import type { InterpreterRegistry } from "../interpreters/registry.ts"
import { moduleLocation } from "./problemModules.ts"
import { documentForJob, type RunRecord, runDocument, type SweepJob } from "./sweep.ts"

/** A job of a sweep failed; the sweep stops. */
export class RunFailed extends Data.TaggedError("RunFailed")<{
  readonly job: SweepJob
  readonly reason: string
  /**
   * `run`: training the job failed (the same document fails again: a deterministic failure);
   * `worker`: the process training it died (another attempt may succeed).
   */
  readonly kind: "run" | "worker"
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

/** The environment variable through which worker processes learn the problem modules to load (a JSON array). */
export const problemModulesVariable = "SCALPEL_PROBLEM_MODULES"
/** The environment variable through which worker processes learn the interpreter modules to load (a JSON array). */
export const interpreterModulesVariable = "SCALPEL_INTERPRETER_MODULES"

export interface WorkerPoolOptions {
  /** Backend for the workers (`SCALPEL_BACKEND` in their environment); default: inherited. */
  readonly backend?: string
  /** Problem modules every worker loads (paths are resolved against this process's directory). */
  readonly problemModules?: ReadonlyArray<string>
  /** Interpreter modules every worker loads (`interpreterModules.ts`), resolved as problem modules are. */
  readonly interpreterModules?: ReadonlyArray<string>
}

export interface PoolOptions extends WorkerPoolOptions {
  /** Processes to run at once; 1 runs in this process. */
  readonly jobs: number
  /** The catalogue for in-process runs (`jobs: 1`); it should hold the problems of `problemModules`. */
  readonly catalogue?: ProblemCatalogue
  /** The registry for in-process runs (`jobs: 1`); it should hold the interpreters of `interpreterModules`. */
  readonly registry?: InterpreterRegistry
  /** Called after each finished run, with the number finished so far. */
  readonly onRecord?: (record: RunRecord, finished: number, total: number) => Effect.Effect<void>
}

/** Whether this module runs from the TypeScript sources (tsx, vitest) or from the built dist/. */
const fromSources = import.meta.url.endsWith(".ts")

const workerPath = fileURLToPath(new URL(fromSources ? "./worker.ts" : "./worker.js", import.meta.url))

/**
 * Node flags that let a child process load TypeScript sources, as this process does (none from
 * dist/): tsx's loader, resolved from here, or by name from the working folder where
 * `import.meta.resolve` is missing (as under vitest).
 */
const typeScriptFlags = (): ReadonlyArray<string> =>
  fromSources ? ["--import", typeof import.meta.resolve === "function" ? import.meta.resolve("tsx") : "tsx"] : []

const spawnWorker = (options: WorkerPoolOptions): Effect.Effect<ChildProcess> =>
  Effect.sync(() =>
    fork(workerPath, [], {
      execArgv: [...typeScriptFlags()],
      env: {
        ...process.env,
        ...(options.backend === undefined ? {} : { SCALPEL_BACKEND: options.backend }),
        [problemModulesVariable]: JSON.stringify((options.problemModules ?? []).map((m) => moduleLocation(m))),
        [interpreterModulesVariable]: JSON.stringify((options.interpreterModules ?? []).map((m) => moduleLocation(m))),
      },
      stdio: ["ignore", "ignore", "inherit", "ipc"],
    }),
  )

const ask = (worker: ChildProcess, request: WorkerRequest): Effect.Effect<RunRecord, RunFailed> =>
  Effect.async<RunRecord, RunFailed>((resume) => {
    const onMessage = (reply: WorkerReply) => {
      cleanup()
      resume(reply.ok ? Effect.succeed(reply.record) : Effect.fail(new RunFailed({ job: request.job, reason: reply.reason, kind: "run" })))
    }
    const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
      cleanup()
      const how = signal === null ? `with code ${code}` : `on ${signal}`
      resume(Effect.fail(new RunFailed({ job: request.job, reason: `worker process exited ${how}`, kind: "worker" })))
    }
    const cleanup = () => {
      worker.off("message", onMessage)
      worker.off("exit", onExit)
    }
    if (worker.exitCode !== null || worker.signalCode !== null) return onExit(worker.exitCode, worker.signalCode)
    worker.on("message", onMessage)
    worker.on("exit", onExit)
    worker.send(request)
    return Effect.sync(cleanup)
  })

/** A set of worker processes that train one job each at a time. */
export interface WorkerPool {
  /** Train one job in an idle worker (waiting for one); a worker that dies is replaced. */
  readonly run: (request: WorkerRequest) => Effect.Effect<RunRecord, RunFailed>
}

/** Start `size` worker processes; they are stopped when the scope closes. */
export const makeWorkerPool = (size: number, options: WorkerPoolOptions): Effect.Effect<WorkerPool, never, Scope.Scope> =>
  Effect.gen(function* () {
    const live = new Set<ChildProcess>()
    yield* Effect.addFinalizer(() => Effect.sync(() => live.forEach((w) => w.kill())))
    const start = Effect.tap(spawnWorker(options), (w) => Effect.sync(() => live.add(w)))
    const idle = yield* Queue.unbounded<ChildProcess>()
    for (let i = 0; i < size; i++) yield* Queue.offer(idle, yield* start)
    const release = (worker: ChildProcess) =>
      worker.exitCode === null && worker.signalCode === null
        ? Queue.offer(idle, worker)
        : Effect.zipRight(
            Effect.sync(() => live.delete(worker)),
            Effect.flatMap(start, (w) => Queue.offer(idle, w)),
          )
    return {
      run: (request) =>
        Effect.acquireUseRelease(Queue.take(idle), (worker) => ask(worker, request), release),
    } satisfies WorkerPool
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
  return Effect.gen(function* () {
    if (options.jobs <= 1) {
      return yield* Effect.forEach(jobs, (job) =>
        specialise(document, job).pipe(
          Effect.flatMap((d) => runDocument(d, job, options.catalogue ?? builtinProblems, options.registry ?? builtinInterpreters)),
          Effect.tap(report),
        ),
      )
    }
    return yield* Effect.scoped(
      Effect.gen(function* () {
        const count = Math.min(options.jobs, jobs.length)
        const pool = yield* makeWorkerPool(count, options)
        return yield* Effect.forEach(
          jobs,
          (job) =>
            Effect.gen(function* () {
              const specialised = yield* specialise(document, job)
              const record = yield* pool.run({ document: encodeSpecDocument(specialised), job })
              yield* report(record)
              return record
            }),
          { concurrency: count },
        )
      }),
    )
  })
}
