// A plain Node ESM application using the installed package (no TypeScript, no tsx): least squares
// with a prior on the weights, trained with Bloop on the fastest backend available.
import { Effect } from "effect"
import { bloop, describeBackend, makeSpec, objective, prioritize, selectBackend, sgd, tf, train } from "scalpel"

const backend = await Effect.runPromise(selectBackend("auto"))
console.error(describeBackend(backend))
const x = tf.randomNormal([32, 16], 0, 0.25, "float32", 1)
const y = tf.randomNormal([32, 1], 0, 1, "float32", 2)
const rows = { name: "rows", size: 32, batch: (i) => ({ x: tf.gather(x, i), y: tf.gather(y, i) }) }
const fit = objective("fit", (p, b) => tf.mul(0.5, tf.losses.meanSquaredError(b.y, tf.matMul(b.x, p.w))), rows)
const prior = objective("prior", (p) => tf.mul(0.5 / 16, tf.sum(tf.square(p.w))))

const summary = await Effect.runPromise(
  Effect.gen(function* () {
    const spec = yield* makeSpec({
      parameters: { w: { shape: [16, 1], init: { kind: "zeros" } } },
      structure: prioritize(fit, prior, { lambda: 1 }),
      optimizer: sgd({ learningRate: 0.5 }),
      steps: 200,
      batchSize: 8,
      seed: 1,
    })
    const rule = yield* bloop.lower(spec.structure, yield* bloop.decodeOptions({ rho: 0.01 }), { seed: 1 })
    return yield* train(spec, rule)
  }),
)
// The loss at w = 0, to compare the trained fit against.
const initialFit = tf.tidy(() => tf.mul(0.5, tf.losses.meanSquaredError(y, tf.zeros([32, 1]))).dataSync()[0])
console.log(JSON.stringify({ backend: summary.backend, steps: summary.steps, initialFit, finalLosses: summary.finalLosses }))
