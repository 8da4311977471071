/**
 * The two digit-task problems that the generated glyphs (`glyphTasks.ts`) and the real MNIST digits
 * (`mnistTasks.ts`) both offer, built from labelled image tensors: multi-task learning with a
 * shared trunk and two heads, and joint training on a target and a shifted data set.
 */
import { tf, type Tensor } from "../core/tf.ts"
import { objective, type Params } from "../dsl/objective.ts"
import type { Problem } from "../dsl/problem.ts"
import { parametersWithPrefix, taskSpecific } from "../dsl/sharing.ts"
import { accuracy, crossEntropy, denseForward, denseParameters, type LabelledBatch, tensorDataSource } from "./classification.ts"

/** Images `x` ([n, pixels]) with one one-hot label tensor ([n, 10]) per task. */
export interface LabelledImages {
  readonly x: Tensor
  readonly labels: ReadonlyArray<Tensor>
}

/** A problem's `dispose`: releases every tensor of the given sets. */
export const releaseImages = (...sets: ReadonlyArray<LabelledImages>) => () => tf.dispose(sets.flatMap((s) => [s.x, ...s.labels]))

/**
 * Two tasks on shared features: a ReLU trunk `pixels → trunk` and two linear heads `trunk → 10`,
 * "main" for the digit (labels[0], objective `digit`) and "aux" for the overlaid digit (labels[1],
 * objective `overlay`); held-out losses of both and the main task's accuracy. Each task's loss reads
 * the trunk and its own head only; the training loop gives the other head its exact gradient, zero.
 * `sharing` declares the heads (`main.*` to `digit`, `aux.*` to `overlay`), so that
 * `withSharedParameters(rule, problem.sharing)` aggregates the trunk only.
 * The problem owns `train` and `test`. Data sources are named `${data}-train` and `${data}-test`.
 */
export const twoHeadProblem = (settings: {
  readonly name: string
  readonly description: string
  readonly data: string
  readonly pixels: number
  readonly trunk: number
  readonly train: LabelledImages
  readonly test: LabelledImages
}): Problem => {
  const { train, test, pixels, trunk } = settings
  const trainData = tensorDataSource(`${settings.data}-train`, train.x, train.labels)
  const testData = tensorDataSource(`${settings.data}-test`, test.x, test.labels)
  const features = (p: Params, b: LabelledBatch) => denseForward(p, "trunk", 1, b.x, true)
  const head = (task: 0 | 1) => (p: Params, b: LabelledBatch) => denseForward(p, task === 0 ? "main" : "aux", 1, features(p, b))
  const taskLoss = (task: 0 | 1) => (p: Params, b: LabelledBatch) => crossEntropy(head(task)(p, b), b.labels[task]!)
  return {
    name: settings.name,
    description: settings.description,
    parameters: { ...denseParameters("trunk", [pixels, trunk]), ...denseParameters("main", [trunk, 10]), ...denseParameters("aux", [trunk, 10]) },
    objectives: { digit: objective("digit", taskLoss(0), trainData), overlay: objective("overlay", taskLoss(1), trainData) },
    evaluations: [
      objective("digit:test", taskLoss(0), testData),
      objective("overlay:test", taskLoss(1), testData),
      objective("accuracy:test", (p, b: LabelledBatch) => accuracy(head(0)(p, b), b.labels[0]!), testData),
    ],
    references: {},
    sharing: taskSpecific({ digit: parametersWithPrefix("main."), overlay: parametersWithPrefix("aux.") }),
    dispose: releaseImages(train, test),
  }
}

/**
 * Joint training: one MLP `pixels → hidden → 10` (ReLU), the target set's cross-entropy as
 * objective `target`, the shifted set's as `shifted`; held-out losses of both and the accuracy on
 * the target's held-out set. The problem owns the four sets. Data sources are named
 * `${names.target}-train`, `${names.shifted}-test`, ...
 */
export const targetAndShiftedProblem = (settings: {
  readonly name: string
  readonly description: string
  readonly names: { readonly target: string; readonly shifted: string }
  readonly pixels: number
  readonly hidden: number
  readonly target: LabelledImages
  readonly shifted: LabelledImages
  readonly targetTest: LabelledImages
  readonly shiftedTest: LabelledImages
}): Problem => {
  const { names, target, shifted, targetTest, shiftedTest } = settings
  const logits = (p: Params, b: LabelledBatch) => denseForward(p, "net", 2, b.x)
  const loss = (p: Params, b: LabelledBatch) => crossEntropy(logits(p, b), b.labels[0]!)
  const targetTestData = tensorDataSource(`${names.target}-test`, targetTest.x, targetTest.labels)
  return {
    name: settings.name,
    description: settings.description,
    parameters: denseParameters("net", [settings.pixels, settings.hidden, 10]),
    objectives: {
      target: objective("target", loss, tensorDataSource(`${names.target}-train`, target.x, target.labels)),
      shifted: objective("shifted", loss, tensorDataSource(`${names.shifted}-train`, shifted.x, shifted.labels)),
    },
    evaluations: [
      objective("target:test", loss, targetTestData),
      objective("shifted:test", loss, tensorDataSource(`${names.shifted}-test`, shiftedTest.x, shiftedTest.labels)),
      objective("accuracy:test", (p, b: LabelledBatch) => accuracy(logits(p, b), b.labels[0]!), targetTestData),
    ],
    references: {},
    dispose: releaseImages(target, shifted, targetTest, shiftedTest),
  }
}
