/**
 * The Bloop paper's experiment families on real MNIST digits (see `mnistData.ts` for the data, its
 * source and its fixed split), scaled to a CPU:
 *
 * - `mnist-smooth` (§5.2): an MLP, main = cross-entropy, auxiliary = the Lipschitz proxy
 *   Σ_l log ‖W_l‖₂ over its kernels (spectral norms by power iteration, {@link spectralNorm}).
 * - `mnist-multitask` (§5.3): each image holds a digit and a second, dimmer digit overlaid on it,
 *   x = max(a, 0.6·b); a shared trunk feeds two heads; main = the digit a, auxiliary = the digit b.
 * - `mnist-joint` (§5.4): main = cross-entropy on a small clean training set; auxiliary = on a large
 *   shifted set ({@link shiftDigits}: thickened strokes, a one-pixel translation, pixel noise and
 *   20% wrong labels). Held out: clean and shifted digits of the held-out pool.
 */
import { Schema } from "effect"
import { nextFloat, nextInt, seedState } from "../core/random.ts"
import { tf, type Scalar, type Tensor } from "../core/tf.ts"
import { objective, type Params } from "../dsl/objective.ts"
import type { Problem } from "../dsl/problem.ts"
import { accuracy, crossEntropy, denseForward, denseParameters, integerIn, type LabelledBatch, oneHotLabels, tensorDataSource } from "./classification.ts"
import { type DigitSet, mnistPixels, mnistPools, mnistSide, slicePool } from "./mnistData.ts"
import { type LabelledImages, releaseImages, targetAndShiftedProblem, twoHeadProblem } from "./digitTasks.ts"
import { problemFactory } from "./problemFactory.ts"

const tensorsOf = (set: DigitSet, labelSets: ReadonlyArray<ArrayLike<number>> = [set.labels]): LabelledImages => ({
  x: tf.tensor2d(set.images, [set.count, mnistPixels]),
  labels: labelSets.map((l) => oneHotLabels(l, 10)),
})



/** A fixed start vector of power iteration for a matrix with `n` columns (deterministic, not sparse). */
export const startVector = (n: number): Float64Array => {
  const v = new Float64Array(n)
  let s = seedState(n)
  for (let i = 0; i < n; i++) {
    const [u, next] = nextFloat(s)
    v[i] = u + 0.5
    s = next
  }
  return v
}

/**
 * The spectral norm ‖W‖₂ of a kernel W ([rows, cols]) as a differentiable scalar: `iterations`
 * steps of power iteration on WᵀW from a fixed start vector, run on the host values (no gradient
 * flows through them), give the right singular vector estimate v; then σ̂ = ‖W·v‖₂ is computed
 * with tensor operations, whose gradient is u·vᵀ with u = Wv/‖Wv‖ — the gradient of σ_max where
 * the top singular value is simple (Miyato et al. 2018 use the same estimate for spectral
 * normalisation). σ̂ ≤ σ_max always, with equality when v is converged.
 */
export const spectralNorm = (w: Tensor, iterations: number): Scalar => {
  const [rows, cols] = w.shape as [number, number]
  const values = w.dataSync()
  let v = startVector(cols)
  const u = new Float64Array(rows)
  for (let k = 0; k < iterations; k++) {
    for (let i = 0; i < rows; i++) {
      let acc = 0
      for (let j = 0; j < cols; j++) acc += values[i * cols + j]! * v[j]!
      u[i] = acc
    }
    const next = new Float64Array(cols)
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) next[j]! += values[i * cols + j]! * u[i]!
    const norm = Math.hypot(...next) || 1
    v = next.map((x) => x / norm)
  }
  return tf.norm(tf.matMul(w, tf.tensor2d(Float32Array.from(v), [cols, 1]))) as Scalar
}

// ---------------------------------------------------------------------------------------------
// §5.2 smooth networks

export interface SmoothOptions {
  readonly trainSize: number
  readonly testSize: number
  readonly hidden: ReadonlyArray<number>
  readonly powerIterations: number
}

export const defaultSmoothOptions: SmoothOptions = { trainSize: 4000, testSize: 2000, hidden: [128, 64], powerIterations: 8 }

/** §5.2: MLP 196 → hidden… → 10; main = cross-entropy, auxiliary = Σ_l log ‖W_l‖₂ (the Lipschitz proxy). */
export const smoothProblem = (options: Partial<SmoothOptions> = {}): Problem => {
  const { trainSize, testSize, hidden, powerIterations } = { ...defaultSmoothOptions, ...options }
  const pools = mnistPools()
  const train = tensorsOf(slicePool(pools.train, 0, trainSize))
  const test = tensorsOf(slicePool(pools.test, 0, testSize))
  const sizes = [mnistPixels, ...hidden, 10]
  const layers = sizes.length - 1
  const logits = (p: Params, b: LabelledBatch) => denseForward(p, "net", layers, b.x)
  const ce = (p: Params, b: LabelledBatch) => crossEntropy(logits(p, b), b.labels[0]!)
  const lipschitz = (p: Params) =>
    tf.addN(Array.from({ length: layers }, (_, k) => tf.log(spectralNorm(p[`net.${k}.kernel`]!, powerIterations)))) as Scalar
  const testData = tensorDataSource("mnist-test", test.x, test.labels)
  return {
    name: "mnist-smooth",
    description: `MNIST (${train.x.shape[0]} training digits, ${test.x.shape[0]} held out, 14×14): MLP ${sizes.join("→")} (ReLU); main: cross-entropy, auxiliary: Σ log spectral norm of the kernels`,
    parameters: denseParameters("net", sizes),
    objectives: {
      ce: objective("ce", ce, tensorDataSource("mnist-train", train.x, train.labels)),
      lipschitz: objective("lipschitz", lipschitz),
    },
    evaluations: [objective("ce:test", ce, testData), objective("accuracy:test", (p, b: LabelledBatch) => accuracy(logits(p, b), b.labels[0]!), testData)],
    references: {},
    dispose: releaseImages(train, test),
  }
}

// ---------------------------------------------------------------------------------------------
// §5.3 multi-task

export interface MnistMultiTaskOptions {
  readonly trainSize: number
  readonly testSize: number
  readonly trunk: number
  readonly dataSeed: number
}

export const defaultMnistMultiTaskOptions: MnistMultiTaskOptions = { trainSize: 4000, testSize: 2000, trunk: 32, dataSeed: 31 }

/** Weight of the overlaid (auxiliary) digit: x = max(a, overlayWeight·b). */
export const overlayWeight = 0.6

/** `count` overlaid pairs from a pool: digit a is pool[i], digit b a seeded draw of another digit. */
const overlaidPairs = (pool: DigitSet, count: number, seed: number) => {
  const n = Math.min(count, pool.count)
  const images = new Float32Array(n * mnistPixels)
  const main = new Int32Array(n)
  const aux = new Int32Array(n)
  let s = seedState(seed)
  for (let i = 0; i < n; i++) {
    let [j, next] = nextInt(s, pool.count)
    s = next
    if (j === i) j = (j + 1) % pool.count
    for (let k = 0; k < mnistPixels; k++) {
      images[i * mnistPixels + k] = Math.max(pool.images[i * mnistPixels + k]!, overlayWeight * pool.images[j * mnistPixels + k]!)
    }
    main[i] = pool.labels[i]!
    aux[i] = pool.labels[j]!
  }
  return tensorsOf({ count: n, images, labels: main }, [main, aux])
}

/** §5.3: main = the digit, auxiliary = the overlaid dimmer digit; shared trunk, two linear heads. */
export const mnistMultiTaskProblem = (options: Partial<MnistMultiTaskOptions> = {}): Problem => {
  const { trainSize, testSize, trunk, dataSeed } = { ...defaultMnistMultiTaskOptions, ...options }
  const pools = mnistPools()
  const train = overlaidPairs(pools.train, trainSize, dataSeed)
  const test = overlaidPairs(pools.test, testSize, dataSeed + 1)
  return twoHeadProblem({
    name: "mnist-multitask",
    description: `overlaid MNIST digits (${train.x.shape[0]} training images, ${test.x.shape[0]} held out): trunk ${mnistPixels}→${trunk}, heads ${trunk}→10 (digit: main, overlaid digit: auxiliary)`,
    data: "mnist-overlaid",
    pixels: mnistPixels,
    trunk,
    train,
    test,
  })
}

// ---------------------------------------------------------------------------------------------
// §5.4 joint training

export interface MnistJointOptions {
  readonly targetSize: number
  readonly shiftedSize: number
  readonly testSize: number
  readonly hidden: number
  readonly dataSeed: number
}

export const defaultMnistJointOptions: MnistJointOptions = { targetSize: 200, shiftedSize: 4000, testSize: 1000, hidden: 64, dataSeed: 41 }

/** Fraction of the shifted digits whose label is replaced by a uniformly drawn other class. */
export const shiftedLabelNoise = 0.2

/**
 * The documented shift of §5.4's auxiliary set: strokes thickened (each pixel becomes the maximum
 * of itself and 0.8× its 4-neighbours), the digit moved one pixel right and one down, uniform
 * pixel noise in [0, 0.3) added (clipped at 1), and {@link shiftedLabelNoise} of the labels
 * replaced by a different class, all from a seeded generator.
 */
export const shiftDigits = (set: DigitSet, seed: number): DigitSet => {
  const images = new Float32Array(set.count * mnistPixels)
  const labels = new Int32Array(set.count)
  let s = seedState(seed)
  const at = (img: number, r: number, c: number) =>
    r < 0 || c < 0 || r >= mnistSide || c >= mnistSide ? 0 : set.images[img * mnistPixels + r * mnistSide + c]!
  for (let i = 0; i < set.count; i++) {
    for (let r = 0; r < mnistSide; r++) {
      for (let c = 0; c < mnistSide; c++) {
        const [sr, sc] = [r - 1, c - 1] // the one-pixel translation
        const thick = Math.max(at(i, sr, sc), 0.8 * Math.max(at(i, sr - 1, sc), at(i, sr + 1, sc), at(i, sr, sc - 1), at(i, sr, sc + 1)))
        const [noise, next] = nextFloat(s)
        s = next
        images[i * mnistPixels + r * mnistSide + c] = Math.min(1, thick + 0.3 * noise)
      }
    }
    const [flip, s1] = nextFloat(s)
    const [other, s2] = nextInt(s1, 9)
    s = s2
    labels[i] = flip < shiftedLabelNoise ? (set.labels[i]! + 1 + other) % 10 : set.labels[i]!
  }
  return { count: set.count, images, labels }
}

/** §5.4: main = a small clean training set, auxiliary = a large shifted one; MLP 196 → hidden → 10. */
export const mnistJointProblem = (options: Partial<MnistJointOptions> = {}): Problem => {
  const { targetSize, shiftedSize, testSize, hidden, dataSeed } = { ...defaultMnistJointOptions, ...options }
  const pools = mnistPools()
  // Disjoint parts of the training pool: the first targetSize digits, then shiftedSize others.
  const target = tensorsOf(slicePool(pools.train, 0, targetSize))
  const shifted = tensorsOf(shiftDigits(slicePool(pools.train, targetSize, shiftedSize), dataSeed))
  const targetTest = tensorsOf(slicePool(pools.test, 0, testSize))
  const shiftedTest = tensorsOf(shiftDigits(slicePool(pools.test, testSize, testSize), dataSeed + 1))
  return targetAndShiftedProblem({
    name: "mnist-joint",
    description: `MNIST: ${target.x.shape[0]} clean training digits (main) + ${shifted.x.shape[0]} shifted digits (auxiliary), MLP ${mnistPixels}→${hidden}→10, ${targetTest.x.shape[0]} + ${shiftedTest.x.shape[0]} held out`,
    names: { target: "mnist-clean", shifted: "mnist-shifted" },
    pixels: mnistPixels,
    hidden,
    target,
    shifted,
    targetTest,
    shiftedTest,
  })
}

// ---------------------------------------------------------------------------------------------
// Factories

const size = (fallback: number) => Schema.optionalWith(integerIn(1, 8000), { default: () => fallback })
const seedOption = (fallback: number) => Schema.optionalWith(integerIn(0, 2 ** 31 - 1), { default: () => fallback })

/** `mnist-smooth` in spec files. */
export const mnistSmoothFactory = problemFactory({
  name: "mnist-smooth",
  description: "MNIST MLP with a Lipschitz proxy (objectives: ce, lipschitz)",
  optionsSchema: Schema.Struct({
    trainSize: size(defaultSmoothOptions.trainSize),
    testSize: Schema.optionalWith(integerIn(1, 2000), { default: () => defaultSmoothOptions.testSize }),
    hidden: Schema.optionalWith(Schema.Array(integerIn(1, 1024)), { default: () => defaultSmoothOptions.hidden }),
    powerIterations: Schema.optionalWith(integerIn(1, 100), { default: () => defaultSmoothOptions.powerIterations }),
  }),
  make: smoothProblem,
})

/** `mnist-multitask` in spec files. */
export const mnistMultiTaskFactory = problemFactory({
  name: "mnist-multitask",
  description: "overlaid MNIST digits, shared trunk and two heads (objectives: digit, overlay)",
  optionsSchema: Schema.Struct({
    trainSize: size(defaultMnistMultiTaskOptions.trainSize),
    testSize: Schema.optionalWith(integerIn(1, 2000), { default: () => defaultMnistMultiTaskOptions.testSize }),
    trunk: Schema.optionalWith(integerIn(1, 1024), { default: () => defaultMnistMultiTaskOptions.trunk }),
    dataSeed: seedOption(defaultMnistMultiTaskOptions.dataSeed),
  }),
  make: mnistMultiTaskProblem,
})

/** `mnist-joint` in spec files. */
export const mnistJointFactory = problemFactory({
  name: "mnist-joint",
  description: "MNIST: a small clean set and a large shifted set (objectives: target, shifted)",
  optionsSchema: Schema.Struct({
    targetSize: size(defaultMnistJointOptions.targetSize),
    shiftedSize: size(defaultMnistJointOptions.shiftedSize),
    testSize: Schema.optionalWith(integerIn(1, 1000), { default: () => defaultMnistJointOptions.testSize }),
    hidden: Schema.optionalWith(integerIn(1, 1024), { default: () => defaultMnistJointOptions.hidden }),
    dataSeed: seedOption(defaultMnistJointOptions.dataSeed),
  }).pipe(
    Schema.filter((o) =>
      o.targetSize + o.shiftedSize <= 8000 || { path: ["shiftedSize"], message: `expected targetSize + shiftedSize ≤ 8000 (the training pool), got ${o.targetSize + o.shiftedSize}` },
    ),
  ),
  make: mnistJointProblem,
})
