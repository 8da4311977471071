import { adam, bloop, fromModel, method, objective, prioritize, selectBackendPromise, tf, trainPromise } from "scalpel"
import "scalpel/node" // file:// for model.save and tf.loadLayersModel in Node

await selectBackendPromise("auto") // before any tensor: node, else wasm, else cpu (or SCALPEL_BACKEND)
const model = tf.sequential({ layers: [
  tf.layers.dense({ units: 16, inputShape: [8], activation: "relu" }), tf.layers.dense({ units: 1 }),
] })
const x = tf.randomNormal([256, 8], 0, 1, "float32", 1), y = tf.sum(tf.sin(x), 1, true)
const rows = { name: "rows", size: 256, batch: (i: Int32Array) => ({ x: tf.gather(x, i), y: tf.gather(y, i) }) }
const fit = objective("fit", (_p, b: { x: tf.Tensor; y: tf.Tensor }) =>
  tf.losses.meanSquaredError(b.y, model.apply(b.x) as tf.Tensor), rows) // the model, called as usual
const small = objective("small weights", (p) => tf.mul(1e-3, tf.addN(Object.values(p).map((w) => tf.sum(tf.square(w))))))

const mse = (m: tf.LayersModel = model) => tf.tidy(() => tf.losses.meanSquaredError(y, m.predict(x) as tf.Tensor).dataSync()[0])
const before = mse()
const result = await trainPromise({
  parameters: fromModel(model), // the model's trainable weights, trained in place
  structure: prioritize(fit, small, { lambda: 1 }),
  optimizer: adam({ learningRate: 0.01 }), steps: 500, batchSize: 32, seed: 1,
}, method(bloop, { rho: 0.01 }))
await model.save("file://trained-model") // trained-model/model.json + weights.bin (folders created)
const loaded = await tf.loadLayersModel("file://trained-model/model.json")
console.log(JSON.stringify({ before, after: mse(), loaded: mse(loaded), finalLosses: result.finalLosses }))
