/**
 * Gradient workers with the tfjs-layers interop: a spec whose parameters are a `tf.sequential`
 * model's weights (`fromModel`) trains with two workers like with one (up to float32 summation
 * order), and the training thread's model ends up holding the trained weights.
 */
import { Chunk, Effect, Stream } from "effect"
import { beforeAll, describe, expect, it } from "vitest"
import { activateBackend } from "../../src/core/backend.ts"
import { tf } from "../../src/core/tf.ts"
import { bloop } from "../../src/interpreters/bloop.ts"
import { gradientWorkers } from "../../src/training/parallel/workerPool.ts"
import { type StepEvent, trainingEvents } from "../../src/training/train.ts"
import { modelAndSpec, type ModelRecipeOptions } from "./fixtures/modelRecipe.ts"

const recipe = (options: ModelRecipeOptions) => ({ module: new URL("./fixtures/modelRecipe.ts", import.meta.url).href, export: "modelSpec", argument: options })

/** Train the model with `workers`; the step losses and the model's predictions before and after. */
const run = (options: ModelRecipeOptions, workers: number) =>
  Effect.gen(function* () {
    const { model, spec } = modelAndSpec(options)
    const probe = tf.randomNormal([4, 6], 0, 1, "float32", 9)
    const predict = () => tf.tidy(() => Array.from((model.predict(probe) as tf.Tensor).dataSync()))
    const before = predict()
    const rule = yield* bloop.lower(spec.structure, yield* bloop.decodeOptions({ rho: 0.1 }), { seed: spec.seed })
    const events = yield* Stream.runCollect(
      trainingEvents(spec, rule, { workers: gradientWorkers(workers, recipe(options)) }).pipe(Stream.filter((e): e is StepEvent => e._tag === "Step")),
    )
    const after = predict()
    probe.dispose()
    return { losses: Chunk.toArray(events).map((e) => e.losses), before, after }
  })

beforeAll(() => Effect.runPromise(activateBackend("wasm")))

describe("gradient workers with a tfjs-layers model", () => {
  it("two workers train the model like one thread (float32 summation order), and the model holds the trained weights", async () => {
    const options = { steps: 5, batchSize: 16 }
    const one = await Effect.runPromise(run(options, 1))
    const two = await Effect.runPromise(run(options, 2))
    expect(two.losses).toHaveLength(5)
    for (const [t, losses] of one.losses.entries()) {
      for (const name of ["fit", "small"]) {
        expect(Math.abs(two.losses[t]![name]! - losses[name]!)).toBeLessThanOrEqual(1e-4 * Math.abs(losses[name]!) + 1e-6)
      }
    }
    // Both runs started from the same seeded model and moved it: the training thread's model was trained in place.
    expect(two.before).toEqual(one.before)
    expect(two.after).not.toEqual(two.before)
    two.after.forEach((v, i) => expect(v).toBeCloseTo(one.after[i]!, 4))
  })
})
