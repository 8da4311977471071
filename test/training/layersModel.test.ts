import { Effect, Either, Stream } from "effect"
import { describe, expect, it } from "vitest"
import { tf, type Tensor } from "../../src/core/tf.ts"
import { fromModel, fromVariable } from "../../src/dsl/model.ts"
import { objective, type Params } from "../../src/dsl/objective.ts"
import { makeSpec, sgd, type ParameterDeclarations } from "../../src/dsl/spec.ts"
import { prioritize } from "../../src/dsl/structure.ts"
import { bloop } from "../../src/interpreters/bloop.ts"
import { method } from "../../src/interpreters/method.ts"
import { train, trainingEvents } from "../../src/training/train.ts"
import { useCpuBackend } from "../support/cpuBackend.ts"

useCpuBackend()

type Batch = { readonly x: Tensor; readonly y: Tensor }

/** A two-layer perceptron 4 → 8 (relu) → 1 and 32 examples of a noisy target. */
const setting = () => {
  const model = tf.sequential({
    layers: [
      tf.layers.dense({ units: 8, inputShape: [4], activation: "relu", kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }),
      tf.layers.dense({ units: 1, kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
    ],
  })
  const x = tf.randomNormal([32, 4], 0, 1, "float32", 11)
  const y = tf.randomNormal([32, 1], 0, 1, "float32", 12)
  const rows = { name: "rows", size: 32, batch: (i: Int32Array): Batch => ({ x: tf.gather(x, i), y: tf.gather(y, i) }) }
  return { model, x, y, rows, dispose: () => (model.dispose(), tf.dispose([x, y])) }
}

const predictionsOf = (model: tf.LayersModel, x: Tensor): ReadonlyArray<number> => {
  const predictions = model.predict(x) as Tensor
  const values = Array.from(predictions.dataSync())
  predictions.dispose()
  return values
}

const optimizer = sgd({ learningRate: 0.05 })
const steps = 60

describe("a tf.LayersModel's weights as parameters (fromModel)", () => {
  it("Bloop trains the model in place: its predictions change, it holds the trained weights, nothing leaks", async () => {
    const { model, x, rows, dispose } = setting()
    const fit = objective("fit", (_p, b: Batch) => tf.losses.meanSquaredError(b.y, model.apply(b.x) as Tensor), rows)
    const decay = objective("decay", () => tf.mul(1e-3, tf.addN(model.trainableWeights.map((w) => tf.sum(tf.square(w.read()))))) as tf.Scalar)
    const parameters = fromModel(model)
    expect(Object.keys(parameters).sort()).toEqual(model.trainableWeights.map((w) => w.name).sort())
    const predictionsBefore = predictionsOf(model, x)
    const weightsBefore = model.getWeights().map((w) => w.arraySync())
    const tensorsBefore = tf.memory().numTensors
    const result = await Effect.runPromise(
      train({ parameters, structure: prioritize(fit, decay, { lambda: 1 }), optimizer, steps, batchSize: 8, seed: 3 }, method(bloop, { rho: 0.01 })),
    )
    // The model's own variables were trained: no new tensor is alive, and the result's
    // parameters are those very variables.
    expect(tf.memory().numTensors).toBe(tensorsBefore)
    for (const w of model.trainableWeights) expect(result.parameters[w.name]).toBe(w.read())
    const predictionsAfter = predictionsOf(model, x)
    expect(predictionsAfter).not.toEqual(predictionsBefore)
    expect(model.getWeights().map((w) => w.arraySync())).not.toEqual(weightsBefore)
    // The model computes the loss the run reports as final: it holds the trained weights.
    const fitNow = tf.tidy(() => tf.losses.meanSquaredError(rows.batch(Int32Array.from({ length: 32 }, (_, i) => i)).y, model.predict(x) as Tensor).dataSync()[0]!)
    expect(fitNow).toBeCloseTo(result.finalLosses.fit!, 6)
    // …and saves them (model.save reads the same variables).
    const saved = await model.save(tf.io.withSaveHandler(async (artifacts) => ({ modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" }, ...artifacts })))
    expect(saved.modelArtifactsInfo).toBeDefined()
    dispose()
  })

  it("gives the same losses, bit for bit, as the same network declared by hand with the same initial values", async () => {
    const { model, rows, dispose } = setting()
    // The hand-declared network: same names (hence the same layout order), same initial values.
    const hand: Record<string, { shape: ReadonlyArray<number>; init: { kind: "values"; values: Float32Array } }> = {}
    for (const w of model.trainableWeights) hand[w.name] = { shape: w.shape as ReadonlyArray<number>, init: { kind: "values", values: w.read().dataSync() as Float32Array } }
    const [k1, b1, k2, b2] = model.trainableWeights.map((w) => w.name) as [string, string, string, string]
    const byHand = (p: Params, b: Batch) => tf.add(tf.matMul(tf.relu(tf.add(tf.matMul(b.x, p[k1]!), p[b1]!)), p[k2]!), p[b2]!)
    // With fromModel, a loss may also read the model's weights through its parameters record.
    const decay = objective("decay", (p) => tf.mul(1e-3, tf.addN([k1, b1, k2, b2].map((n) => tf.sum(tf.square(p[n]!))))) as tf.Scalar)
    const lossesOf = async (parameters: ParameterDeclarations, predict: (p: Params, b: Batch) => Tensor) => {
      const fit = objective("fit", (p, b: Batch) => tf.losses.meanSquaredError(b.y, predict(p, b)), rows)
      return Effect.runPromise(
        Effect.gen(function* () {
          const spec = yield* makeSpec({ parameters, structure: prioritize(fit, decay, { lambda: 1 }), optimizer, steps, batchSize: 8, seed: 3 })
          const rule = yield* bloop.lower(spec.structure, yield* bloop.decodeOptions({ rho: 0.01 }), { seed: 3 })
          const events = yield* Stream.runCollect(trainingEvents(spec, rule))
          return [...events].flatMap((e) => (e._tag === "Step" ? [e.losses] : []))
        }),
      )
    }
    const viaModel = await lossesOf(fromModel(model), (_p, b) => model.apply(b.x) as Tensor)
    const viaHand = await lossesOf(hand, byHand)
    expect(viaModel).toHaveLength(steps)
    expect(viaModel).toEqual(viaHand)
    dispose()
  })
})

describe("fromModel's parameter names", () => {
  const named = () =>
    tf.sequential({ layers: [tf.layers.dense({ name: "hidden", units: 3, inputShape: [2] }), tf.layers.dense({ name: "out", units: 1 })] })

  it("are the weights' own names (layer/weight), the same for every model built alike in one process", () => {
    // tfjs uniquifies variable names per process (hidden/kernel, then hidden/kernel_1, ...): names
    // taken from them would differ between a run, its resumption after a rebuilt model, and the
    // gradient workers' own copies of the model.
    const first = named(), second = named()
    expect(Object.keys(fromModel(first)).sort()).toEqual(["hidden/bias", "hidden/kernel", "out/bias", "out/kernel"])
    expect(Object.keys(fromModel(second)).sort()).toEqual(Object.keys(fromModel(first)).sort())
    first.dispose()
    second.dispose()
  })
})

describe("caller-provided variables (fromVariable)", () => {
  it("are trained in place, returned as themselves and never disposed", async () => {
    const w = tf.variable(tf.zeros([2]), true)
    const target = tf.tensor1d([1, -1])
    const fit = objective("fit", (p: Params<"w">) => tf.mul(0.5, tf.sum(tf.square(tf.sub(p.w, target)))))
    const before = tf.memory().numTensors
    const result = await Effect.runPromise(
      train({ parameters: { w: fromVariable(w) }, structure: fit, optimizer: sgd({ learningRate: 0.5 }), steps: 3, batchSize: 1 }, "weighted-sum"),
    )
    expect(tf.memory().numTensors).toBe(before)
    expect(result.parameters.w).toBe(w)
    // SGD with η = 0.5 on ½‖w − t‖² halves the distance each step: w = t·(1 − 0.5³).
    expect(Array.from(w.dataSync())).toEqual([0.875, -0.875])
    tf.dispose([w, target])
  })

  it("makeSpec refuses a disposed, non-trainable, misshapen or twice-bound variable, naming the parameter", () => {
    const fit = objective("fit", (p) => tf.sum(Object.values(p)[0]!))
    const spec = (parameters: ParameterDeclarations) => makeSpec({ parameters, structure: fit, optimizer: sgd({ learningRate: 0.1 }), steps: 1, batchSize: 1 })
    const problem = (parameters: ParameterDeclarations) => {
      const result = spec(parameters)
      return Either.isLeft(result) ? `${result.left.path}: ${result.left.problem}` : "accepted"
    }
    const live = tf.variable(tf.zeros([2]), true)
    const frozen = tf.variable(tf.zeros([2]), false)
    const gone = tf.variable(tf.zeros([2]), true)
    gone.dispose()
    expect(problem({ w: fromVariable(live) })).toBe("accepted")
    expect(problem({ w: fromVariable(gone) })).toMatch(/^parameters\.w\.init\.variable: variable '.*' is disposed$/)
    expect(problem({ w: fromVariable(frozen) })).toMatch(/^parameters\.w\.init\.variable: variable '.*' is not trainable$/)
    expect(problem({ w: { shape: [3], init: { kind: "variable", variable: live } } })).toMatch(/has shape \[2\], the declaration says \[3\]/)
    expect(problem({ a: fromVariable(live), b: fromVariable(live) })).toMatch(/^parameters\.b\.init\.variable: .* is already parameter 'a'/)
    tf.dispose([live, frozen])
  })
})
