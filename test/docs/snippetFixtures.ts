/**
 * What documentation blocks leave to the reader: a block may say `declare const spec: Spec` ("your
 * declaration"), and the runner (test/docs/snippetsRun.test.ts) gives it the value named here for
 * its file. Each value is a small, real instance of the declared type, so that the block runs as
 * written. A declared name with no fixture fails the run, naming the block.
 */
import { Effect, Either } from "effect"
import {
  bloop,
  type DataSource,
  lowerMethod,
  makeSpec,
  method,
  objective,
  type Params,
  prioritize,
  type Problem,
  sgd,
  type SpecInput,
  tf,
} from "../../src/index.ts"
import { leastSquaresProblem } from "../../src/problems/leastSquares.ts"

type Batch = { readonly x: tf.Tensor; readonly y: tf.Tensor }

/** 32 rows of a linear regression on 8 features, as `DataSource` (the README's shape, smaller). */
const rows = (): DataSource<Batch> => {
  const x = tf.randomNormal([32, 8], 0, 1, "float32", 3)
  const y = tf.matMul(x, tf.ones([8, 1]))
  return { name: "rows", size: 32, batch: (i: Int32Array) => ({ x: tf.gather(x, i), y: tf.gather(y, i) }) }
}

/** A least-squares declaration with a main objective `fit` and a prior, trained by SGD (a few steps). */
const smallSpec = (): SpecInput<{ w: { shape: [8, 1]; init: { kind: "zeros" } } }> => {
  const fit = objective("fit", (p: Params<"w">, b: Batch) => tf.losses.meanSquaredError(b.y, tf.matMul(b.x, p.w)), rows())
  const prior = objective("prior", (p: Params<"w">) => tf.mul(1e-3, tf.sum(tf.square(p.w))))
  return {
    parameters: { w: { shape: [8, 1], init: { kind: "zeros" } } },
    structure: prioritize(fit, prior, { lambda: 1 }),
    optimizer: sgd({ learningRate: 0.1 }),
    steps: 50,
    batchSize: 8,
    seed: 1,
  }
}

const resolved = () => {
  const spec = Either.getOrThrow(makeSpec(smallSpec()))
  const rule = Effect.runSync(lowerMethod(method(bloop, { rho: 0.01 }), spec.structure, { seed: spec.seed }))
  return { spec, rule }
}

/** A problem of points on a ring (distributed.md's custom-problem module). */
const makeRing = (options: { readonly points: number }): Problem => {
  const problem = leastSquaresProblem({ examples: options.points, dimensions: 2 * options.points, seed: 1 })
  return { ...problem, name: "ring", description: `${options.points} points on a ring` }
}

/** `make` evaluated once, on first use. */
const once = <T>(make: () => T): (() => T) => {
  let made: { readonly value: T } | undefined
  return () => (made ??= { value: make() }).value
}

const checkpointRun = once(resolved)

/**
 * The value of each declared name, per Markdown file, made only when a block asks for it (the
 * runner reads the names without making anything).
 */
export const fixtures: Readonly<Record<string, Readonly<Record<string, () => unknown>>>> = {
  "docs/checkpoints.md": { spec: () => checkpointRun().spec, rule: () => checkpointRun().rule },
  "docs/models.md": { spec: smallSpec, rows },
  "docs/distributed.md": { makeRing: () => makeRing },
}
