/**
 * The demonstration problem: over-parameterised least squares with a prior on the weights.
 *
 * n examples in d > n dimensions, y = X·w_true exactly, so the main loss
 * f(w) = ½·mean_i (xᵢ·w − yᵢ)² has a whole affine subspace of minimisers {w : Xw = y}. The
 * auxiliary loss g(w) = ½·‖w − w_ref‖²/d (a prior pulling towards a reference model) selects one of
 * them. The bilevel solution is known in closed form: the projection of w_ref on that subspace,
 * w* = w_ref + X⁺(y − X·w_ref), with g(w*) = ½‖X⁺(y − X·w_ref)‖²/d. A method that reaches f = 0
 * cannot get g below g(w*); the question is how close to it it gets while keeping f ≈ 0.
 *
 * Options for the quadratic experiment family (the Bloop authors' example: 256 rows, 300 unknowns,
 * g = ½‖w − w_ref‖²): `prior: "sum"` drops the 1/d of g, `fit: "sum"` the 1/n of f (its mini-batch form scales the
 * batch mean by n), `init: "normal"` starts w at N(0, 1)
 * draws from the spec's seed instead of zeros, `fullBatch: true` fits every row at every step
 * (deterministic gradients, as in the paper's §3.3 analysis). The evaluation `distance` is ‖w − w*‖₂, the distance
 * to the bilevel optimum, computed against w* in float64.
 */
import { Schema } from "effect"
import { Matrix } from "./linearAlgebra.ts"
import { problemFactory } from "./problemFactory.ts"
import { tf, type Scalar, type Tensor } from "../core/tf.ts"
import { type DataSource, type Objective, objective, type Params } from "../dsl/objective.ts"
import type { Problem } from "../dsl/problem.ts"
import { nextFloat, seedState } from "../core/random.ts"

export interface LeastSquaresOptions {
  readonly examples: number
  readonly dimensions: number
  readonly seed: number
  /** The prior as a mean over weights, ½‖w − w_ref‖²/d (default), or a sum, ½‖w − w_ref‖². */
  readonly prior?: "mean" | "sum"
  /** How w starts: zeros (default) or standard normal draws from the spec's seed. */
  readonly init?: "zeros" | "normal"
  /** The fit as a mean over rows, ½·mean_i(xᵢ·w − yᵢ)² (default), or a sum, ½‖Xw − y‖². */
  readonly fit?: "mean" | "sum"
  /** Fit on every row at every step (full-batch gradients) instead of mini-batches of rows. */
  readonly fullBatch?: boolean
}

export const defaultLeastSquaresOptions: LeastSquaresOptions = { examples: 64, dimensions: 256, seed: 7, prior: "mean", init: "zeros", fit: "mean", fullBatch: false }

/** Standard normal draws (Box–Muller) from the seeded generator, in float64. */
const normals = (count: number, seed: number): Float64Array => {
  const out = new Float64Array(count)
  let s = seedState(seed)
  for (let i = 0; i < count; i += 2) {
    const [u1, s1] = nextFloat(s)
    const [u2, s2] = nextFloat(s1)
    s = s2
    const r = Math.sqrt(-2 * Math.log(1 - u1))
    out[i] = r * Math.cos(2 * Math.PI * u2)
    if (i + 1 < count) out[i + 1] = r * Math.sin(2 * Math.PI * u2)
  }
  return out
}

export const leastSquaresProblem = (options: LeastSquaresOptions = defaultLeastSquaresOptions): Problem => {
  const { examples: n, dimensions: d, seed } = options
  const priorScale = options.prior === "sum" ? 1 : d
  const xValues = normals(n * d, seed).map((v) => v / Math.sqrt(d))
  const wTrue = normals(d, seed + 1)
  const wRef = normals(d, seed + 2)
  const X = new Matrix(n, d, xValues)
  const y = X.times(wTrue)
  const xTensor = tf.tensor2d(Float32Array.from(xValues), [n, d])
  const yTensor = tf.tensor2d(Float32Array.from(y), [n, 1])
  const refTensor = tf.tensor2d(Float32Array.from(wRef), [d, 1])

  const data: DataSource<{ x: Tensor; y: Tensor }> = {
    name: "least-squares-rows",
    size: n,
    batch: (indices: Int32Array) => {
      const idx = tf.tensor1d(indices, "int32")
      return { x: tf.gather(xTensor, idx), y: tf.gather(yTensor, idx) }
    },
  }
  const reduce = options.fit === "sum" ? (t: Tensor) => tf.mul(tf.mean(t), n) : (t: Tensor) => tf.mean(t)
  const fitLoss = (p: Params, batch: { x: Tensor; y: Tensor }) => tf.mul(0.5, reduce(tf.square(tf.sub(tf.matMul(batch.x, p.w!), batch.y)))) as Scalar
  const fit: Objective<any> = options.fullBatch ? objective("fit", (p) => fitLoss(p, { x: xTensor, y: yTensor })) : objective("fit", fitLoss, data)
  const prior = objective("prior", (p) => tf.div(tf.mul(0.5, tf.sum(tf.square(tf.sub(p.w!, refTensor)))), priorScale))

  // Bilevel optimum: w* = w_ref + Xᵀ(XXᵀ)⁻¹(y − X·w_ref), computed in float64.
  const residual = y.map((yi, i) => yi - X.row(i).reduce((acc, xij, j) => acc + xij * wRef[j]!, 0))
  const correction = X.transposeTimes(X.timesTranspose().solve(residual))
  const priorAtOptimum = (0.5 * correction.reduce((a, c) => a + c * c, 0)) / priorScale
  const optimumTensor = tf.tensor2d(Float32Array.from(wRef.map((r, j) => r + correction[j]!)), [d, 1])
  const distance = objective("distance", (p) => tf.norm(tf.sub(p.w!, optimumTensor)) as Scalar)

  return {
    name: "least-squares",
    description: `over-parameterised least squares (${n} examples, ${d} weights) with a prior towards a reference model`,
    parameters: { w: { shape: [d, 1], init: options.init === "normal" ? { kind: "normal", std: 1 } : { kind: "zeros" } } },
    objectives: { fit, prior },
    evaluations: [distance],
    references: { "prior at the bilevel optimum": priorAtOptimum, "fit at the bilevel optimum": 0 },
    dispose: () => tf.dispose([xTensor, yTensor, refTensor, optimumTensor]),
  }
}

/**
 * Bounds on the options from a spec file. The reference optimum costs O(n²·d) float64 operations
 * (forming XXᵀ) and O(n³) (solving with it), so n ≤ 256 and n·d ≤ 2¹⁸ keep it under a second;
 * (measured: 0.7 s at n = 256, d = 1024 on one core). d > n keeps the problem over-parameterised,
 * so that XXᵀ is invertible and the bilevel optimum exists (with probability 1).
 */
const maxEntries = 2 ** 18
const maxExamples = 256

const boundedInteger = (what: string, min: number, max: number) =>
  Schema.Number.pipe(
    Schema.filter((x) => (Number.isInteger(x) && x >= min && x <= max) || `expected ${what}, got ${x}`),
  ).annotations({ description: what })

/** The options of `least-squares` in a spec file, with the defaults of {@link defaultLeastSquaresOptions}. */
export const LeastSquaresOptionsSchema = Schema.Struct({
  examples: Schema.optionalWith(boundedInteger(`an integer in [1, ${maxExamples}]`, 1, maxExamples), {
    default: () => defaultLeastSquaresOptions.examples,
  }),
  dimensions: Schema.optionalWith(boundedInteger(`an integer in [2, ${maxEntries}]`, 2, maxEntries), {
    default: () => defaultLeastSquaresOptions.dimensions,
  }),
  seed: Schema.optionalWith(
    Schema.Number.pipe(Schema.filter((x) => Number.isSafeInteger(x) || `expected an integer, got ${x}`)).annotations({
      description: "an integer",
    }),
    { default: () => defaultLeastSquaresOptions.seed },
  ),
  prior: Schema.optionalWith(Schema.Literal("mean", "sum"), { default: () => "mean" as const }),
  init: Schema.optionalWith(Schema.Literal("zeros", "normal"), { default: () => "zeros" as const }),
  fit: Schema.optionalWith(Schema.Literal("mean", "sum"), { default: () => "mean" as const }),
  fullBatch: Schema.optionalWith(Schema.Boolean, { default: () => false }),
}).pipe(
  Schema.filter((o) =>
    o.dimensions <= o.examples
      ? { path: ["dimensions"], message: `expected more dimensions than examples (${o.examples}), got ${o.dimensions}` }
      : o.examples * o.dimensions > maxEntries
        ? { path: ["dimensions"], message: `expected examples × dimensions ≤ ${maxEntries}, got ${o.examples} × ${o.dimensions}` }
        : true,
  ),
)

/** `least-squares` in the problem catalogue. */
export const leastSquaresFactory = problemFactory({
  name: "least-squares",
  description: "over-parameterised least squares (fit) with a prior towards a reference model (prior); closed-form bilevel optimum",
  optionsSchema: LeastSquaresOptionsSchema,
  make: leastSquaresProblem,
})
