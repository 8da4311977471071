/**
 * Sweeps through a real Redis server (`test/support/redis.ts`) and real `scalpel worker`
 * processes: the queue gives the local pool's results bit for bit, survives a worker killed
 * mid-job and a submitter restarted mid-sweep, and fails a bad job once with its reason.
 * Every server and process a test starts, it stops.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { Queue } from "bullmq"
import { Effect, Either } from "effect"
import { Redis } from "ioredis"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import { decodeSpecDocument, type SpecDocument } from "../../src/dsl/json.ts"
import { runJobs } from "../../src/experiments/pool.ts"
import { loadProblemModules } from "../../src/experiments/problemModules.ts"
import { checkReachable } from "../../src/experiments/queue/connection.ts"
import { jobKey, makePayload, queueName } from "../../src/experiments/queue/payload.ts"
import { runJobsOnQueue } from "../../src/experiments/queue/submit.ts"
import { QueueUrl } from "../../src/experiments/queue/url.ts"
import { documentForJob, type RunRecord, sweepJobs } from "../../src/experiments/sweep.ts"
import { sweepFiles } from "../../src/experiments/sweepReport.ts"
import { needRedisServer, type RedisServer, startRedisServer } from "../support/redis.ts"

const run = needRedisServer("queue tests")
const problemModule = resolve("test/experiments/fixtures/problemModule.ts")
const interpreterModule = resolve("test/cli/fixtures/cappedSumInterpreter.ts")

const specOf = (steps: number): SpecDocument =>
  Either.getOrThrow(
    decodeSpecDocument({
      problem: { name: "least-squares-module", options: { examples: 32 } },
      structure: { kind: "prioritize", main: "fit", aux: "prior", lambda: 1 },
      method: { name: "bloop", options: { rho: 0.01 } },
      optimizer: { kind: "sgd", learningRate: 0.3 },
      steps,
      batchSize: 8,
      seed: 5,
    }),
  )
/** Worker processes load tsx and TensorFlow.js: tens of seconds each on a busy machine. */
const timeout = 300_000
const grid = { methods: ["bloop", "pcgrad"], lambdas: [0.1, 1], seeds: 1 }

/** A `scalpel worker` in its own process group (it and its training processes are killed together). */
interface WorkerProcess {
  readonly child: ChildProcess
  readonly output: () => string
  readonly waitFor: (pattern: RegExp, ms: number) => Promise<void>
  readonly stop: () => Promise<void>
}

const processes = new Set<WorkerProcess>()

const exited = (child: ChildProcess): Promise<void> =>
  child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once("exit", () => r()))

const startCli = (args: ReadonlyArray<string>): WorkerProcess => {
  const child = spawn(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args], {
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, SCALPEL_BACKEND: "cpu" },
  })
  let text = ""
  const waiters: Array<() => void> = []
  const append = (chunk: Buffer) => {
    text += chunk.toString()
    waiters.forEach((w) => w())
  }
  child.stdout!.on("data", append)
  child.stderr!.on("data", append)
  const handle: WorkerProcess = {
    child,
    output: () => text,
    waitFor: (pattern, ms) =>
      new Promise((resolve, reject) => {
        const check = () => {
          if (pattern.test(text)) {
            clearTimeout(timer)
            resolve()
          }
        }
        const timer = setTimeout(() => reject(new Error(`no ${pattern} within ${ms} ms in:\n${text}`)), ms)
        waiters.push(check)
        check()
      }),
    stop: async () => {
      processes.delete(handle)
      try {
        process.kill(-child.pid!, "SIGKILL")
      } catch {
        // already gone
      }
      await exited(child)
    },
  }
  processes.add(handle)
  return handle
}

const startWorker = (url: string) =>
  startCli(["worker", "--queue", url, "--lock-ms", "1500", "--problems", problemModule, "--concurrency", "1"])

const withoutTimes = (records: ReadonlyArray<RunRecord>) => records.map(({ wallTimeMs: _, ...rest }) => rest)

describe.runIf(run)("sweeps through a Redis queue", () => {
  let server: RedisServer
  let url: QueueUrl
  let queue: Queue
  beforeAll(async () => {
    server = await startRedisServer()
    url = Either.getOrThrow(QueueUrl.parse(server.url))
    queue = new Queue(queueName, { connection: { url: server.url } })
  })
  afterEach(async () => {
    await Promise.all([...processes].map((p) => p.stop()))
    const client = new Redis(server.url)
    await client.flushall()
    client.disconnect()
  })
  afterAll(async () => {
    await queue?.close()
    await server?.stop()
  })

  const jobsOf = (document: SpecDocument) => sweepJobs(grid, document.seed)
  const idsOf = (document: SpecDocument) =>
    jobsOf(document).map((job) => jobKey(makePayload(Either.getOrThrow(documentForJob(document, job)), job, [])))

  it("two workers give the local pool's results bit for bit, with problems from a module; bad jobs fail once with their reason", async () => {
    const document = specOf(30)
    const jobs = jobsOf(document)
    const workers = [startWorker(server.url), startWorker(server.url)]
    const catalogue = await Effect.runPromise(loadProblemModules([problemModule]))
    const local = await Effect.runPromise(runJobs(document, jobs, { jobs: 2, backend: "cpu", problemModules: [problemModule], catalogue }))
    await Promise.all(workers.map((w) => w.waitFor(/serving redis:\/\/127\.0\.0\.1/, 90_000)))
    const queued = await Effect.runPromise(runJobsOnQueue(document, jobs, { url, problemModules: [problemModule] }))
    expect(JSON.stringify(withoutTimes(queued))).toBe(JSON.stringify(withoutTimes(local)))
    expect(queued.every((r) => r.backend === "cpu")).toBe(true)
    // Both workers took part. A worker prints "finished" after it hands the result back, so its
    // line may arrive after runJobsOnQueue has returned: wait for it rather than read at once.
    await Promise.all(workers.map((w) => w.waitFor(/finished run-/, 30_000)))

    // A problem no worker knows: fails once (no retry), with the reason.
    const unknown = { ...document, problem: { name: "nope", options: {} } }
    const failure = await Effect.runPromise(Effect.flip(runJobsOnQueue(unknown, [jobs[0]!], { url })))
    expect(failure._tag).toBe("RunFailed")
    expect(failure.message).toMatch(/unknown problem 'nope' on this worker .*--problems/)
    const failedJob = (await queue.getJobs(["failed"]))[0]!
    expect(failedJob.attemptsStarted).toBe(1)

    // A method from an interpreter module the sweep loads but the workers do not: fails once, naming both sides.
    const missing = await Effect.runPromise(Effect.flip(runJobsOnQueue(document, [{ ...jobs[0]!, method: "capped-sum" }], { url, problemModules: [problemModule], interpreterModules: [interpreterModule] })))
    expect(missing._tag).toBe("RunFailed")
    expect(missing.message).toMatch(/unknown method 'capped-sum' on this worker \(the sweep loads interpreters from .*cappedSumInterpreter\.ts; this worker loaded no interpreter module; start workers with --interpreters MODULE\)/)
    const failedMethodJob = (await queue.getJobs(["failed"])).find((j) => j.failedReason?.includes("capped-sum"))!
    expect(failedMethodJob.attemptsStarted).toBe(1)

    // Data that is not a spec document (or anything else) is never run, and never retried.
    const junk = await queue.add("run", { code: "process.exit(1)" }, { jobId: "junk", attempts: 3 })
    await expect.poll(() => queue.getJobState("junk"), { timeout: 30_000 }).toBe("failed")
    const failedJunk = (await queue.getJob(junk.id!))!
    expect(failedJunk.failedReason).toMatch(/^not a scalpel run: /)
    expect(failedJunk.attemptsStarted).toBe(1)
  }, timeout)

  it("a worker killed mid-job (SIGKILL): its job is retried by another worker, every run exactly once", async () => {
    const document = specOf(150)
    const jobs = jobsOf(document)
    const first = startWorker(server.url)
    await first.waitFor(/serving/, 90_000)
    const sweep = Effect.runPromise(runJobsOnQueue(document, jobs, { url, problemModules: [problemModule] }))
    await first.waitFor(/started run-/, 60_000)
    const killedId = /started (run-[0-9a-f]+)/.exec(first.output())![1]!
    process.kill(first.child.pid!, "SIGKILL")
    await exited(first.child)
    expect(await queue.getJobState(killedId)).toBe("active")
    const second = startWorker(server.url)
    const records = await sweep
    expect(records).toHaveLength(jobs.length)
    expect(new Set(records.map((r) => `${r.method} ${r.lambda} ${r.seed}`))).toEqual(new Set(jobs.map((j) => `${j.method} ${j.lambda} ${j.seed}`)))
    expect(await queue.getJobCounts("completed", "failed")).toEqual({ completed: jobs.length, failed: 0 })
    expect((await queue.getJob(killedId))!.attemptsStarted).toBe(2)
    expect(second.output()).toContain(`finished ${killedId}`)
    await first.stop()
  }, timeout)

  it("a submitter restarted mid-sweep reuses the finished runs instead of recomputing them", async () => {
    const document = specOf(150)
    const ids = idsOf(document)
    const folder = await mkdtemp(join(tmpdir(), "scalpel-queue-"))
    try {
      const specPath = join(folder, "spec.json")
      await writeFile(specPath, JSON.stringify({ ...document, method: { name: "bloop", options: { rho: 0.01 } } }))
      const sweepArgs = (out: string) => [
        "sweep", specPath, "--queue", server.url, "--problems", problemModule,
        "--method", grid.methods.join(","), "--lambda", grid.lambdas.join(","), "--seeds", "1", "--out", join(folder, out),
      ]
      startWorker(server.url)
      const firstSubmitter = startCli(sweepArgs("first"))
      await firstSubmitter.waitFor(/\[1\/4\]/, 120_000)
      await firstSubmitter.stop()
      const finishedBefore = new Map((await queue.getJobs(["completed"])).map((j) => [j.id!, j.finishedOn]))
      expect(finishedBefore.size).toBeGreaterThanOrEqual(1)

      const second = startCli(sweepArgs("second"))
      await exited(second.child)
      expect(second.child.exitCode, second.output()).toBe(0)
      expect(second.output()).toMatch(/\(\d+ reused\)/)
      const results = JSON.parse(await readFile(join(folder, "second", sweepFiles("spec").records), "utf8")) as { records: ReadonlyArray<unknown> }
      expect(results.records).toHaveLength(4)
      for (const id of ids) {
        const job = (await queue.getJob(id))!
        expect(job.attemptsStarted).toBe(1)
        if (finishedBefore.has(id)) expect(job.finishedOn).toBe(finishedBefore.get(id))
      }
    } finally {
      await rm(folder, { recursive: true, force: true })
    }
  }, timeout)
})

describe.runIf(run)("queue addresses with a password", () => {
  let server: RedisServer
  beforeAll(async () => {
    server = await startRedisServer("s3cret-pass")
  })
  afterAll(() => server?.stop())

  it("connects with the password, and never prints it when it is wrong", async () => {
    const good = Either.getOrThrow(QueueUrl.parse(server.url))
    await Effect.runPromise(checkReachable(good))
    const bad = Either.getOrThrow(QueueUrl.parse(`redis://:wrong-pass-42@127.0.0.1:${server.port}`))
    const error = await Effect.runPromise(Effect.flip(checkReachable(bad)))
    expect(error.message).toContain("redis://:***@127.0.0.1")
    expect(error.message).not.toContain("wrong-pass-42")
    const cli = startCli(["worker", "--queue", `redis://:wrong-pass-42@127.0.0.1:${server.port}`])
    await exited(cli.child)
    expect(cli.child.exitCode).toBe(1)
    expect(cli.output()).toMatch(/error: cannot reach the queue at redis:\/\/:\*\*\*@127\.0\.0\.1/)
    expect(cli.output()).not.toContain("wrong-pass-42")
    await cli.stop()
  }, timeout)
})
