/**
 * The typed errors a training run fails with once it has a spec and an update rule (the
 * zero-gradient check has its own module, `zeroGradient.ts`).
 */
import { Data, Effect, Option } from "effect"
import type { Scalar, Tensor } from "../core/tf.ts"
import type { SpecError } from "../dsl/errors.ts"
import type { CheckpointError } from "./checkpointFormat.ts"
import type { ConstraintViolated } from "./constraints.ts"
import type { GradientWorkerError } from "./parallel/protocol.ts"
import type { SpecChangedOnResume } from "./specRecord.ts"
import type { ZeroGradient } from "./zeroGradient.ts"

/** A gradient or loss was NaN or infinite and the spec's policy is `fail`. */
export class NonFiniteGradient extends Data.TaggedError("NonFiniteGradient")<{
  readonly objective: string
  readonly step: number
}> {
  override get message(): string {
    // Finite up to this step, then not: almost always a run that diverged, which skipping steps
    // would not cure. At step 1 the loss itself (or the data) is the usual cause.
    return this.step > 1
      ? `non-finite gradient or loss for objective '${this.objective}' at step ${this.step}, after ${this.step - 1} finite steps: the run diverged; lower the learning rate (nonFinite: "skip" only skips such steps)`
      : `non-finite gradient or loss for objective '${this.objective}' at step 1: check the loss and its data (or set nonFinite: "skip" to skip such steps)`
  }
}

/**
 * Every loss and gradient of a step was finite, but applying the step would make a parameter
 * NaN or infinite: the step itself overflowed float32 (a learning rate far too large, or a
 * direction of enormous norm). The parameters keep their values from before the step.
 */
export class NonFiniteUpdate extends Data.TaggedError("NonFiniteUpdate")<{
  readonly parameter: string
  readonly step: number
  /** The optimizer, as `sgd, learningRate 0.1`. */
  readonly optimizer: string
}> {
  /** The cause, without advice on the policy (shared with {@link TooManySkippedSteps}). */
  get cause_(): string {
    return `the update of step ${this.step} would make parameter '${this.parameter}' non-finite although every loss and gradient was finite: the step overflowed float32 (optimizer ${this.optimizer}); lower the learning rate`
  }
  override get message(): string {
    return `${this.cause_}. The parameters keep their values from before the step.`
  }
}

/**
 * Policy `skip` skipped `limit` steps in a row: a run that skips every step makes no progress, and
 * carrying on would end with the parameters it started from and a table of NaN.
 */
export class TooManySkippedSteps extends Data.TaggedError("TooManySkippedSteps")<{
  readonly first: number
  readonly last: number
  readonly limit: number
  /** Why the last one was skipped. */
  readonly reason: string
}> {
  override get message(): string {
    return `steps ${this.first} to ${this.last} were all skipped (${this.limit} in a row, the limit): the run makes no progress. The last one because ${this.reason}.`
  }
}

/** Steps that policy `skip` may skip in a row before the run stops (TrainingOptions.maxConsecutiveSkips). */
export const defaultMaxConsecutiveSkips = 100

/** The update rule reads an objective the spec does not declare. */
export class MissingObjective extends Data.TaggedError("MissingObjective")<{
  readonly objective: string
  readonly rule: string
}> {
  override get message(): string {
    return `rule '${this.rule}' reads objective '${this.objective}', which the spec does not declare`
  }
}

/** A loss returned a tensor that is not rank 0 (a loss must be one number: a mean, a sum). */
export class LossNotScalar extends Data.TaggedError("LossNotScalar")<{
  readonly objective: string
  readonly rank: number
  readonly shape: ReadonlyArray<number>
}> {
  override get message(): string {
    return `objective '${this.objective}' returned a tensor of rank ${this.rank} (shape [${this.shape.join(", ")}]); a loss must be a rank-0 tensor (reduce it with tf.mean or tf.sum)`
  }
}

/** Check that a loss's value is rank 0; throws {@link LossNotScalar} otherwise (caught where the loop turns it into a failure). */
export const scalarLoss = (objective: string, value: Tensor): Scalar => {
  if (value.rank !== 0) throw new LossNotScalar({ objective, rank: value.rank, shape: [...value.shape] })
  return value as Scalar
}

/** Turn a {@link LossNotScalar} thrown inside `effect` (from tensor code) into its typed failure. */
export const lossShapeAsFailure = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | LossNotScalar, R> =>
  Effect.catchSomeDefect(effect, (defect) => (defect instanceof LossNotScalar ? Option.some(Effect.fail(defect)) : Option.none()))

/** A training option that cannot work (validation, early stopping, plateau schedule), with the field named. */
export class InvalidTrainingOptions extends Data.TaggedError("InvalidTrainingOptions")<{
  readonly problem: string
}> {
  override get message(): string {
    return `invalid training options: ${this.problem}`
  }
}

/**
 * A callback of `train`/`trainPromise` (`onStep`, `onEvaluation`, `onEvent`) threw or rejected;
 * the run stopped there (a configured checkpoint holds its last completed step).
 */
export class CallbackFailed extends Data.TaggedError("CallbackFailed")<{
  readonly callback: string
  readonly step: number | undefined
  readonly reason: unknown
}> {
  override get message(): string {
    const reason = this.reason instanceof Error ? this.reason.message : String(this.reason)
    return `callback ${this.callback} failed${this.step === undefined ? "" : ` at step ${this.step}`}: ${reason}`
  }
}

/** Everything a run can fail with, once it has a spec and an update rule. */
export type TrainingError =
  | NonFiniteGradient
  | NonFiniteUpdate
  | TooManySkippedSteps
  | ZeroGradient
  | MissingObjective
  | CheckpointError
  | SpecChangedOnResume
  | SpecError
  | GradientWorkerError
  | InvalidTrainingOptions
  | CallbackFailed
  | LossNotScalar
  | ConstraintViolated
