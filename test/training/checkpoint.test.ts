import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as nodePath from "node:path"
import { Effect, Either, Stream } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { activateBackend, type BackendName } from "../../src/core/backend.ts"
import { tf } from "../../src/core/tf.ts"
import { momentum } from "../../src/dsl/spec.ts"
import { type CheckpointContents, CheckpointError, readCheckpoint, writeCheckpoint } from "../../src/training/checkpoint.ts"
import { SpecChangedOnResume } from "../../src/training/specRecord.ts"
import { trainingEvents, type TrainingOptions } from "../../src/training/train.ts"
import { bytesOf, leastSquaresRun, type Run, stateBytes } from "./runs.ts"

let folder = ""
beforeAll(async () => {
  await tf.setBackend("cpu")
  folder = await fs.mkdtemp(nodePath.join(os.tmpdir(), "scalpel-checkpoint-"))
})
afterAll(() => fs.rm(folder, { recursive: true, force: true }))

const file = (name: string) => nodePath.join(folder, name)

/** Run until the stream ends, or until `stopAfter` (a checkpoint event's step) when given. */
const drive = (run: Run, options: TrainingOptions, stopAfter?: number) =>
  Effect.runPromise(
    trainingEvents(run.spec, run.rule, options).pipe(
      Stream.takeUntil((e) => stopAfter !== undefined && e._tag === "Checkpoint" && e.step === stopAfter),
      Stream.runCollect,
      Effect.map((chunk) => [...chunk]),
    ),
  )

/** Every tensor of a checkpoint's states, by path, as raw bytes, plus the data sampler's state. */
const fullStateBytes = (c: CheckpointContents): Record<string, Buffer> => ({ ...stateBytes(c), dataRng: Buffer.from(String(c.dataRng)) })

describe("checkpoint and resume", () => {
  for (const [backend, method] of [
    ...["bloop", "pcgrad", "weighted-sum", "bloop-no-ema"].map((m) => ["cpu", m] as const),
    ["wasm", "bloop"] as const,
  ] satisfies ReadonlyArray<readonly [BackendName, string]>) {
    it(`${method} on ${backend}: stopping at step k and resuming gives bit-identical parameters and states to an uninterrupted run`, async () => {
      await Effect.runPromise(activateBackend(backend))
      const steps = 9
      const k = 4
      const run = leastSquaresRun(method, { steps })
      try {
        await drive(run, { checkpoint: { path: file(`${method}-full.ckpt`), every: 1000 } })
        const stopped = await drive(run, { checkpoint: { path: file(`${method}-split.ckpt`), every: k } }, k)
        expect(stopped.filter((e) => e._tag === "Step").map((e) => (e._tag === "Step" ? e.step : 0))).toEqual([1, 2, 3, 4])
        const resumed = await drive(run, { resumeFrom: file(`${method}-split.ckpt`), checkpoint: { path: file(`${method}-split.ckpt`), every: 1000 } })
        expect(resumed.filter((e) => e._tag === "Step").map((e) => (e._tag === "Step" ? e.step : 0))).toEqual([5, 6, 7, 8, 9])

        const full = await Effect.runPromise(readCheckpoint(file(`${method}-full.ckpt`)))
        const split = await Effect.runPromise(readCheckpoint(file(`${method}-split.ckpt`)))
        expect(full.step).toBe(steps)
        expect(split.step).toBe(steps)
        // The checkpoint records the product kernel that computed the run.
        expect(full.matMulKernel).toBe(backend === "wasm" ? "plain-simd" : "tfjs")
        const a = fullStateBytes(full)
        const b = fullStateBytes(split)
        expect(Object.keys(b).sort()).toEqual(Object.keys(a).sort())
        for (const key of Object.keys(a)) expect(Buffer.compare(a[key]!, b[key]!), key).toBe(0)
        // The comparison can fail: the state after step k differs from the final one.
        const early = await Effect.runPromise(
          Effect.gen(function* () {
            yield* Effect.promise(() => drive(run, { checkpoint: { path: file(`${method}-early.ckpt`), every: k } }, k))
            return yield* readCheckpoint(file(`${method}-early.ckpt`))
          }),
        )
        expect(Buffer.compare(bytesOf(early.parameters.w!), bytesOf(full.parameters.w!))).not.toBe(0)
      } finally {
        run.dispose()
      }
    })
  }

  it("interrupting a run writes the state of its last completed step, and resuming it matches an uninterrupted run", async () => {
    await tf.setBackend("cpu")
    const run = leastSquaresRun("bloop", { steps: 8, optimizer: momentum({ learningRate: 0.05 }) })
    try {
      await drive(run, { checkpoint: { path: file("interrupt-full.ckpt"), every: 1000 } })
      const before = tf.memory().numTensors
      const exit = await Effect.runPromiseExit(
        trainingEvents(run.spec, run.rule, { checkpoint: { path: file("interrupt.ckpt"), every: 1000 } }).pipe(
          Stream.runForEach((e) => (e._tag === "Step" && e.step === 3 ? Effect.interrupt : Effect.void)),
        ),
      )
      expect(exit._tag === "Failure" && exit.cause._tag === "Interrupt").toBe(true)
      expect(tf.memory().numTensors).toBe(before)
      const saved = await Effect.runPromise(readCheckpoint(file("interrupt.ckpt")))
      expect(saved.step).toBe(3)
      await drive(run, { resumeFrom: file("interrupt.ckpt"), checkpoint: { path: file("interrupt.ckpt"), every: 1000 } })
      const a = fullStateBytes(await Effect.runPromise(readCheckpoint(file("interrupt-full.ckpt"))))
      const b = fullStateBytes(await Effect.runPromise(readCheckpoint(file("interrupt.ckpt"))))
      for (const key of Object.keys(a)) expect(Buffer.compare(a[key]!, b[key]!), key).toBe(0)
    } finally {
      run.dispose()
    }
  })

  it("a step's event reaches the consumer before that step's checkpoint is written (an interruption during the write cannot lose the event of a checkpointed step)", async () => {
    const run = leastSquaresRun("bloop", { steps: 4 })
    const path = file("order.ckpt")
    try {
      const seen: Array<readonly [number, number]> = []
      await Effect.runPromise(
        trainingEvents(run.spec, run.rule, { checkpoint: { path, every: 1 } }).pipe(
          Stream.runForEach((e) =>
            e._tag === "Step"
              ? Effect.map(Effect.either(readCheckpoint(path)), (c) => void seen.push([e.step, Either.isRight(c) ? c.right.step : 0]))
              : Effect.void,
          ),
        ),
      )
      expect(seen).toEqual([[1, 0], [2, 1], [3, 2], [4, 3]])
    } finally {
      run.dispose()
    }
  })

  it("a run resumed from its last step only reports the resume and the end", async () => {
    const run = leastSquaresRun("weighted-sum", { steps: 3 })
    try {
      await drive(run, { checkpoint: { path: file("done.ckpt"), every: 1 } })
      const events = await drive(run, { resumeFrom: file("done.ckpt") })
      expect(events.map((e) => e._tag)).toEqual(["Resumed", "Finished"])
    } finally {
      run.dispose()
    }
  })
})

describe("checkpoint errors", () => {
  beforeAll(async () => {
    await tf.setBackend("cpu")
  })
  const failure = async (effect: Effect.Effect<unknown, unknown>) => {
    const result = await Effect.runPromise(Effect.either(effect))
    if (Either.isRight(result)) throw new Error("expected a failure")
    return result.left
  }

  it("truncated and bit-flipped files are CheckpointErrors naming the problem, and resuming from them leaves them intact", async () => {
    const run = leastSquaresRun("bloop", { steps: 3 })
    try {
      await drive(run, { checkpoint: { path: file("good.ckpt"), every: 3 } })
      const good = await fs.readFile(file("good.ckpt"))
      const cases: ReadonlyArray<readonly [string, Buffer, RegExp]> = [
        ["truncated", good.subarray(0, good.length - 100), /truncated/],
        ["empty", Buffer.alloc(0), /truncated or not a checkpoint/],
        ["flipped", Buffer.from(good.map((b, i) => (i === Math.floor(good.length / 2) ? b ^ 0x10 : b))), /checksum mismatch/],
        ["magic", Buffer.from(good.map((b, i) => (i === 0 ? 0x41 : b))), /not a scalpel checkpoint/],
        ["version", Buffer.from(good.map((b, i) => (i === 8 ? 9 : b))), /format version 9 is not supported/],
        ["padded", Buffer.concat([good, Buffer.from([0, 0])]), /trailing bytes/],
      ]
      for (const [name, bytes, problem] of cases) {
        const path = file(`bad-${name}.ckpt`)
        await fs.writeFile(path, bytes)
        const error = await failure(Stream.runDrain(trainingEvents(run.spec, run.rule, { resumeFrom: path, checkpoint: { path, every: 1 } })))
        expect(error, name).toBeInstanceOf(CheckpointError)
        expect((error as CheckpointError).problem, name).toMatch(problem)
        expect((error as CheckpointError).message, name).toContain(path)
        expect(Buffer.compare(await fs.readFile(path), bytes), name).toBe(0)
      }
      const missing = await failure(readCheckpoint(file("missing.ckpt")))
      expect((missing as CheckpointError).problem).toMatch(/cannot be read/)
    } finally {
      run.dispose()
    }
  })

  it("a checkpoint of another rule or optimizer is refused with the first difference named", async () => {
    const bloop = leastSquaresRun("bloop", { steps: 3 })
    const pcgrad = leastSquaresRun("pcgrad", { steps: 3 })
    const otherOptimizer = leastSquaresRun("bloop", { steps: 3, optimizer: momentum({ learningRate: 0.05 }) })
    try {
      await drive(bloop, { checkpoint: { path: file("bloop.ckpt"), every: 1 } })
      const before = tf.memory().numTensors
      const wrongRule = await failure(Stream.runDrain(trainingEvents(pcgrad.spec, pcgrad.rule, { resumeFrom: file("bloop.ckpt") })))
      expect(wrongRule).toBeInstanceOf(SpecChangedOnResume)
      expect((wrongRule as SpecChangedOnResume).difference).toBe('rule is "bloop" in the checkpoint but "pcgrad" in this spec')
      const wrongOptimizer = await failure(Stream.runDrain(trainingEvents(otherOptimizer.spec, otherOptimizer.rule, { resumeFrom: file("bloop.ckpt") })))
      expect((wrongOptimizer as SpecChangedOnResume).difference).toMatch(/^optimizer\.kind is "adam" in the checkpoint but "momentum"/)
      // Forced, the saved state must still fit the rule: PCGrad's state is not Bloop's.
      const forced = await failure(Stream.runDrain(trainingEvents(pcgrad.spec, pcgrad.rule, { resumeFrom: file("bloop.ckpt"), resumeWithChangedSpec: true })))
      expect((forced as CheckpointError).problem).toMatch(/does not fit rule 'pcgrad'/)
      expect(tf.memory().numTensors).toBe(before)
    } finally {
      bloop.dispose()
      pcgrad.dispose()
      otherOptimizer.dispose()
    }
  })

  it("a failed write leaves the previous checkpoint byte-identical and no temporary file behind", async () => {
    const run = leastSquaresRun("bloop", { steps: 2 })
    try {
      await drive(run, { checkpoint: { path: file("keep.ckpt"), every: 1 } })
      const previous = await fs.readFile(file("keep.ckpt"))
      const contents = await Effect.runPromise(readCheckpoint(file("keep.ckpt")))
      // A BigInt cannot be written as JSON: the encoder fails after the temporary file is created.
      const unwritable = { ...contents, run: { ...contents.run, seed: 10n } }
      const error = await failure(writeCheckpoint(file("keep.ckpt"), unwritable))
      expect(error).toBeInstanceOf(CheckpointError)
      expect(Buffer.compare(await fs.readFile(file("keep.ckpt")), previous)).toBe(0)
      expect((await fs.readdir(folder)).filter((n) => n.endsWith(".tmp"))).toEqual([])
    } finally {
      run.dispose()
    }
  })

  it("a checkpoint interval that is not a positive integer is refused", async () => {
    const run = leastSquaresRun("bloop", { steps: 2 })
    try {
      const error = await failure(Stream.runDrain(trainingEvents(run.spec, run.rule, { checkpoint: { path: file("x.ckpt"), every: 0 } })))
      expect((error as CheckpointError).problem).toMatch(/positive integer, got 0/)
    } finally {
      run.dispose()
    }
  })
})
