/**
 * The parts of queue sweeps that need no server: addresses and their redaction, job payloads
 * and their keys, the progress line, problem modules.
 */
import { resolve } from "node:path"
import { inspect } from "node:util"
import { Effect, Either } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { decodeSpecDocument, encodeSpecDocument, type SpecDocument } from "../../src/dsl/json.ts"
import { runJobs } from "../../src/experiments/pool.ts"
import { loadProblemModules } from "../../src/experiments/problemModules.ts"
import { canonicalJson, decodePayload, decodeRecord, jobKey, makePayload } from "../../src/experiments/queue/payload.ts"
import { estimateRemainingMs, formatDuration, progressLine } from "../../src/experiments/queue/progress.ts"
import { QueueUrl, redactUrls } from "../../src/experiments/queue/url.ts"
import { documentForJob, type SweepJob } from "../../src/experiments/sweep.ts"
import { useCpuBackend } from "../support/cpuBackend.ts"

useCpuBackend()

const document: SpecDocument = Either.getOrThrow(
  decodeSpecDocument({
    problem: { name: "least-squares", options: { examples: 16 } },
    structure: { kind: "prioritize", main: "fit", aux: "prior", lambda: 1 },
    method: { name: "bloop" },
    optimizer: { kind: "sgd", learningRate: 0.1 },
    steps: 5,
    batchSize: 4,
    seed: 2,
  }),
)

describe("queue addresses", () => {
  it("parse redis:// and rediss:// (TLS), refuse other schemes and paths", () => {
    const plain = Either.getOrThrow(QueueUrl.parse("redis://10.0.0.5:6379"))
    expect(plain.tls).toBe(false)
    expect(plain.redacted).toBe("redis://10.0.0.5:6379")
    const tls = Either.getOrThrow(QueueUrl.parse("rediss://:pw@example.org:6380/2"))
    expect(tls.tls).toBe(true)
    expect(tls.connectionUrl()).toBe("rediss://:pw@example.org:6380/2")
    expect(Either.getOrThrow(Either.flip(QueueUrl.parse("http://:topsecret@host:1"))).message).toMatch(/unsupported scheme 'http:'/)
    expect(Either.getOrThrow(Either.flip(QueueUrl.parse("redis://host:1/queue"))).message).toMatch(/database number/)
    expect(Either.getOrThrow(Either.flip(QueueUrl.parse("not a url :topsecret@"))).message).toMatch(/not a URL/)
  })

  it("never show the password: printing, JSON, inspect, errors, and texts quoting it", () => {
    const secret = "p@ss:w/rd%"
    const text = `redis://alice:${encodeURIComponent(secret)}@db.example:6379`
    const url = Either.getOrThrow(QueueUrl.parse(text))
    const shown = [String(url), `${url}`, JSON.stringify({ url }), inspect(url), inspect({ url }), url.redacted]
    for (const s of shown) {
      expect(s).not.toContain(encodeURIComponent(secret))
      expect(s).not.toContain(secret)
    }
    expect(url.redacted).toBe("redis://alice:***@db.example:6379")
    expect(url.redact(`AUTH failed for ${secret} at ${text}`)).toBe("AUTH failed for *** at redis://alice:***@db.example:6379")
    for (const bad of ["ftp://u:topsecret@h", "redis://:topsecret@/x"]) {
      const error = Either.getOrThrow(Either.flip(QueueUrl.parse(bad)))
      expect(error.message).not.toContain("topsecret")
      expect(inspect(error)).not.toContain("topsecret")
    }
    expect(redactUrls("see rediss://bob:hunter2@h:1 and redis://h:2")).toBe("see rediss://bob:***@h:1 and redis://h:2")
  })
})

describe("job payloads", () => {
  const job: SweepJob = { method: "pcgrad", lambda: 0.5, seed: 3 }
  const payload = makePayload(Either.getOrThrow(documentForJob(document, job)), job, ["./problems.ts"])

  it("a payload decodes back to its document and grid point", () => {
    const decoded = Either.getOrThrow(decodePayload(JSON.parse(JSON.stringify(payload))))
    expect(encodeSpecDocument(decoded.document)).toEqual(payload.document)
    expect(decoded.job).toEqual(job)
  })

  it("anything else is refused with the path of what is wrong: no code, no extra fields, only spec documents", () => {
    const refused = (data: unknown) => Either.getOrThrow(Either.flip(decodePayload(data))).message
    expect(refused({ code: "process.exit(1)" })).toMatch(/^job/)
    expect(refused({ ...payload, code: "x" })).toMatch(/^job/)
    expect(refused({ ...payload, document: { ...(payload.document as object), structure: { kind: "eval", code: "process.exit(1)" } } })).toMatch(/^job\.document\.structure/)
    expect(refused({ ...payload, document: { problem: { name: "least-squares" }, hook: "require('child_process')" } })).toMatch(/^job\.document/)
    expect(refused({ ...payload, version: 0 })).toMatch(/^job\.version/)
  })

  it("a result decodes only as a run record", () => {
    const record = { method: "bloop", lambda: 1, seed: 1, mainTrain: 1, auxTrain: 2, mainTest: 1, auxTest: 2, heldOut: true, metrics: {}, wallTimeMs: 3, backend: "cpu" }
    expect(Either.getOrThrow(decodeRecord(record))).toEqual(record)
    expect(Either.isLeft(decodeRecord({ ...record, mainTrain: "1" }))).toBe(true)
  })

  it("keys depend on the content only: not on key order nor on where problems are loaded from; any change of λ, seed or method changes them", () => {
    const shuffle = (value: unknown, order: ReadonlyArray<number>): unknown => {
      if (Array.isArray(value)) return value.map((v) => shuffle(v, order))
      if (value === null || typeof value !== "object") return value
      const entries = Object.entries(value)
      const permuted = entries.map((_, i) => entries[(i + order[i % order.length]!) % entries.length]!)
      const unique = [...new Map(permuted.concat(entries)).entries()]
      return Object.fromEntries(unique.map(([k, v]) => [k, shuffle(v, order)]))
    }
    fc.assert(
      fc.property(fc.array(fc.nat(20), { minLength: 1, maxLength: 8 }), (order) => {
        const reordered = { ...payload, document: shuffle(payload.document, order) }
        expect(canonicalJson(reordered.document)).toBe(canonicalJson(payload.document))
        expect(jobKey(reordered as typeof payload)).toBe(jobKey(payload))
      }),
    )
    expect(jobKey({ ...payload, problemModules: [] })).toBe(jobKey(payload))
    const variants: ReadonlyArray<SweepJob> = [
      { ...job, lambda: 0.5000000000000001 },
      { ...job, seed: 4 },
      { ...job, method: "bloop" },
    ]
    const keys = variants.map((v) => jobKey(makePayload(Either.getOrThrow(documentForJob(document, v)), v, [])))
    expect(new Set([jobKey(payload), ...keys]).size).toBe(4)
    expect(jobKey(payload)).toMatch(/^run-[0-9a-f]{40}$/)
  })
})

describe("progress on the submitting terminal", () => {
  it("counts, reused runs and an ETA from the runs computed since the submission", () => {
    const progress = { total: 48, done: 12, reused: 4, running: 2, failed: 0, queued: 34, elapsedMs: 80_000 }
    // 8 runs computed in 80 s: 10 s each, 36 left.
    expect(estimateRemainingMs(progress)).toBe(360_000)
    expect(progressLine(progress)).toBe("queue: 12/48 done (4 reused), 2 running, 0 failed, 34 queued, ETA 6 min 00 s")
    expect(progressLine({ ...progress, done: 4 })).toMatch(/ETA unknown$/)
    expect(estimateRemainingMs({ ...progress, done: 47, failed: 1 })).toBe(0)
    expect([formatDuration(12_400), formatDuration(200_000), formatDuration(3_720_000)]).toEqual(["12 s", "3 min 20 s", "1 h 02 min"])
  })
})

describe("problem modules", () => {
  const fixture = resolve("test/experiments/fixtures/problemModule.ts")

  it("add their problems to the built-in ones; a sweep resolves documents that name them", async () => {
    const catalogue = await Effect.runPromise(loadProblemModules([fixture]))
    expect(catalogue.has("least-squares-module")).toBe(true)
    expect(catalogue.has("least-squares")).toBe(true)
    const custom = { ...document, problem: { name: "least-squares-module", options: { examples: 16 } } }
    const [fromModule] = await Effect.runPromise(runJobs(custom, [{ method: "bloop", lambda: 1, seed: 2 }], { jobs: 1, catalogue }))
    const [builtin] = await Effect.runPromise(runJobs(document, [{ method: "bloop", lambda: 1, seed: 2 }], { jobs: 1 }))
    expect(fromModule!.mainTrain).toBe(builtin!.mainTrain)
  })

  it("a module that cannot be loaded, or exports no factories, is a typed error naming it", async () => {
    const error = (modules: ReadonlyArray<string>) => Effect.runPromise(Effect.flip(loadProblemModules(modules)))
    const missing = await error(["./no/such/module.ts"])
    expect(missing._tag).toBe("ProblemModuleError")
    expect(missing.message).toMatch(/^cannot load problem module '\.\/no\/such\/module\.ts': /)
    expect((await error(["no-such-package-scalpel"])).message).toMatch(/^cannot load problem module 'no-such-package-scalpel': .*no-such-package-scalpel/)
    expect((await error([resolve("test/experiments/fixtures/notAProblemModule.ts")])).message).toMatch(/problems\[0\] is not a problem factory/)
    expect((await error([resolve("test/experiments/report.test.ts")])).message).toMatch(/exports no 'problems' array/)
  })
})
