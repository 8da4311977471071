import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as nodePath from "node:path"
import { Effect, Either, Stream } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { tf } from "../../src/core/tf.ts"
import { decodeSpecDocument } from "../../src/dsl/json.ts"
import { objective, type Params } from "../../src/dsl/objective.ts"
import { makeSpec, sgd, type Spec } from "../../src/dsl/spec.ts"
import { readCheckpoint } from "../../src/training/checkpoint.ts"
import { makeSampler } from "../../src/training/sampling.ts"
import { trainingEvents, type TrainingOptions } from "../../src/training/train.ts"
import { leastSquaresRun, type Run, stateBytes } from "./runs.ts"

let folder = ""
beforeAll(async () => {
  await tf.setBackend("cpu")
  folder = await fs.mkdtemp(nodePath.join(os.tmpdir(), "scalpel-epochs-"))
})
afterAll(() => fs.rm(folder, { recursive: true, force: true }))

const source = (size: number) => ({ name: `n${size}`, size, batch: (i: Int32Array) => i })

/** The indices of steps first..last of one source. */
const stepsOf = (seed: number, size: number, batchSize: number, first: number, last: number, sources = [source(size)]) => {
  const sample = makeSampler("epochs", sources, batchSize, seed)
  const out: Array<Array<number>> = []
  for (let t = first; t <= last; t++) out.push(Array.from(sample(0, t)[0][0]!))
  return out
}

describe("sampling without replacement per epoch", () => {
  it("each epoch visits every example exactly once (batch size dividing n), in a new order per epoch, the same for the same seed", () => {
    const steps = stepsOf(7, 12, 4, 1, 9)
    for (let e = 0; e < 3; e++) expect(steps.slice(3 * e, 3 * e + 3).flat().sort((a, b) => a - b)).toEqual(Array.from({ length: 12 }, (_, i) => i))
    expect(steps.slice(0, 3).flat()).not.toEqual(steps.slice(3, 6).flat())
    expect(stepsOf(7, 12, 4, 1, 9)).toEqual(steps)
    expect(stepsOf(8, 12, 4, 1, 9)).not.toEqual(steps)
    // Step t's indices do not depend on the steps drawn before it (what makes resume exact).
    expect(stepsOf(7, 12, 4, 5, 9)).toEqual(steps.slice(4))
  })

  it("epochs-drop-last: ⌊n / batchSize⌋ steps an epoch, each batch of distinct examples, the last n mod batchSize of each epoch's order unseen", () => {
    // 14 examples, batch 4: 3 steps an epoch (12 examples), not 4 with a wrapped batch.
    const sample = makeSampler("epochs-drop-last", [source(14)], 4, 3)
    const epochs = [0, 1].map((e) => [1, 2, 3].map((j) => Array.from(sample(0, 3 * e + j)[0][0]!)))
    for (const epoch of epochs) {
      const seen = epoch.flat()
      expect(new Set(seen).size).toBe(12)
      for (const i of seen) expect(i >= 0 && i < 14).toBe(true)
    }
    expect(epochs[0]!.flat()).not.toEqual(epochs[1]!.flat())
    const fit = objective("fit", (p: Params<"w">, b: Int32Array) => tf.mul(tf.sum(p.w), b.length), source(14))
    const base = { parameters: { w: { shape: [1], init: { kind: "zeros" as const } } }, structure: fit, optimizer: sgd({ learningRate: 0.1 }), batchSize: 4 }
    const spec = Either.getOrThrow(makeSpec({ ...base, epochs: 5, sampling: "epochs-drop-last" }))
    expect(spec.steps).toBe(15)
    expect(Either.getOrThrow(makeSpec({ ...base, epochs: 5 })).steps).toBe(20)
    expect(Either.getOrThrow(makeSpec(spec))).toEqual(spec)
    const document = { problem: { name: "least-squares" }, structure: "fit", optimizer: { kind: "sgd", learningRate: 0.1 }, batchSize: 4, epochs: 2, sampling: "epochs-drop-last" }
    expect(Either.getOrThrow(decodeSpecDocument(document))).toMatchObject({ sampling: "epochs-drop-last" })
  })

  it("a spec in epochs has epochs × ⌈n / batchSize⌉ steps and samples by epochs; steps and epochs together are refused, neither too", () => {
    const fit = objective("fit", (p: Params<"w">, b: Int32Array) => tf.mul(tf.sum(p.w), b.length), source(10))
    const base = { parameters: { w: { shape: [1], init: { kind: "zeros" as const } } }, structure: fit, optimizer: sgd({ learningRate: 0.1 }), batchSize: 4 }
    const spec = Either.getOrThrow(makeSpec({ ...base, epochs: 3 }))
    expect(spec.steps).toBe(9)
    expect(spec.sampling).toBe("epochs")
    expect(spec.epochs).toBe(3)
    expect(Either.getOrThrow(makeSpec(spec))).toEqual(spec)
    expect(Either.getLeft(makeSpec({ ...base, steps: 5, epochs: 3 }))).toMatchObject({ _tag: "Some", value: { path: "epochs" } })
    expect(Either.getLeft(makeSpec(base))).toMatchObject({ _tag: "Some", value: { path: "steps" } })
  })

  it("the JSON spec takes epochs and sampling instead of steps, and refuses both or neither", () => {
    const document = { problem: { name: "least-squares" }, structure: { kind: "prioritize", main: "fit", aux: "prior", lambda: 1 }, optimizer: { kind: "sgd", learningRate: 0.1 }, batchSize: 4 }
    expect(Either.getOrThrow(decodeSpecDocument({ ...document, epochs: 2 }))).toMatchObject({ epochs: 2 })
    expect(Either.getOrThrow(decodeSpecDocument({ ...document, steps: 2, sampling: "epochs" }))).toMatchObject({ steps: 2, sampling: "epochs" })
    expect(Either.isLeft(decodeSpecDocument(document))).toBe(true)
    expect(Either.isLeft(decodeSpecDocument({ ...document, steps: 2, epochs: 2 }))).toBe(true)
  })
})

const file = (name: string) => nodePath.join(folder, name)
const drive = (run: Run, options: TrainingOptions, stopAfter?: number) =>
  Effect.runPromise(
    trainingEvents(run.spec, run.rule, options).pipe(
      Stream.takeUntil((e) => stopAfter !== undefined && e._tag === "Checkpoint" && e.step === stopAfter),
      Stream.runCollect,
    ),
  )

describe("epochs and checkpoints", () => {
  it("a run stopped mid-epoch and resumed gives bit-identical parameters and states to an uninterrupted one", async () => {
    // 16 examples, batch size 4: 4 steps per epoch; stop after step 6, in the second epoch.
    const base = leastSquaresRun("bloop", { steps: 11 })
    const spec: Spec = { ...base.spec, sampling: "epochs" }
    const run: Run = { ...base, spec }
    try {
      await drive(run, { checkpoint: { path: file("full.ckpt"), every: 1000 } })
      await drive(run, { checkpoint: { path: file("split.ckpt"), every: 6 } }, 6)
      expect((await Effect.runPromise(readCheckpoint(file("split.ckpt")))).step).toBe(6)
      await drive(run, { resumeFrom: file("split.ckpt"), checkpoint: { path: file("split.ckpt"), every: 1000 } })
      const full = await Effect.runPromise(readCheckpoint(file("full.ckpt")))
      const split = await Effect.runPromise(readCheckpoint(file("split.ckpt")))
      expect(split.step).toBe(11)
      expect(stateBytes(split)).toEqual(stateBytes(full))
      // ... and epochs are not with-replacement sampling: the parameters differ from that run's.
      await drive(base, { checkpoint: { path: file("replacement.ckpt"), every: 1000 } })
      expect(stateBytes(await Effect.runPromise(readCheckpoint(file("replacement.ckpt"))))).not.toEqual(stateBytes(full))
    } finally {
      run.dispose()
    }
  })
})
