// A TypeScript consumer of every entry point, type-checked under the user's strictest settings.
import { Effect } from "effect"
import {
  bloop,
  describeBackend,
  makeSpec,
  objective,
  prioritize,
  selectBackend,
  sgd,
  type Spec,
  tf,
  train,
  type TrainingSummary,
} from "scalpel"
import { checkInterpreter } from "scalpel/testing"
import { runSweep } from "scalpel/experiments"
import { readCheckpoint, writeCheckpoint } from "scalpel/node"

const rows = { name: "rows", size: 4, batch: (i: Int32Array) => ({ x: tf.gather(tf.ones([4, 2]), i) }) }
const fit = objective("fit", (p, b: { x: tf.Tensor }) => tf.sum(tf.matMul(b.x, p["w"] ?? tf.zeros([2, 1]))), rows)
const prior = objective("prior", (p) => tf.sum(tf.square(p["w"] ?? tf.zeros([2, 1]))))

export const program: Effect.Effect<TrainingSummary, unknown> = Effect.gen(function* () {
  const info = yield* selectBackend("auto")
  const line: string = describeBackend(info)
  void line
  const spec: Spec = yield* makeSpec({
    parameters: { w: { shape: [2, 1], init: { kind: "zeros" } } },
    structure: prioritize(fit, prior, { lambda: 1 }),
    optimizer: sgd({ learningRate: 0.1 }),
    steps: 2,
    batchSize: 2,
    seed: 1,
  })
  const rule = yield* bloop.lower(spec.structure, yield* bloop.decodeOptions({ rho: 0.01 }), { seed: 1 })
  return yield* train(spec, rule)
})

export const entryPoints = [checkInterpreter, runSweep, readCheckpoint, writeCheckpoint] as const
