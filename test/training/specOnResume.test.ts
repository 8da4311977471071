/**
 * The spec recorded in checkpoints (#12 point 2): a resume with a changed λ, weight, problem size
 * or seed is refused with the first difference named, unless `resumeWithChangedSpec` is given; the
 * override is then reported in the Resumed event and the summary. Checkpoints without a record
 * (written before it existed) resume with `specUnverified`.
 */
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as nodePath from "node:path"
import { Effect, Either, Stream } from "effect"
import fc from "fast-check"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { tf } from "../../src/core/tf.ts"
import { adam, makeSpec } from "../../src/dsl/spec.ts"
import { prioritize, sumOf, weighted } from "../../src/dsl/structure.ts"
import { builtinInterpreters } from "../../src/interpreters/builtins.ts"
import { lookup } from "../../src/interpreters/registry.ts"
import { leastSquaresProblem } from "../../src/problems/leastSquares.ts"
import { readCheckpoint, writeCheckpoint } from "../../src/training/checkpoint.ts"
import { canonicalJson, firstDifference, SpecChangedOnResume, specRecordOf } from "../../src/training/specRecord.ts"
import { type TrainingEvent, trainingEvents, type TrainingOptions } from "../../src/training/train.ts"
import "../support/fastCheckSeed.ts"

let folder = ""
beforeAll(async () => {
  await tf.setBackend("cpu")
  folder = await fs.mkdtemp(nodePath.join(os.tmpdir(), "scalpel-spec-resume-"))
})
afterAll(() => fs.rm(folder, { recursive: true, force: true }))
const file = (name: string) => nodePath.join(folder, name)

interface Variant {
  readonly lambda?: number
  readonly priorWeight?: number
  readonly examples?: number
  readonly problemSeed?: number
  readonly steps?: number
}

/** prioritize(fit, weight·prior) on least squares; every field of `v` changes one thing. */
const runOf = (v: Variant = {}) => {
  const problem = leastSquaresProblem({ examples: v.examples ?? 8, dimensions: 16, seed: v.problemSeed ?? 3 })
  const spec = Either.getOrThrow(
    makeSpec({
      parameters: problem.parameters,
      structure: prioritize(problem.objectives.fit!, sumOf([weighted(problem.objectives.prior!, v.priorWeight ?? 1)]), { lambda: v.lambda ?? 0.5 }),
      optimizer: adam({ learningRate: 0.01 }),
      steps: v.steps ?? 3,
      batchSize: 4,
      seed: 5,
    }),
  )
  const rule = Effect.runSync(
    Effect.flatMap(lookup(builtinInterpreters, "bloop"), (i) => Effect.flatMap(i.decodeOptions({}), (o) => i.lower(spec.structure, o, { seed: spec.seed }))),
  )
  return { spec, rule, dispose: problem.dispose }
}

const events = (v: Variant, options: TrainingOptions) => {
  const run = runOf(v)
  return Effect.runPromise(
    Effect.either(Stream.runCollect(trainingEvents(run.spec, run.rule, options))).pipe(
      Effect.map(Either.map((chunk): ReadonlyArray<TrainingEvent> => [...chunk])),
      Effect.ensuring(Effect.sync(run.dispose)),
    ),
  )
}

describe("spec records in checkpoints", () => {
  beforeAll(async () => {
    const first = await events({}, { checkpoint: { path: file("base.ckpt"), every: 3 } })
    expect(Either.isRight(first)).toBe(true)
  })

  const changes: ReadonlyArray<readonly [string, Variant, string]> = [
    ["λ", { lambda: 0.6 }, "structure.hierarchy[1].lambda is 0.5 in the checkpoint but 0.6 in this spec"],
    ["a weight", { priorWeight: 2 }, "structure.hierarchy[1].of.sum[0].weight is 1 in the checkpoint but 2 in this spec"],
    ["the problem size", { examples: 12 }, "structure.hierarchy[0].of.examples is 8 in the checkpoint but 12 in this spec"],
  ]
  for (const [what, variant, difference] of changes) {
    it(`a resume with a changed ${what} is refused with SpecChangedOnResume naming the first difference, leaking nothing`, async () => {
      const before = tf.memory().numTensors
      const result = await events({ ...variant, steps: 5 }, { resumeFrom: file("base.ckpt") })
      expect(Either.isLeft(result)).toBe(true)
      const error = Either.getLeft(result).pipe((o) => (o._tag === "Some" ? o.value : undefined))
      expect(error).toBeInstanceOf(SpecChangedOnResume)
      expect((error as SpecChangedOnResume).difference).toBe(difference)
      expect((error as SpecChangedOnResume).message).toContain("resumeWithChangedSpec: true")
      expect(tf.memory().numTensors).toBe(before)
    })
  }

  it("the problem's seed, invisible to the library, is covered by a declaration given by the caller", async () => {
    const declared = (seed: number) => ({ problem: { name: "least-squares", options: { seed } } })
    const ok = await events({}, { checkpoint: { path: file("declared.ckpt"), every: 3 }, declaration: declared(3) })
    expect(Either.isRight(ok)).toBe(true)
    // Without the declaration, a different problem seed would pass (same shapes, sizes and spec).
    const refused = await events({ problemSeed: 4, steps: 5 }, { resumeFrom: file("declared.ckpt"), declaration: declared(4) })
    const error = Either.getLeft(refused).pipe((o) => (o._tag === "Some" ? o.value : undefined))
    expect((error as SpecChangedOnResume).difference).toBe("problem.options.seed is 3 in the checkpoint but 4 in this spec")
  })

  it("the same spec with more steps resumes (a finished run can be extended)", async () => {
    const result = await events({ steps: 5 }, { resumeFrom: file("base.ckpt") })
    const tags = Either.getOrThrow(result).map((e) => e._tag)
    expect(tags).toEqual(["Resumed", "Step", "Step", "Finished"])
    expect(Either.getOrThrow(result)[0]).toEqual({ _tag: "Resumed", step: 3, path: file("base.ckpt") })
  })

  it("resumeWithChangedSpec resumes anyway and reports the override in the Resumed event and the summary; the next checkpoint records the new spec", async () => {
    const result = Either.getOrThrow(
      await events({ lambda: 0.6, steps: 5 }, { resumeFrom: file("base.ckpt"), resumeWithChangedSpec: true, checkpoint: { path: file("forced.ckpt"), every: 5 } }),
    )
    const difference = "structure.hierarchy[1].lambda is 0.5 in the checkpoint but 0.6 in this spec"
    expect(result[0]).toEqual({ _tag: "Resumed", step: 3, path: file("base.ckpt"), specChange: difference })
    const finished = result[result.length - 1]!
    expect(finished._tag === "Finished" && finished.summary.resumedWithChangedSpec).toEqual({ checkpoint: file("base.ckpt"), difference })
    const again = await events({ lambda: 0.6, steps: 6 }, { resumeFrom: file("forced.ckpt") })
    expect(Either.isRight(again)).toBe(true)
  })

  it("a checkpoint without a spec record (older scalpel) resumes, marked specUnverified", async () => {
    const { spec: _spec, ...old } = await Effect.runPromise(readCheckpoint(file("base.ckpt")))
    await Effect.runPromise(writeCheckpoint(file("old.ckpt"), old))
    const result = Either.getOrThrow(await events({ steps: 4 }, { resumeFrom: file("old.ckpt") }))
    expect(result[0]).toEqual({ _tag: "Resumed", step: 3, path: file("old.ckpt"), specUnverified: true })
  })
})

describe("spec records", () => {
  const json = fc.jsonValue({ maxDepth: 4 })

  it("canonical form: the digest does not depend on key order, and firstDifference is undefined exactly when the canonical forms are equal", () => {
    fc.assert(
      fc.property(json, json, (a, b) => {
        const reversed = JSON.parse(JSON.stringify(a), (_k, v) => (typeof v === "object" && v !== null && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).reverse()) : v))
        expect(specRecordOf(reversed).digest).toBe(specRecordOf(a).digest)
        const ca = canonicalJson(a)
        const cb = canonicalJson(b)
        const same = JSON.stringify(ca) === JSON.stringify(cb)
        expect(firstDifference(ca, cb) === undefined).toBe(same)
        expect(specRecordOf(a).digest === specRecordOf(b).digest).toBe(same)
      }),
      { numRuns: 500 },
    )
  })

  it("firstDifference names the path of a single changed leaf", () => {
    fc.assert(
      fc.property(fc.array(fc.record({ weight: fc.double({ noNaN: true }), name: fc.string() }), { minLength: 1, maxLength: 20 }), fc.nat(), (objectives, k) => {
        const i = k % objectives.length
        const changed = objectives.map((o, j) => (j === i ? { ...o, weight: o.weight + 1 === o.weight ? -o.weight - 1 : o.weight + 1 } : o))
        const d = firstDifference(canonicalJson({ objectives }), canonicalJson({ objectives: changed }))
        expect(d?.path).toBe(`objectives[${i}].weight`)
      }),
      { numRuns: 300 },
    )
  })

  it("cycles and deep nesting are described without overflowing the stack", () => {
    const cyclic: Record<string, unknown> = { a: 1 }
    cyclic.self = cyclic
    expect(canonicalJson(cyclic)).toEqual({ a: 1, self: "[cycle]" })
    let deep: unknown = 0
    for (let i = 0; i < 5000; i++) deep = [deep]
    expect(firstDifference(deep as never, [0] as never)?.path).toBe("[0]")
  })
})
