/**
 * Stop training when a validation figure stops improving: Keras's `EarlyStopping`
 * (keras.io/api/callbacks/early_stopping), as a pure state machine driven by the run's
 * evaluations. An evaluation improves when its value beats the best so far by more than
 * `minDelta`; after `patience` evaluations in a row without improvement the run stops. With
 * `restoreBest` (the default here, unlike Keras) the run ends with the parameters of its best
 * evaluation.
 */
import { improves } from "./plateau.ts"

export interface EarlyStopping {
  /** Evaluations without improvement before the run stops. */
  readonly patience: number
  /** Smallest change that counts as an improvement (default 0). */
  readonly minDelta?: number
  /** End with the parameters of the best evaluation (default true). */
  readonly restoreBest?: boolean
}

/** The best evaluation so far, and evaluations since it. */
export interface MonitorState {
  readonly best: number | undefined
  readonly bestStep: number | undefined
  readonly wait: number
}

export const monitorStart: MonitorState = { best: undefined, bestStep: undefined, wait: 0 }

/** Refuse settings that cannot work; undefined when they are fine. */
export const earlyStoppingProblem = (settings: EarlyStopping): string | undefined => {
  if (!(Number.isInteger(settings.patience) && settings.patience >= 1)) return `earlyStopping.patience: expected a positive integer, got ${settings.patience}`
  if (!((settings.minDelta ?? 0) >= 0)) return `earlyStopping.minDelta: expected a non-negative number, got ${settings.minDelta}`
  return undefined
}

/** The state after evaluating `value` at `step`, whether it improved, and whether to stop. */
export const monitorUpdate = (
  state: MonitorState,
  value: number,
  step: number,
  minDelta: number,
  mode: "min" | "max",
  patience: number | undefined,
): { readonly state: MonitorState; readonly improved: boolean; readonly stop: boolean } => {
  if (Number.isFinite(value) && (state.best === undefined || improves(value, state.best, minDelta, mode))) {
    return { state: { best: value, bestStep: step, wait: 0 }, improved: true, stop: false }
  }
  const wait = state.wait + 1
  return { state: { ...state, wait }, improved: false, stop: patience !== undefined && wait >= patience }
}
