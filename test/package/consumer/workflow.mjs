// #21's workflow from plain Node ESM with no tfjs-node: a tf.sequential with Dropout and
// BatchNorm trained through fromModel + Bloop, validated every epoch with early stopping, saved
// with model.save("file://...") and loaded back with tf.loadLayersModel.
import { adam, bloop, fromModel, method, objective, prioritize, selectBackendPromise, tf, trainPromise } from "scalpel"
import "scalpel/node"

await selectBackendPromise("auto")
const model = tf.sequential({
  layers: [
    tf.layers.dense({ units: 16, inputShape: [8] }),
    tf.layers.batchNormalization(),
    tf.layers.activation({ activation: "relu" }),
    tf.layers.dropout({ rate: 0.2 }),
    tf.layers.dense({ units: 1 }),
  ],
})
const x = tf.randomNormal([320, 8], 0, 1, "float32", 1)
const y = tf.sum(tf.sin(x), 1, true)
const source = (from, size) => ({
  name: `rows ${from}`,
  size,
  batch: (i) => ({ x: tf.gather(x, i.map((k) => k + from)), y: tf.gather(y, i.map((k) => k + from)) }),
})
const mse = (data, name) => objective(name, (_p, b, { training }) => tf.losses.meanSquaredError(b.y, model.apply(b.x, { training })), data)
const fit = mse(source(0, 256), "fit")
const heldOut = mse(source(256, 64), "held-out")
const small = objective("small weights", (p) => tf.mul(1e-4, tf.addN(Object.values(p).map((w) => tf.sum(tf.square(w))))))
const movingMean = () => Array.from(model.layers[1].getWeights()[2].dataSync())
const meanBefore = movingMean()
const epochs = []
const result = await trainPromise(
  { parameters: fromModel(model), structure: prioritize(fit, small, { lambda: 1 }), optimizer: adam({ learningRate: 0.01 }), epochs: 40, batchSize: 32, seed: 1 },
  method(bloop, { rho: 0.01 }),
  { validation: { objectives: [heldOut], every: { epochs: 1 } }, earlyStopping: { patience: 3 }, onEvaluation: (e) => void epochs.push(e.epoch) },
)
const probe = tf.randomNormal([16, 8], 0, 1, "float32", 3)
const before = Array.from(model.predict(probe).dataSync())
await model.save("file://saved/model")
const loaded = await tf.loadLayersModel("file://saved/model/model.json")
const after = Array.from(loaded.predict(probe).dataSync())
console.log(
  JSON.stringify({
    stopped: result.stopped ?? null,
    restoredBest: result.restoredBest ?? null,
    epochsValidated: epochs.length,
    statisticsMoved: movingMean().some((m, i) => m !== meanBefore[i]),
    identical: before.length === 16 && before.every((v, i) => Object.is(v, after[i])),
    finalFit: result.finalLosses.fit,
  }),
)
