/** Options of a run that are not part of its declaration. */
import type { Objective } from "../dsl/objective.ts"
import type { CheckpointSettings } from "./checkpoint.ts"
import { defaultMaxConsecutiveSkips } from "./errors.ts"
import type { GradientWorkers } from "./parallel/protocol.ts"
import type { EarlyStopping } from "./earlyStopping.ts"
import type { ReduceOnPlateau } from "./plateau.ts"
import type { ValidationSettings } from "./validation.ts"
import type { ZeroGradientPolicy } from "./zeroGradient.ts"

/** Options of a run that are not part of the declaration. */
export interface TrainingOptions {
  /** Objectives measured at the end only (held-out loss, accuracy). */
  readonly evaluations?: ReadonlyArray<Objective<any>>
  /** Examples per chunk when measuring a loss on a whole data set (default 4096). */
  readonly evaluationChunk?: number
  /**
   * Write a checkpoint every `every` steps, after the last step, and when the run is interrupted
   * (Ctrl-C under `NodeRuntime.runMain` interrupts the stream; its finalizer writes the state of
   * the last completed step) or its consumer stops reading early (`Stream.take`). A step's event
   * is emitted before that step's checkpoint is written.
   */
  readonly checkpoint?: CheckpointSettings
  /**
   * Continue the run saved in this checkpoint file: parameters, rule and optimizer states, the
   * data-sampling generator and the step counter are restored, so the remaining steps give
   * bit-identical parameters to an uninterrupted run on the same backend.
   */
  readonly resumeFrom?: string
  /**
   * The whole declaration of the run as a JSON value, recorded (with its SHA-256 digest) in every
   * checkpoint; a resume whose declaration differs is refused with {@link SpecChangedOnResume},
   * naming the first differing field. Default: a description derived from the spec and the rule
   * (rule name, objectives, structure with its weights, λ and bounds, parameter shapes, data set
   * sizes, optimizer, seed, batch size, non-finite policy). Pass more when the run depends on more:
   * `scalpel run` passes the resolved spec document (the problem's options, the method's decoded
   * options). The step count is never part of it, so a finished run can be extended.
   */
  readonly declaration?: unknown
  /**
   * Resume from a checkpoint written for a different declaration anyway (the run then mixes two
   * specs). The first difference is reported in the {@link ResumedEvent} and in
   * `TrainingSummary.resumedWithChangedSpec`. Shapes must still fit.
   */
  readonly resumeWithChangedSpec?: boolean
  /**
   * Under policy `skip`, stop with {@link TooManySkippedSteps} after this many skipped steps in a
   * row (default {@link defaultMaxConsecutiveSkips}).
   */
  readonly maxConsecutiveSkips?: number
  /**
   * What to do when an objective's gradient is exactly zero for every parameter at the start of
   * the run (see {@link ZeroGradient} for when exactly): `"warn"` (default) logs a warning that
   * names the objective and the likely cause, `"fail"` fails with {@link ZeroGradient},
   * `"ignore"` does nothing.
   */
  readonly zeroGradient?: ZeroGradientPolicy
  /**
   * Hand the trained parameters to the {@link FinishedEvent} instead of disposing them (the
   * event's consumer then owns them). `train` always does.
   */
  readonly keepParameters?: boolean
  /**
   * Compute each step's gradients on several threads (Node: `gradientWorkers(N, recipe)` from
   * `scalpel/node`): the mini-batch is split into N contiguous shares, computed at the same time,
   * and combined weighted by their sizes, so gradients equal the one-thread gradients up to the
   * order of float32 summation; a given N is bit-for-bit deterministic. Losses must be means over
   * the batch's examples (as the full-data losses already assume).
   */
  readonly workers?: GradientWorkers
  /**
   * Objectives measured on their whole data sets during training, every N steps or epochs (an
   * `EvaluationEvent` each); one of them is monitored by `earlyStopping` and `reduceOnPlateau`.
   */
  readonly validation?: ValidationSettings
  /** Stop when the monitored validation figure has not improved for `patience` evaluations (Keras `EarlyStopping`). */
  readonly earlyStopping?: EarlyStopping
  /** Reduce the learning rate when the monitored validation figure stalls (Keras `ReduceLROnPlateau`, see `plateau.ts`). */
  readonly reduceOnPlateau?: ReduceOnPlateau
  /**
   * Stop the run from outside: checked before every step, the run then ends cleanly with the
   * state of its last completed step (a checkpoint is written when configured), and the summary
   * says `interrupted: true`.
   */
  readonly signal?: AbortSignal
  /**
   * Fail with `ConstraintViolated` when a `constrain(...)` bound does not hold at the end (on the
   * final full-data losses). Default false: a violated bound is logged as a warning.
   */
  readonly strictConstraints?: boolean
}
