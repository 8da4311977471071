/**
 * The events of a run and the summary it ends with. One stream of these feeds everything that
 * watches a run: the command line's progress and events log, the checkpoint writer, and the
 * callbacks of `trainPromise`.
 */
import type { MatMulKernelVariant } from "../core/packedMatMul.ts"
import type { Params } from "../dsl/objective.ts"
import type { ConstraintStatus } from "./constraints.ts"
import type { Divergence } from "./divergence.ts"

/** One training step: mini-batch losses by objective. */
export interface StepEvent {
  readonly _tag: "Step"
  /** 1-based step number. */
  readonly step: number
  readonly losses: Readonly<Record<string, number>>
  /** True when the step was skipped for a non-finite gradient (policy `skip`). */
  readonly skipped: boolean
  /** Milliseconds since the session started (its first step, or the resume). */
  readonly elapsedMs: number
  /** Milliseconds this step took. */
  readonly stepMs: number
  /** With `constrain(...)` in the structure: each constraint on this step's mini-batch losses, with the rule's multiplier after the step. */
  readonly constraints?: ReadonlyArray<ConstraintStatus>
}

/**
 * What a finished run reports. `O` names the declared objectives (`string` when the types do not
 * know them): `finalLosses` and `firstLosses` are keyed by them.
 */
export interface TrainingSummary<O extends string = string> {
  readonly rule: string
  readonly backend: string
  /**
   * The matrix-product kernel the run computed with (`matMulKernelVariant()`): `plain-simd` or
   * `relaxed-fma` (scalpel's packed wasm kernel; the relaxed one's bits depend on the CPU), or
   * `tfjs` (tfjs's own kernels).
   */
  readonly matMulKernel: MatMulKernelVariant
  readonly steps: number
  readonly skippedSteps: number
  /** Losses of the first step this session ran (its mini-batches), by objective. */
  readonly firstLosses: Readonly<Record<O, number>>
  /** Set when the run diverged (see `divergence.ts`): the objective, its first and final loss. */
  readonly divergence?: Divergence
  /**
   * Set when this session resumed a checkpoint written for a different spec because
   * `resumeWithChangedSpec` asked for it: the checkpoint and the first difference.
   */
  readonly resumedWithChangedSpec?: { readonly checkpoint: string; readonly difference: string }
  /** Each objective on its whole data set (or its deterministic value) at the end. */
  readonly finalLosses: Readonly<Record<O, number>>
  /**
   * Each `constrain(...)` of the structure at the end: its value on the final losses, its bound,
   * whether it holds, and the rule's multiplier where it keeps one (empty without constraints).
   */
  readonly constraints: ReadonlyArray<ConstraintStatus>
  /** The extra evaluation objectives (held-out losses, accuracies), same convention. */
  readonly evaluations: Readonly<Record<string, number>>
  readonly wallTimeMs: number
  /**
   * True when the run was stopped from outside (`TrainingOptions.signal` aborted) before its last
   * step: the summary and the parameters are those of the last completed step.
   */
  readonly interrupted: boolean
  /** Set when the run ended before its last step: why, and after which step. */
  readonly stopped?: { readonly reason: "earlyStopping" | "aborted"; readonly step: number }
  /** Set when early stopping restored the parameters of the best evaluation: its step and value. */
  readonly restoredBest?: { readonly step: number; readonly value: number }
  /** The learning-rate factor of the plateau schedule at the end (1 without one). */
  readonly learningRateFactor: number
}

/** The run ended; always the last event. */
export interface FinishedEvent {
  readonly _tag: "Finished"
  readonly summary: TrainingSummary
  /**
   * With `keepParameters: true` only: the trained parameters, which the consumer of this event
   * now owns and must dispose (except those the spec declared as existing variables, which stay
   * their owner's).
   */
  readonly parameters?: Params
}

/** A checkpoint of the state after `step` was written to `path`. */
export interface CheckpointEvent {
  readonly _tag: "Checkpoint"
  readonly step: number
  readonly path: string
}

/**
 * The run continues a checkpoint (`resumeFrom`); the first event of a resumed run. `specChange`
 * is set when the checkpoint was written for a different spec and `resumeWithChangedSpec`
 * allowed it (the first difference); `specUnverified` when the checkpoint predates spec records,
 * so that only the run's identity (rule, objectives, shapes, optimizer, seed, batch size) could be
 * checked.
 */
export interface ResumedEvent {
  readonly _tag: "Resumed"
  /** Steps completed in the checkpoint. */
  readonly step: number
  readonly path: string
  readonly specChange?: string
  readonly specUnverified?: true
}

/**
 * The validation objectives measured after `step` (`TrainingOptions.validation`), with the
 * monitored figure as early stopping and the plateau schedule see it.
 */
export interface EvaluationEvent {
  readonly _tag: "Evaluation"
  readonly step: number
  /** Epochs completed: step / steps per epoch (fractional between epoch ends). */
  readonly epoch: number
  /** Each validation objective on its whole data set, in inference mode. */
  readonly values: Readonly<Record<string, number>>
  readonly monitor: {
    readonly objective: string
    readonly value: number
    /** The best value so far (this one, when it improved) and its step. */
    readonly best: number
    readonly bestStep: number
    readonly improved: boolean
    /** Evaluations since the best one. */
    readonly sinceBest: number
  }
  /** The plateau schedule's multiplier of the learning rate from the next step on (1 without one). */
  readonly learningRateFactor: number
  /** Set when early stopping ends the run after this evaluation. */
  readonly stopping?: true
}

export type TrainingEvent = ResumedEvent | StepEvent | EvaluationEvent | CheckpointEvent | FinishedEvent

