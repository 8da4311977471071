/**
 * The state of a training session between two steps, as one value: everything that changes from
 * step to step and everything a checkpoint holds, apart from the parameters themselves (which are
 * the session's `tf.Variable`s, assigned in place). A step takes a state and returns the next one
 * (`step.ts`); the session keeps the current one; a checkpoint is a host copy of it.
 */
import { disposeOptimizerState, type Optimizer, type OptimizerState } from "../core/optimizers.ts"
import type { Layout } from "../core/paramVector.ts"
import { type RandomState, seedState } from "../core/random.ts"
import type { RuleStart, RuleState, UpdateRule } from "../interpreters/interpreter.ts"
import { disposeReplaced } from "./tensors.ts"
import { type WatchState, watchStart } from "./validation.ts"

export interface SessionState {
  /** The update rule's state (tensors owned by this value). */
  readonly ruleState: RuleState
  /** The optimizer's state (tensors owned by this value). */
  readonly optimizerState: OptimizerState
  /** The generator mini-batch indices are drawn from. */
  readonly rng: RandomState
  /** Steps completed so far, including those restored from a checkpoint. */
  readonly completed: number
  /** Steps skipped so far (policy `skip`). */
  readonly skipped: number
  /** Steps skipped in a row up to the last completed one, and why the last was skipped. */
  readonly streak: { readonly count: number; readonly reason: string }
  /** Losses of the first step this session applied, once there is one. */
  readonly firstLosses: Readonly<Record<string, number>> | undefined
  /** Objectives whose gradient was exactly zero at step 1 although the loss reads the parameters (see `zeroGradient.ts`). */
  readonly zeroSuspects: ReadonlySet<string>
  /** Validation, early stopping and the plateau schedule (see `validation.ts`); its `plateau.factor` scales every step. */
  readonly watch: WatchState
}

/**
 * The state before step 1: fresh rule and optimizer states (the rule may read the initial
 * parameters, `RuleStart`), the data generator seeded from `seed + 1`.
 */
export const initialState = (rule: UpdateRule<any>, optimizer: Optimizer, layout: Layout, seed: number, start?: RuleStart): SessionState => ({
  ruleState: rule.init(layout, start),
  optimizerState: optimizer.init(layout),
  rng: seedState(seed + 1),
  completed: 0,
  skipped: 0,
  streak: { count: 0, reason: "" },
  firstLosses: undefined,
  zeroSuspects: new Set(),
  watch: watchStart,
})

/** Release the tensors of a state. */
export const disposeState = (state: SessionState): void => {
  disposeReplaced(state.ruleState, undefined)
  disposeOptimizerState(state.optimizerState)
}

/** The state after step `t` was skipped for `reason`. */
export const skippedStep = (state: SessionState, t: number, reason: string): SessionState => ({
  ...state,
  completed: t,
  skipped: state.skipped + 1,
  streak: { count: state.streak.count + 1, reason },
})
