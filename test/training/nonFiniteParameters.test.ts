/**
 * Updates that overflow the parameters (issue #12, point 3): with a learning rate of 1e39 the
 * losses and gradients of step 1 are finite but θ − Δ is not. The step is checked in the pass that
 * computes it, the parameters are never overwritten with non-finite values, the error names the
 * real cause, policy `skip` does not skip forever, and no checkpoint holds non-finite values.
 */
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as nodePath from "node:path"
import { Effect, Either, Stream } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { useHostKernels } from "../../src/core/hostKernels.ts"
import { sgd } from "../../src/dsl/spec.ts"
import { tf } from "../../src/core/tf.ts"
import { CheckpointError, HostTensor, readCheckpoint, writeCheckpoint } from "../../src/training/checkpoint.ts"
import { NonFiniteUpdate, TooManySkippedSteps, trainingEvents } from "../../src/training/train.ts"
import { leastSquaresRun } from "./runs.ts"

let folder = ""
beforeAll(async () => {
  await tf.setBackend("cpu")
  folder = await fs.mkdtemp(nodePath.join(os.tmpdir(), "scalpel-overflow-"))
})
afterAll(() => fs.rm(folder, { recursive: true, force: true }))

const allFinite = (values: Float32Array | Int32Array) => values.every(Number.isFinite)

for (const path of ["host sweeps", "tensor ops"] as const) {
  describe(`an update that overflows the parameters (${path})`, () => {
    const withPath = async <A>(body: () => Promise<A>): Promise<A> => {
      useHostKernels(path === "host sweeps")
      try {
        return await body()
      } finally {
        useHostKernels(true)
      }
    }

    it("policy fail: NonFiniteUpdate names the parameter, the step and the learning rate; the checkpoint keeps the last finite state", () =>
      withPath(async () => {
        const run = leastSquaresRun("bloop", { steps: 5, optimizer: sgd({ learningRate: 1e39 }), nonFinite: "fail" })
        const checkpoint = nodePath.join(folder, `fail-${path}.ckpt`)
        try {
          const before = tf.memory().numTensors
          const result = await Effect.runPromise(Effect.either(Stream.runDrain(trainingEvents(run.spec, run.rule, { checkpoint: { path: checkpoint, every: 1 } }))))
          expect(tf.memory().numTensors).toBe(before)
          if (Either.isRight(result)) throw new Error("expected the run to fail")
          expect(result.left).toBeInstanceOf(NonFiniteUpdate)
          expect(result.left.message).toBe(
            "the update of step 1 would make parameter 'w' non-finite although every loss and gradient was finite: the step overflowed float32 " +
              "(optimizer sgd, learningRate 1e+39); lower the learning rate. The parameters keep their values from before the step.",
          )
          await expect(fs.access(checkpoint)).rejects.toThrow()
        } finally {
          run.dispose()
        }
      }))

    it("policy skip: the overflowing steps are skipped, parameters stay finite, and after maxConsecutiveSkips the run stops with TooManySkippedSteps", () =>
      withPath(async () => {
        const run = leastSquaresRun("bloop", { steps: 50, optimizer: sgd({ learningRate: 1e39 }), nonFinite: "skip" })
        const checkpoint = nodePath.join(folder, `skip-${path}.ckpt`)
        try {
          const skipped: Array<number> = []
          const result = await Effect.runPromise(
            Effect.either(
              trainingEvents(run.spec, run.rule, { checkpoint: { path: checkpoint, every: 2 }, maxConsecutiveSkips: 5 }).pipe(
                Stream.runForEach((e) => Effect.sync(() => e._tag === "Step" && e.skipped && skipped.push(e.step))),
              ),
            ),
          )
          expect(skipped).toEqual([1, 2, 3, 4, 5])
          if (Either.isRight(result)) throw new Error("expected the run to stop")
          expect(result.left).toBeInstanceOf(TooManySkippedSteps)
          expect(result.left.message).toBe(
            "steps 1 to 5 were all skipped (5 in a row, the limit): the run makes no progress. The last one because the update of step 5 would make parameter 'w' non-finite " +
              "although every loss and gradient was finite: the step overflowed float32 (optimizer sgd, learningRate 1e+39); lower the learning rate.",
          )
          const saved = await Effect.runPromise(readCheckpoint(checkpoint))
          expect(saved.step).toBe(4)
          expect(saved.skippedSteps).toBe(4)
          expect(allFinite(saved.parameters.w!.values)).toBe(true)
        } finally {
          run.dispose()
        }
      }))
  })
}

describe("writeCheckpoint", () => {
  it("refuses contents holding a non-finite value, naming where, and leaves the previous file untouched", async () => {
    const run = leastSquaresRun("bloop", { steps: 2 })
    const path = nodePath.join(folder, "finite.ckpt")
    try {
      await Effect.runPromise(Stream.runDrain(trainingEvents(run.spec, run.rule, { checkpoint: { path, every: 1 } })))
      const previous = await fs.readFile(path)
      const contents = await Effect.runPromise(readCheckpoint(path))
      const v = contents.optimizer.slots.v!
      const poisoned = Float32Array.from(v.values)
      poisoned[3] = Number.POSITIVE_INFINITY
      const bad = { ...contents, optimizer: { ...contents.optimizer, slots: { ...contents.optimizer.slots, v: new HostTensor("float32", v.shape, poisoned) } } }
      const result = await Effect.runPromise(Effect.either(writeCheckpoint(path, bad)))
      if (Either.isRight(result)) throw new Error("expected a CheckpointError")
      expect(result.left).toBeInstanceOf(CheckpointError)
      expect(result.left.message).toBe(`checkpoint '${path}': not written: optimizer.slots.v[3] is Infinity (a checkpoint never holds non-finite values; the previous one is kept)`)
      expect(Buffer.compare(await fs.readFile(path), previous)).toBe(0)
    } finally {
      run.dispose()
    }
  })
})
