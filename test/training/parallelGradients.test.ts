/**
 * Data-parallel gradients on worker threads (`TrainingOptions.workers`): the same losses as one
 * thread up to float32 summation order, bit-for-bit determinism for a given number of workers,
 * exact resumption, and a typed error naming the worker and objective when a worker fails.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Chunk, Effect, Either, Stream } from "effect"
import { beforeAll, describe, expect, it } from "vitest"
import { activateBackend } from "../../src/core/backend.ts"
import { matMulKernelVariant, uninstallPackedMatMul } from "../../src/core/packedMatMul.ts"
import { tf } from "../../src/core/tf.ts"
import { bloop } from "../../src/interpreters/bloop.ts"
import { gradientWorkers } from "../../src/training/parallel/workerPool.ts"
import { type StepEvent, trainingEvents, type TrainingOptions } from "../../src/training/train.ts"
import { mlpSpec, type MlpOptions } from "./fixtures/parallelRecipe.ts"

const recipeModule = new URL("./fixtures/parallelRecipe.ts", import.meta.url).href

const stepLosses = (options: MlpOptions, workers: number, extra: TrainingOptions = {}, take = options.steps) =>
  Effect.gen(function* () {
    const spec = mlpSpec(options)
    const rule = yield* bloop.lower(spec.structure, yield* bloop.decodeOptions({ rho: 0.1 }), { seed: spec.seed })
    const events = yield* Stream.runCollect(
      trainingEvents(spec, rule, { ...extra, workers: gradientWorkers(workers, { module: recipeModule, export: "mlpSpec", argument: options }) }).pipe(
        Stream.filter((e) => e._tag === "Step"),
        Stream.take(take),
      ),
    )
    return Chunk.toArray(events)
      .filter((e): e is StepEvent => e._tag === "Step")
      .map((e) => e.losses)
  })

beforeAll(() => Effect.runPromise(activateBackend("wasm")))

describe("data-parallel gradients", () => {
  it("two workers give the one-thread losses up to float32 summation order, three steps in", async () => {
    const options = { steps: 3, batchSize: 16 }
    const one = await Effect.runPromise(stepLosses(options, 1))
    const two = await Effect.runPromise(stepLosses(options, 2))
    for (const [t, losses] of one.entries()) {
      for (const name of ["fit", "prior"]) {
        // Step 1 sees identical θ: the mean of two half-batch means differs from the full mean only
        // by rounding (a few float32 ulps of the loss); later steps also carry the rounding of θ.
        expect(Math.abs(two[t]![name]! - losses[name]!)).toBeLessThanOrEqual(1e-5 * Math.abs(losses[name]!) + 1e-7)
      }
    }
    expect(two[0]!.fit).not.toBe(Number.NaN)
  })

  it("each worker runs the training thread's matrix-product kernel (the packed one by default; tfjs's when the thread uninstalled it), and the summary records it", async () => {
    const kernelOfRun = () =>
      Effect.gen(function* () {
        const options = { steps: 2, batchSize: 8 }
        const spec = mlpSpec(options)
        const rule = yield* bloop.lower(spec.structure, yield* bloop.decodeOptions({ rho: 0.1 }), { seed: spec.seed })
        const events = Chunk.toArray(
          yield* Stream.runCollect(trainingEvents(spec, rule, { workers: gradientWorkers(2, { module: recipeModule, export: "mlpSpec", argument: options }) })),
        )
        const finished = events.find((e) => e._tag === "Finished")
        return finished?._tag === "Finished" ? finished.summary.matMulKernel : undefined
      })
    expect(await Effect.runPromise(kernelOfRun())).toBe(matMulKernelVariant("wasm"))
    expect(matMulKernelVariant("wasm")).not.toBe("tfjs")
    uninstallPackedMatMul()
    try {
      // Before the workers followed the training thread, they installed the packed kernel here and the pool refused them.
      expect(await Effect.runPromise(kernelOfRun())).toBe("tfjs")
    } finally {
      await Effect.runPromise(activateBackend("wasm"))
    }
  })

  it("a given number of workers is bit-for-bit deterministic", async () => {
    const options = { steps: 4, batchSize: 12 }
    const a = await Effect.runPromise(stepLosses(options, 3))
    const b = await Effect.runPromise(stepLosses(options, 3))
    expect(a).toEqual(b)
  })

  it("a checkpoint resumes exactly under the same number of workers, and under another one", async () => {
    const dir = mkdtempSync(join(tmpdir(), "scalpel-parallel-"))
    try {
      const options = { steps: 4, batchSize: 8 }
      const whole = await Effect.runPromise(stepLosses(options, 2))
      const path = join(dir, "run.ckpt")
      await Effect.runPromise(stepLosses(options, 2, { checkpoint: { path, every: 2 } }, 2))
      const resumed = await Effect.runPromise(stepLosses(options, 2, { resumeFrom: path }))
      expect(resumed).toEqual(whole.slice(2))
      const otherCount = await Effect.runPromise(stepLosses(options, 1, { resumeFrom: path }))
      expect(otherCount).toHaveLength(2)
      for (const [t, losses] of otherCount.entries()) expect(losses.fit).toBeCloseTo(whole[t + 2]!.fit!, 5)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it("a failing worker fails the step with a typed error naming the worker and objective, releasing every tensor", async () => {
    const before = tf.memory().numTensors
    const result = await Effect.runPromise(Effect.either(stepLosses({ steps: 2, batchSize: 8, failInWorker: true }, 2)))
    expect(Either.isLeft(result)).toBe(true)
    const error = Either.getLeft(result).pipe((o) => (o._tag === "Some" ? o.value : undefined))
    expect(error?._tag).toBe("GradientWorkerError")
    expect(error?.message).toMatch(/gradient worker 1 failed at step 1 computing objective 'fit': this loss refuses/)
    // The fixture's data tensors (2 per spec built on this thread) are the only new ones.
    expect(tf.memory().numTensors).toBe(before + 2)
  })

  it("a worker thread that dies fails the step with a typed error naming the worker, releasing every tensor", async () => {
    const before = tf.memory().numTensors
    const result = await Effect.runPromise(Effect.either(stepLosses({ steps: 2, batchSize: 8, exitInWorker: true }, 2)))
    expect(Either.isLeft(result) && result.left._tag).toBe("GradientWorkerError")
    expect(Either.isLeft(result) && result.left.message).toMatch(/gradient worker 1 failed at step 1: the thread exited \(code 3\)/)
    expect(tf.memory().numTensors).toBe(before + 2)
  })

  it("refuses a batch that cannot be split into the workers' shares", async () => {
    const result = await Effect.runPromise(Effect.either(stepLosses({ steps: 1, batchSize: 2 }, 3)))
    expect(Either.isLeft(result) && result.left.message).toMatch(/batch size 2 cannot be split into 3 shares/)
  })
})
