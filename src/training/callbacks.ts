/**
 * The callbacks of `train` and `trainPromise`, and the loss history of the result: both are
 * consumers of the run's event stream, like the command line's events log and the checkpoint
 * writer, so what a callback sees is exactly what the stream carries.
 */
import { Effect } from "effect"
import { CallbackFailed } from "./errors.ts"
import type { EvaluationEvent, StepEvent, TrainingEvent } from "./events.ts"

/** Functions called as the run goes; a returned promise is awaited before the run goes on. */
export interface TrainingCallbacks {
  /** After every step, with its mini-batch losses. */
  readonly onStep?: (event: StepEvent) => void | PromiseLike<void>
  /** After every validation (`TrainingOptions.validation`). */
  readonly onEvaluation?: (event: EvaluationEvent) => void | PromiseLike<void>
  /** Every event, in order (steps, evaluations, checkpoints, the resume, the end). */
  readonly onEvent?: (event: TrainingEvent) => void | PromiseLike<void>
}

/** What a run did, step by step: in the result of `train` and `trainPromise`. */
export interface TrainingHistory<O extends string = string> {
  /** Every step this session ran: its number, mini-batch losses by objective, and whether it was skipped. */
  readonly steps: ReadonlyArray<{ readonly step: number; readonly losses: Readonly<Record<O, number>>; readonly skipped: boolean }>
  /** Every validation, in order. */
  readonly evaluations: ReadonlyArray<EvaluationEvent>
}

const call = (name: string, step: number | undefined, f: () => void | PromiseLike<void>): Effect.Effect<void, CallbackFailed> =>
  Effect.flatMap(
    Effect.try({ try: f, catch: (reason) => new CallbackFailed({ callback: name, step, reason }) }),
    (returned) =>
      returned !== undefined && returned !== null && typeof (returned as PromiseLike<void>).then === "function"
        ? Effect.tryPromise({ try: () => Promise.resolve(returned), catch: (reason) => new CallbackFailed({ callback: name, step, reason }) })
        : Effect.void,
  )

const stepOf = (event: TrainingEvent): number | undefined => ("step" in event ? event.step : undefined)

/** The callbacks that `event` calls, in order: the specific one, then `onEvent`. */
export const runCallbacks = (callbacks: TrainingCallbacks, event: TrainingEvent): Effect.Effect<void, CallbackFailed> => {
  const specific =
    event._tag === "Step" && callbacks.onStep !== undefined
      ? call("onStep", event.step, () => callbacks.onStep!(event))
      : event._tag === "Evaluation" && callbacks.onEvaluation !== undefined
        ? call("onEvaluation", event.step, () => callbacks.onEvaluation!(event))
        : Effect.void
  return callbacks.onEvent === undefined ? specific : Effect.zipRight(specific, call("onEvent", stepOf(event), () => callbacks.onEvent!(event)))
}

/** A history being collected from the events; `record` adds one, `history` reads it. */
export const historyRecorder = () => {
  const steps: Array<TrainingHistory["steps"][number]> = []
  const evaluations: Array<EvaluationEvent> = []
  return {
    record: (event: TrainingEvent): void => {
      if (event._tag === "Step") steps.push({ step: event.step, losses: event.losses, skipped: event.skipped })
      else if (event._tag === "Evaluation") evaluations.push(event)
    },
    history: (): TrainingHistory => ({ steps, evaluations }),
  }
}
