/**
 * Gradient worker threads for data-parallel training steps (Node only: `node:worker_threads`).
 *
 * With `workers: N`, a step's mini-batch is split into N contiguous shares: the training thread
 * computes the first share itself while N − 1 worker threads, each with its own TensorFlow.js
 * backend, compute the others at the same time. θ reaches the workers through one
 * `SharedArrayBuffer` (written once per step); each worker writes its flat gradients into its own
 * shared slots; the training thread combines the shares, weighted by their sizes (the losses are
 * means over examples), and runs the update rule as usual. Objectives without data are computed
 * once, on the training thread.
 */
import { createRequire } from "node:module"
import { pathToFileURL } from "node:url"
import { Worker } from "node:worker_threads"
import { Effect, type Scope } from "effect"
import {
  GradientWorkerError,
  type GradientWorkers,
  type ReadyMessage,
  type SpecRecipe,
  type StepReply,
  type WorkerMessage,
  type WorkerPool,
  type WorkerPoolSettings,
  type WorkerSetup,
} from "./protocol.ts"
import { shareOf } from "./sources.ts"




/**
 * How to start a worker: the built JavaScript as it is; from TypeScript sources (tests, tsx), a
 * small bootstrap that registers tsx's loader in the new thread first (`--import` in a worker's
 * `execArgv` does not reach the worker's own module loading under Node 20).
 */
const workerEntry = (): { readonly entry: string | URL; readonly eval: boolean } => {
  const url = new URL(import.meta.url.endsWith(".ts") ? "./gradientWorker.ts" : "./gradientWorker.js", import.meta.url)
  if (!import.meta.url.endsWith(".ts")) return { entry: url, eval: false }
  const loader = pathToFileURL(createRequire(import.meta.url).resolve("tsx/esm/api").replace(/\.cjs$/, ".mjs")).href
  const bootstrap = `import(${JSON.stringify(loader)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(url.href)}) })`
  return { entry: bootstrap, eval: true }
}

const describe = (error: unknown): string => (error instanceof Error ? error.message : String(error))

/** Start the workers and wait until each has rebuilt the spec and checked it against the run's. */
export const openWorkerPool = (settings: WorkerPoolSettings): Effect.Effect<WorkerPool, GradientWorkerError, Scope.Scope> =>
  Effect.gen(function* () {
    const count = settings.parts - 1
    const size = settings.layout.size
    const theta = new SharedArrayBuffer(size * 4)
    const { entry, eval: isCode } = workerEntry()
    const gradientBuffers = Array.from({ length: count }, () => new SharedArrayBuffer(Math.max(1, settings.objectives.length * size * 4)))
    const workers = yield* Effect.acquireRelease(
      Effect.sync(() =>
        gradientBuffers.map((gradients, i) => {
          const workerData: WorkerSetup = {
            worker: i + 1,
            recipe: settings.recipe,
            backend: settings.backend,
            ...(settings.matMulKernel === undefined ? {} : { matMulKernel: settings.matMulKernel, transposeRewrite: settings.transposeRewrite === true }),
            objectives: settings.objectives,
            theta,
            gradients,
            parameterCount: size,
          }
          return new Worker(entry, { workerData, eval: isCode })
        }),
      ),
      (list) => Effect.promise(() => Promise.all(list.map((w) => w.terminate()))),
    )
    // Replies arrive as messages; a worker that throws outside a step or exits fails whatever waits.
    const waiting: Array<{ resolve: (m: WorkerMessage) => void; reject: (e: GradientWorkerError) => void } | undefined> = workers.map(() => undefined)
    let lastStep: number | undefined
    const failure = (worker: number, reason: string, objective?: string) =>
      new GradientWorkerError({ worker, step: lastStep, objective, reason })
    workers.forEach((w, i) => {
      w.on("message", (m: WorkerMessage) => {
        const pending = waiting[i]
        waiting[i] = undefined
        if (pending === undefined) return
        if (m._tag === "Failed") pending.reject(new GradientWorkerError({ worker: i + 1, step: m.step, objective: m.objective, reason: m.reason }))
        else pending.resolve(m)
      })
      w.on("error", (error) => {
        waiting[i]?.reject(failure(i + 1, describe(error)))
        waiting[i] = undefined
      })
      w.on("exit", (code) => {
        waiting[i]?.reject(failure(i + 1, `the thread exited (code ${code})`))
        waiting[i] = undefined
      })
    })
    const next = (i: number): Promise<WorkerMessage> =>
      new Promise((resolve, reject) => {
        waiting[i] = { resolve, reject }
      })
    const ready = yield* Effect.tryPromise({
      try: () => Promise.all(workers.map((_, i) => next(i))),
      catch: (e) => (e instanceof GradientWorkerError ? e : failure(0, describe(e))),
    })
    const expected = settings.layout.entries.map((e) => `${e.name}:${e.size}`).join(", ")
    for (const [i, message] of ready.entries()) {
      const { parameters, sourceOf, matMulKernel } = message as ReadyMessage
      if (settings.matMulKernel !== undefined && matMulKernel !== settings.matMulKernel) {
        return yield* failure(i + 1, `it runs the ${matMulKernel} matrix-product kernel, the training thread ${settings.matMulKernel}`)
      }
      const found = parameters.map(([n, s]) => `${n}:${s}`).join(", ")
      if (found !== expected) return yield* failure(i + 1, `its spec declares parameters {${found}}, the run's are {${expected}}`)
      if (sourceOf.join() !== settings.sourceOf.join()) {
        return yield* failure(i + 1, `its objectives share data sources as [${sourceOf.join()}], the run's as [${settings.sourceOf.join()}]`)
      }
    }
    const slots = gradientBuffers.map((buffer) => settings.objectives.map((_, k) => new Float32Array(buffer, k * size * 4, size)))
    return {
      parts: settings.parts,
      theta: new Float32Array(theta),
      request: (step, indices) => {
        lastStep = step
        const replies = workers.map((w, i) => {
          const reply = next(i)
          const share = indices.map((all) => all.subarray(...shareOf(all.length, i + 1, settings.parts)))
          w.postMessage({ _tag: "Step", step, indices: share })
          return reply
        })
        return Promise.all(replies) as Promise<ReadonlyArray<StepReply>>
      },
      gradient: (worker, objective) => slots[worker - 1]![objective]!,
    } satisfies WorkerPool
  })

/**
 * Data-parallel gradients on `workers` threads in total (the training thread and `workers − 1`
 * worker threads), each rebuilding the spec from `recipe`. Pass it as `TrainingOptions.workers`.
 * `workers: 1` computes everything on the training thread, as without this option.
 */
export const gradientWorkers = (workers: number, recipe: SpecRecipe): GradientWorkers => ({
  parts: workers,
  open: (settings) => openWorkerPool({ ...settings, parts: workers, recipe }),
})

