/**
 * `npm run bench -- queue [--rounds=N] [--runs=N] [--steps=N] [--backend=B]`: wall time of one
 * sweep through the BullMQ/Redis queue with 1 and with 2 `scalpel worker` processes, against the
 * local pool (`--jobs 1`, in this process, and `--jobs 2`, two child processes), on this machine.
 *
 * A real `redis-server` is started on a free loopback port (as the tests do). Workers are started
 * once and kept, as they are in use; the local pool starts its processes with every sweep, as it
 * does in use. Each round runs every variant once (order rotated), on an emptied queue so that
 * nothing is reused; medians over the rounds.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { Effect, Either } from "effect"
import { Redis } from "ioredis"
import { Backend, type BackendChoice, backendLayer } from "../src/core/backend.ts"
import { decodeSpecDocument } from "../src/dsl/json.ts"
import { runJobs } from "../src/experiments/pool.ts"
import { runJobsOnQueue } from "../src/experiments/queue/submit.ts"
import { QueueUrl } from "../src/experiments/queue/url.ts"
import { sweepJobs } from "../src/experiments/sweep.ts"
import { startRedisServer } from "../test/support/redis.ts"
import { median } from "./measure.ts"
import { table } from "./timing.ts"

export const description = "one sweep through the Redis queue with 1 and 2 worker processes, against the local pool"

const flag = (args: ReadonlyArray<string>, name: string, fallback: string): string =>
  args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback

interface Worker {
  readonly child: ChildProcess
  readonly ready: Promise<void>
}

const startWorker = (url: string, backend: string): Worker => {
  const child = spawn(process.execPath, ["--import", "tsx", "src/cli/main.ts", "worker", "--queue", url, "--backend", backend], {
    detached: true,
    stdio: ["ignore", "pipe", "inherit"],
  })
  const ready = new Promise<void>((resolve, reject) => {
    let text = ""
    child.stdout!.on("data", (chunk: Buffer) => {
      text += chunk.toString()
      if (text.includes("serving")) resolve()
    })
    child.once("exit", (code) => reject(new Error(`worker exited with code ${code}: ${text}`)))
  })
  return { child, ready }
}

const stopWorker = (worker: Worker) =>
  new Promise<void>((resolve) => {
    if (worker.child.exitCode !== null || worker.child.signalCode !== null) return resolve()
    worker.child.once("exit", () => resolve())
    process.kill(-worker.child.pid!, "SIGKILL")
  })

export const run = async (args: ReadonlyArray<string>): Promise<void> => {
  const rounds = Number(flag(args, "rounds", "3"))
  const runs = Number(flag(args, "runs", "8"))
  const steps = Number(flag(args, "steps", "600"))
  const backend = flag(args, "backend", "wasm")
  const document = Either.getOrThrow(
    decodeSpecDocument({
      problem: { name: "least-squares", options: { examples: 64 } },
      structure: { kind: "prioritize", main: "fit", aux: "prior", lambda: 1 },
      method: { name: "bloop", options: { rho: 0.01 } },
      optimizer: { kind: "sgd", learningRate: 0.5 },
      steps,
      batchSize: 8,
      seed: 1,
    }),
  )
  const lambdas = Array.from({ length: runs / 2 }, (_, i) => 10 ** (i - 2))
  const jobs = sweepJobs({ methods: ["bloop", "pcgrad"], lambdas, seeds: 1 }, document.seed)
  console.log(`${jobs.length} runs of ${steps} steps (least squares, bloop and pcgrad), backend ${backend}, ${rounds} rounds\n`)

  // `--jobs 1` trains in this process: on the same backend as the workers.
  await Effect.runPromise(Effect.provide(Backend, backendLayer(backend as BackendChoice)))
  const server = await startRedisServer()
  const url = Either.getOrThrow(QueueUrl.parse(server.url))
  const client = new Redis(server.url)
  const workers: Array<Worker> = []
  try {
    const timed = async (f: () => Promise<unknown>) => {
      await client.flushall()
      const start = performance.now()
      await f()
      return performance.now() - start
    }
    const onQueue = () => Effect.runPromise(runJobsOnQueue(document, jobs, { url }))
    const ensureWorkers = async (n: number) => {
      while (workers.length > n) await stopWorker(workers.pop()!)
      while (workers.length < n) workers.push(startWorker(server.url, backend))
      await Promise.all(workers.map((w) => w.ready))
      // One warm-up sweep: the workers' training processes load the backend on their first job.
      await client.flushall()
      await Effect.runPromise(runJobsOnQueue({ ...document, steps: 1 }, jobs.slice(0, 2 * n), { url }))
    }
    const variants: ReadonlyArray<readonly [string, () => Promise<number>]> = [
      ["local pool, --jobs 1 (this process)", () => timed(() => Effect.runPromise(runJobs(document, jobs, { jobs: 1 })))],
      ["local pool, --jobs 2 (2 processes)", () => timed(() => Effect.runPromise(runJobs(document, jobs, { jobs: 2, backend })))],
      ["queue, 1 worker process", async () => (await ensureWorkers(1), timed(onQueue))],
      ["queue, 2 worker processes", async () => (await ensureWorkers(2), timed(onQueue))],
    ]
    const samples = new Map<string, Array<number>>(variants.map(([name]) => [name, []]))
    for (let r = 0; r < rounds; r++) {
      for (let i = 0; i < variants.length; i++) {
        const [name, measure] = variants[(i + r) % variants.length]!
        const ms = await measure()
        samples.get(name)!.push(ms)
        console.log(`round ${r + 1}: ${name}: ${(ms / 1000).toFixed(1)} s`)
      }
    }
    const base = median(samples.get("queue, 1 worker process")!)
    const local1 = median(samples.get(variants[0]![0])!)
    console.log(
      `\n${table(
        ["variant", "median wall time (s)", "samples (s)", "speed-up vs queue, 1 worker", "speed-up vs local --jobs 1"],
        variants.map(([name]) => {
          const s = samples.get(name)!
          const m = median(s)
          return [name, (m / 1000).toFixed(1), s.map((x) => (x / 1000).toFixed(1)).join(", "), `${(base / m).toFixed(2)}×`, `${(local1 / m).toFixed(2)}×`]
        }),
      )}`,
    )
  } finally {
    await Promise.all(workers.map(stopWorker))
    client.disconnect()
    await server.stop()
  }
}
