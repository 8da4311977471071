/**
 * The worker side of sweeps on a queue (`scalpel worker`): a BullMQ worker whose processor hands
 * each job to a pool of training processes (`pool.ts`), one per unit of concurrency. Training
 * happens outside this process, so its event loop stays free to renew the locks of its jobs; if
 * this process dies (kill -9), its locks expire and another worker's stalled-job check puts the
 * jobs back in the queue (BullMQ's mechanism, tuned by `lockDurationMs`).
 *
 * What a job may contain is data only: a job whose data does not decode as a spec document is
 * failed at once, never retried, and so is a job whose training fails (the same document would
 * fail again). Only the death of a training process is retried.
 */
import { Effect, Exit, Cause, Either, Option } from "effect"
import type { Job } from "bullmq"
import { encodeSpecDocument } from "../../dsl/json.ts"
import type { ProblemCatalogue } from "../../problems/catalogue.ts"
import { makeWorkerPool, RunFailed, type WorkerPool } from "../pool.ts"
import { loadInterpreterModules } from "../interpreterModules.ts"
import { loadProblemModules } from "../problemModules.ts"
import type { InterpreterRegistry } from "../../interpreters/registry.ts"
import type { RunRecord } from "../sweep.ts"
import { checkReachable, connectionOptions, queueEngine } from "./connection.ts"
import { decodePayload, queueName } from "./payload.ts"
import type { QueueUrl } from "./url.ts"

export interface QueueWorkerOptions {
  readonly url: QueueUrl
  /** Jobs trained at once (one training process each). */
  readonly concurrency: number
  /** Backend of the training processes; default: this process's environment. */
  readonly backend?: string
  /** Problem modules to load (jobs naming other problems fail with a message saying so). */
  readonly problemModules?: ReadonlyArray<string>
  /** Interpreter modules to load (jobs naming other methods fail with a message saying so). */
  readonly interpreterModules?: ReadonlyArray<string>
  /**
   * How long a job's lock lasts without renewal (BullMQ's `lockDuration`; default 30 s): a job
   * whose worker died is retried elsewhere after about this long, plus `stalledIntervalMs`.
   */
  readonly lockDurationMs?: number
  /** How often this worker looks for stalled jobs (BullMQ's `stalledInterval`); default: `lockDurationMs`. */
  readonly stalledIntervalMs?: number
  /** Where this worker reports what it does (one line each); passwords are already hidden. */
  readonly log: (line: string) => void
}

/** What this worker loaded: the catalogue and registry, and the modules they came from (for messages). */
interface Loaded {
  readonly catalogue: ProblemCatalogue
  readonly registry: InterpreterRegistry
  readonly problemModules: ReadonlyArray<string>
  readonly interpreterModules: ReadonlyArray<string>
}

const describe = (job: Job) => {
  const data = job.data as { job?: { method?: unknown; lambda?: unknown; seed?: unknown } } | undefined
  return `${job.id} (${String(data?.job?.method)} λ=${String(data?.job?.lambda)} seed ${String(data?.job?.seed)})`
}

/** Train one job; throws what BullMQ expects (an {@link UnrecoverableError} for what a retry cannot fix). */
const processor = (UnrecoverableError: new (message: string) => Error, pool: WorkerPool, loaded: Loaded) => async (job: Job): Promise<RunRecord> => {
  const decoded = decodePayload(job.data)
  if (Either.isLeft(decoded)) throw new UnrecoverableError(`not a scalpel run: ${decoded.left.message}`)
  const { document, job: point, problemModules, interpreterModules } = decoded.right
  const { catalogue, registry, problemModules: modules } = loaded
  if (!registry.has(document.method.name)) {
    const wanted = interpreterModules.length > 0 ? `the sweep loads interpreters from ${interpreterModules.join(", ")}` : "the sweep names no interpreter module"
    const have = loaded.interpreterModules.length > 0 ? `this worker loaded ${loaded.interpreterModules.join(", ")}` : "this worker loaded no interpreter module"
    throw new UnrecoverableError(`unknown method '${document.method.name}' on this worker (${wanted}; ${have}; start workers with --interpreters MODULE)`)
  }
  if (!catalogue.has(document.problem.name)) {
    const wanted = problemModules.length > 0 ? `the sweep loads problems from ${problemModules.join(", ")}` : "the sweep names no problem module"
    const have = modules.length > 0 ? `this worker loaded ${modules.join(", ")}` : "this worker loaded no problem module"
    throw new UnrecoverableError(
      `unknown problem '${document.problem.name}' on this worker (${wanted}; ${have}; start workers with --problems MODULE)`,
    )
  }
  const exit = await Effect.runPromiseExit(pool.run({ document: encodeSpecDocument(document), job: point }))
  if (Exit.isSuccess(exit)) return exit.value
  const failure = Cause.failureOption(exit.cause)
  if (Option.isSome(failure) && failure.value instanceof RunFailed) {
    throw failure.value.kind === "run" ? new UnrecoverableError(failure.value.reason) : new Error(failure.value.reason)
  }
  throw new Error(Cause.pretty(exit.cause))
}

/**
 * Serve the queue until interrupted: check the server, load the problem modules, start the
 * training processes and the BullMQ worker. Closing the scope lets running jobs finish, then
 * stops everything.
 */
export const serveQueue = (options: QueueWorkerOptions) =>
  Effect.gen(function* () {
    const { url, log } = options
    const { Worker, UnrecoverableError } = yield* queueEngine
    yield* checkReachable(url)
    const modules = options.problemModules ?? []
    const interpreterModules = options.interpreterModules ?? []
    const catalogue = yield* loadProblemModules(modules)
    const registry = yield* loadInterpreterModules(interpreterModules)
    const pool = yield* makeWorkerPool(options.concurrency, {
      ...(options.backend === undefined ? {} : { backend: options.backend }),
      problemModules: modules,
      interpreterModules,
    })
    const lockDuration = options.lockDurationMs ?? 30_000
    const worker = yield* Effect.acquireRelease(
      Effect.sync(
        () =>
          new Worker(queueName, processor(UnrecoverableError, pool, { catalogue, registry, problemModules: modules, interpreterModules }), {
            connection: connectionOptions(url),
            concurrency: options.concurrency,
            lockDuration,
            stalledInterval: options.stalledIntervalMs ?? lockDuration,
            maxStalledCount: 2,
            autorun: true,
          }),
      ),
      (w) => Effect.promise(() => w.close().catch(() => undefined)),
    )
    worker.on("error", (error) => log(`queue error: ${url.redact(error.message)}`))
    worker.on("active", (job) => log(`started ${describe(job)}`))
    worker.on("completed", (job) => log(`finished ${describe(job)}`))
    worker.on("failed", (job, error) => log(`failed ${job === undefined ? "a job" : describe(job)}: ${url.redact(error.message)}`))
    worker.on("stalled", (id) => log(`job ${id} stalled (its worker stopped renewing its lock); back in the queue`))
    yield* Effect.promise(() => worker.waitUntilReady())
    log(`serving ${url.redacted} with ${options.concurrency} training process${options.concurrency === 1 ? "" : "es"}; problems: ${[...catalogue.keys()].join(", ")}`)
    return yield* Effect.never
  })
