import { Effect } from "effect"
import { bloop, method, objective, type Params, prioritize, selectBackend, sgd, tf, train } from "scalpel"

await Effect.runPromise(selectBackend("auto")) // node, else wasm, else cpu (or SCALPEL_BACKEND)
const x = tf.randomNormal([64, 256], 0, 1 / 16, "float32", 1), y = tf.randomNormal([64, 1], 0, 1, "float32", 2)
const rows = { name: "rows", size: 64, batch: (i: Int32Array) => ({ x: tf.gather(x, i), y: tf.gather(y, i) }) }
const fit = objective("fit", (p: Params<"w">, b: { x: tf.Tensor; y: tf.Tensor }) =>
  tf.mul(0.5, tf.losses.meanSquaredError(b.y, tf.matMul(b.x, p.w))), rows)
const prior = objective("prior", (p: Params<"w">) => tf.mul(0.5 / 256, tf.sum(tf.square(p.w))))

const result = await Effect.runPromise(train({
  parameters: { w: { shape: [256, 1], init: { kind: "zeros" } } },
  structure: prioritize(fit, prior, { lambda: 1 }), // minimise prior among the minimisers of fit
  optimizer: sgd({ learningRate: 0.5 }), steps: 2000, batchSize: 8, seed: 1,
}, method(bloop, { rho: 0.01 }))) // or "bloop", "pcgrad", ...; plain await: trainPromise(spec, method)
const { parameters, ...summary } = result // { finalLosses: { fit, prior }, backend, wallTimeMs, ... }
console.log(JSON.stringify({ ...summary, norm: tf.norm(parameters.w).dataSync()[0] }))
tf.dispose([parameters.w, x, y]) // the trained weights are yours: dispose them when done
