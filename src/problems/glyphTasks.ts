/**
 * Two small problems on generated digit images (see `glyphs.ts`), in the catalogue for specs and
 * tests that need a digit task without the MNIST data (the experiment families that used them were
 * replaced by the MNIST families of docs/experiments.md).
 *
 * `glyph-multitask` (after the paper's §5.3 Cifar10Mnist): every image holds a bright digit and a
 *     dim overlaid digit; a shared trunk feeds two heads, the main task reads the bright digit and
 *     the auxiliary task the dim one. The trunk is narrow on purpose, so the two tasks compete for
 *     its units.
 * `glyph-joint` (after §5.4): main = a small training set from the distribution we care about;
 *     auxiliary = a larger training set from a shifted distribution (bold strokes with gaps and
 *     pixel noise, skewed class frequencies, 15% wrong labels). Held-out data of both
 *     distributions measure generalisation.
 */
import { Schema } from "effect"
import { tf } from "../core/tf.ts"
import type { Problem } from "../dsl/problem.ts"
import { integerIn, oneHotLabels } from "./classification.ts"
import { type LabelledImages, targetAndShiftedProblem, twoHeadProblem } from "./digitTasks.ts"
import { generateGlyphs, type GlyphData, type GlyphStyle, pixels } from "./glyphs.ts"
import { problemFactory } from "./problemFactory.ts"

const tensorsOf = (data: GlyphData): LabelledImages => ({
  x: tf.tensor2d(data.images, [data.count, pixels]),
  labels: data.labels.map((l) => oneHotLabels(l, 10)),
})

export interface MultiTaskOptions {
  readonly trainSize: number
  readonly testSize: number
  /** Units of the shared trunk. */
  readonly trunk: number
  readonly dataSeed: number
}

export const defaultMultiTaskOptions: MultiTaskOptions = { trainSize: 3000, testSize: 1000, trunk: 24, dataSeed: 11 }

/** The style of the overlaid images of `glyph-multitask`. */
export const overlaidStyle: GlyphStyle = {
  intensity: [0.7, 1],
  dropout: 0.1,
  bold: false,
  noise: 0.15,
  maxOffset: [2, 2],
  labelNoise: 0,
  overlay: { intensity: [0.4, 0.6] },
}

/** `glyph-multitask`: main = the bright digit, auxiliary = the overlaid dim digit, one shared trunk. */
export const multiTaskProblem = (options: Partial<MultiTaskOptions> = {}): Problem => {
  const { trainSize, testSize, trunk, dataSeed } = { ...defaultMultiTaskOptions, ...options }
  return twoHeadProblem({
    name: "glyph-multitask",
    description: `overlaid digits (${trainSize} training images, ${testSize} held out): trunk ${pixels}→${trunk}, heads ${trunk}→10 (bright digit: main, dim digit: auxiliary)`,
    data: "overlaid",
    pixels,
    trunk,
    train: tensorsOf(generateGlyphs(trainSize, overlaidStyle, dataSeed)),
    test: tensorsOf(generateGlyphs(testSize, overlaidStyle, dataSeed + 1)),
  })
}

export interface JointOptions {
  /** Training images of the distribution we care about. */
  readonly targetSize: number
  /** Training images of the shifted distribution. */
  readonly shiftedSize: number
  readonly testSize: number
  readonly hidden: number
  readonly dataSeed: number
}

export const defaultJointOptions: JointOptions = { targetSize: 200, shiftedSize: 3000, testSize: 1000, hidden: 64, dataSeed: 21 }

/** The distribution we care about in `glyph-joint`: thin strokes, anywhere in a 3×3 range of offsets. */
export const targetStyle: GlyphStyle = {
  intensity: [0.6, 1],
  dropout: 0.1,
  bold: false,
  noise: 0.1,
  maxOffset: [2, 2],
  labelNoise: 0,
}

/** The shifted distribution of `glyph-joint`: bold, broken and noisy strokes in a 2×2 range of offsets, skewed classes, 15% wrong labels. */
export const shiftedStyle: GlyphStyle = {
  intensity: [0.8, 1],
  dropout: 0.3,
  bold: true,
  noise: 0.3,
  maxOffset: [1, 1],
  classWeights: [3, 3, 2, 2, 1, 1, 1, 1, 0.5, 0.5],
  labelNoise: 0.15,
}

/** `glyph-joint`: main = cross-entropy on a small target set, auxiliary = on a larger shifted set. */
export const jointProblem = (options: Partial<JointOptions> = {}): Problem => {
  const { targetSize, shiftedSize, testSize, hidden, dataSeed } = { ...defaultJointOptions, ...options }
  return targetAndShiftedProblem({
    name: "glyph-joint",
    description: `digits: ${targetSize} target images (main) + ${shiftedSize} shifted images (auxiliary), MLP ${pixels}→${hidden}→10, ${testSize} held out of each`,
    names: { target: "target", shifted: "shifted" },
    pixels,
    hidden,
    target: tensorsOf(generateGlyphs(targetSize, targetStyle, dataSeed)),
    shifted: tensorsOf(generateGlyphs(shiftedSize, shiftedStyle, dataSeed + 1)),
    targetTest: tensorsOf(generateGlyphs(testSize, targetStyle, dataSeed + 2)),
    shiftedTest: tensorsOf(generateGlyphs(testSize, shiftedStyle, dataSeed + 3)),
  })
}

const seedOption = integerIn(0, 2 ** 31 - 1)

/** `glyph-multitask` in spec files. */
export const multiTaskFactory = problemFactory({
  name: "glyph-multitask",
  description: "overlaid generated digits, shared trunk and two heads (objectives: digit, overlay)",
  optionsSchema: Schema.Struct({
    trainSize: Schema.optionalWith(integerIn(1, 100_000), { default: () => defaultMultiTaskOptions.trainSize }),
    testSize: Schema.optionalWith(integerIn(1, 100_000), { default: () => defaultMultiTaskOptions.testSize }),
    trunk: Schema.optionalWith(integerIn(1, 1024), { default: () => defaultMultiTaskOptions.trunk }),
    dataSeed: Schema.optionalWith(seedOption, { default: () => defaultMultiTaskOptions.dataSeed }),
  }),
  make: multiTaskProblem,
})

/** `glyph-joint` in spec files. */
export const jointFactory = problemFactory({
  name: "glyph-joint",
  description: "generated digits: a small target set and a larger shifted set (objectives: target, shifted)",
  optionsSchema: Schema.Struct({
    targetSize: Schema.optionalWith(integerIn(1, 100_000), { default: () => defaultJointOptions.targetSize }),
    shiftedSize: Schema.optionalWith(integerIn(1, 100_000), { default: () => defaultJointOptions.shiftedSize }),
    testSize: Schema.optionalWith(integerIn(1, 100_000), { default: () => defaultJointOptions.testSize }),
    hidden: Schema.optionalWith(integerIn(1, 1024), { default: () => defaultJointOptions.hidden }),
    dataSeed: Schema.optionalWith(seedOption, { default: () => defaultJointOptions.dataSeed }),
  }),
  make: jointProblem,
})
