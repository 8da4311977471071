import { describe, expect, expectTypeOf, it } from "vitest"
import { tf, type Tensor } from "../../src/core/tf.ts"
import { fromModel } from "../../src/dsl/model.ts"
import { type LossContext, objective, type Params } from "../../src/dsl/objective.ts"
import { sgd } from "../../src/dsl/spec.ts"
import { sum } from "../../src/dsl/structure.ts"
import { fullDataLoss, trainPromise } from "../../src/training/train.ts"
import { useCpuBackend } from "../support/cpuBackend.ts"

useCpuBackend()

type Batch = { readonly x: Tensor; readonly y: Tensor }

/** A tf.sequential with BatchNorm and Dropout, and 64 examples whose inputs are far from mean 0, variance 1. */
const setting = () => {
  const model = tf.sequential({
    layers: [
      tf.layers.dense({ units: 8, inputShape: [3], kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }),
      tf.layers.batchNormalization({ name: "norm" }),
      tf.layers.activation({ activation: "relu" }),
      tf.layers.dropout({ rate: 0.5, seed: 3 }),
      tf.layers.dense({ units: 1, kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
    ],
  })
  const x = tf.add(tf.mul(tf.randomNormal([64, 3], 0, 1, "float32", 11), 3), 5)
  const y = tf.sum(tf.sin(x), 1, true)
  const rows = { name: "rows", size: 64, batch: (i: Int32Array): Batch => ({ x: tf.gather(x, i), y: tf.gather(y, i) }) }
  return { model, x, y, rows, dispose: () => (model.dispose(), tf.dispose([x, y])) }
}

const movingMean = (model: tf.LayersModel): ReadonlyArray<number> =>
  Array.from(model.getLayer("norm").weights.find((w) => w.name.includes("moving_mean"))!.read().dataSync())

describe("training mode: a loss knows whether it is evaluated for a step or for a report", () => {
  it("passes { training: true } in steps and { training: false } in reported losses and evaluations", async () => {
    const seen = new Set<boolean>()
    const w = objective("w", (p: Params<"w">, _b: undefined, context: LossContext) => {
      seen.add(context.training)
      return tf.sum(tf.square(p.w))
    })
    const result = await trainPromise(
      { parameters: { w: { shape: [2], init: { kind: "constant", value: 1 } } }, structure: w, optimizer: sgd({ learningRate: 0.1 }), steps: 2, batchSize: 1 },
      "weighted-sum",
    )
    tf.dispose(Object.values(result.parameters))
    expect([...seen].sort()).toEqual([false, true])
  })

  it("a tf.sequential with Dropout and BatchNorm: moving statistics move during training, and the final losses are measured in inference mode", async () => {
    const { model, x, y, rows, dispose } = setting()
    const fit = objective("fit", (_p, b: Batch, { training }: LossContext) => tf.losses.meanSquaredError(b.y, model.apply(b.x, { training }) as Tensor), rows)
    const before = movingMean(model)
    const result = await trainPromise(
      { parameters: fromModel(model), structure: fit, optimizer: sgd({ learningRate: 0.01 }), steps: 30, batchSize: 16, seed: 1 },
      "weighted-sum",
    )
    const after = movingMean(model)
    // BatchNorm's moving mean started at 0 and moved towards the batches' means (inputs near 5).
    expect(before.every((v) => v === 0)).toBe(true)
    expect(after.some((v) => Math.abs(v) > 0.1)).toBe(true)
    // The reported loss is the inference-mode loss (predict: no dropout, moving statistics).
    const inference = tf.tidy(() => tf.losses.meanSquaredError(y, model.predict(x) as Tensor).dataSync()[0]!)
    expect(result.finalLosses.fit).toBeCloseTo(inference, 5)
    expect(fullDataLoss(fit, result.parameters)).toBeCloseTo(inference, 5)
    // ... and not the training-mode one (dropout on, batch statistics), which is what it was before
    // (this call moves the moving statistics again: it comes last).
    const withDropout = tf.tidy(() => tf.losses.meanSquaredError(y, model.apply(x, { training: true }) as Tensor).dataSync()[0]!)
    expect(Math.abs(withDropout - inference)).toBeGreaterThan(1e-3)
    dispose()
  })
})

describe("losses may return any rank-0 tensor", () => {
  it("tf.addN of scalars type-checks as a loss, and a loss of rank 1 fails with LossNotScalar naming the objective and the rank", async () => {
    const parameters = { w: { shape: [2], init: { kind: "constant" as const, value: 1 } } }
    const added = objective("added", (p: Params<"w">) => tf.addN([tf.sum(p.w), tf.sum(tf.square(p.w))]))
    expectTypeOf(added.loss).returns.toEqualTypeOf<Tensor>()
    const ok = await trainPromise({ parameters, structure: added, optimizer: sgd({ learningRate: 0.1 }), steps: 2, batchSize: 1 }, "weighted-sum")
    tf.dispose(Object.values(ok.parameters))
    const before = tf.memory().numTensors
    const vector = objective("vector", (p: Params<"w">) => tf.square(p.w))
    const failed = trainPromise({ parameters, structure: sum(added, vector), optimizer: sgd({ learningRate: 0.1 }), steps: 2, batchSize: 1 }, "weighted-sum")
    await expect(failed).rejects.toMatchObject({ _tag: "LossNotScalar", objective: "vector", rank: 1 })
    await expect(failed).rejects.toThrow(/objective 'vector' returned a tensor of rank 1 \(shape \[2\]\); a loss must be a rank-0 tensor/)
    expect(tf.memory().numTensors).toBe(before)
  })
})
