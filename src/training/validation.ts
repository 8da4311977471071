/**
 * Validation during training: objectives measured on their whole data sets every N steps (or
 * epochs), one of them monitored for early stopping (`earlyStopping.ts`) and for reducing the
 * learning rate on a plateau (`plateau.ts`). Pure functions of the session state: the stream in
 * `train.ts` calls {@link evaluate} after a step and emits the {@link EvaluationEvent}.
 */
import { hostValues } from "../core/hostKernels.ts"
import { tf } from "../core/tf.ts"
import type { Objective } from "../dsl/objective.ts"
import type { RunContext } from "./context.ts"
import { type EarlyStopping, earlyStoppingProblem, type MonitorState, monitorStart, monitorUpdate } from "./earlyStopping.ts"
import { measureAll } from "./evaluation.ts"
import type { EvaluationEvent } from "./events.ts"
import { plateauProblem, type PlateauState, plateauStart, plateauUpdate, type ReduceOnPlateau } from "./plateau.ts"
import { stepsPerEpoch } from "./sampling.ts"
import type { SessionState } from "./sessionState.ts"

/** What to measure during training, and how often. */
export interface ValidationSettings {
  /** Objectives measured on their whole data sets (held-out losses, accuracies), in inference mode. */
  readonly objectives: ReadonlyArray<Objective<any>>
  /**
   * Every how many steps, or `{ epochs: k }`: every k epochs (an epoch is ⌈n / batchSize⌉ steps
   * for the largest data source's n). Default: every epoch. The last step is always evaluated.
   */
  readonly every?: number | { readonly epochs: number }
  /** The objective that early stopping and the plateau schedule watch (default: the first). */
  readonly monitor?: string
  /** `min` (default): lower is better, a loss; `max`: higher is better, an accuracy. */
  readonly mode?: "min" | "max"
}

/** The watchers' part of the session state: best evaluation, plateau schedule, best parameters. */
export interface WatchState {
  readonly monitor: MonitorState
  readonly plateau: PlateauState
  /** Host copies of the parameters at the best evaluation (with `earlyStopping.restoreBest`). */
  readonly bestParameters: Readonly<Record<string, Float32Array>> | undefined
  /** Set once early stopping asked the run to stop. */
  readonly stopRequested: boolean
}

export const watchStart: WatchState = { monitor: monitorStart, plateau: plateauStart, bestParameters: undefined, stopRequested: false }

/** The settings of the watchers, resolved. */
export interface Watchers {
  readonly validation: ValidationSettings
  /** Evaluate after every `interval` steps. */
  readonly interval: number
  readonly monitor: string
  readonly mode: "min" | "max"
  readonly earlyStopping: EarlyStopping | undefined
  readonly reduceOnPlateau: ReduceOnPlateau | undefined
}

/** Resolve and check the watchers' settings; a string names what is wrong. */
export const resolveWatchers = (
  ctx: Pick<RunContext, "sources" | "spec">,
  validation: ValidationSettings | undefined,
  earlyStopping: EarlyStopping | undefined,
  reduceOnPlateau: ReduceOnPlateau | undefined,
): Watchers | undefined | string => {
  if (validation === undefined) {
    if (earlyStopping !== undefined) return "earlyStopping needs validation objectives to watch (TrainingOptions.validation)"
    if (reduceOnPlateau !== undefined) return "reduceOnPlateau needs validation objectives to watch (TrainingOptions.validation)"
    return undefined
  }
  const first = validation.objectives[0]
  if (first === undefined) return "validation.objectives: expected at least one objective"
  const monitor = validation.monitor ?? first.name
  if (!validation.objectives.some((o) => o.name === monitor)) {
    return `validation.monitor: '${monitor}' is not one of the validation objectives (${validation.objectives.map((o) => `'${o.name}'`).join(", ")})`
  }
  const every = validation.every ?? { epochs: 1 }
  const count = typeof every === "number" ? every : every.epochs
  if (!(Number.isInteger(count) && count > 0)) {
    return `validation.every: expected a positive integer${typeof every === "number" ? "" : " of epochs"}, got ${count}`
  }
  const problem = (earlyStopping === undefined ? undefined : earlyStoppingProblem(earlyStopping)) ?? (reduceOnPlateau === undefined ? undefined : plateauProblem(reduceOnPlateau))
  if (problem !== undefined) return problem
  return {
    validation,
    interval: typeof every === "number" ? every : every.epochs * stepsPerEpoch(ctx.sources, ctx.spec.batchSize, ctx.spec.sampling),
    monitor,
    mode: validation.mode ?? "min",
    earlyStopping,
    reduceOnPlateau,
  }
}

/** Whether step `t` is followed by an evaluation. */
export const evaluationDue = (watchers: Watchers, t: number, steps: number): boolean => t % watchers.interval === 0 || t === steps

/**
 * Measure the validation objectives after step `t` and update the watchers: the evaluation's
 * event and the state after it.
 */
export const evaluate = (
  ctx: RunContext,
  watchers: Watchers,
  state: SessionState,
  t: number,
  chunk: number,
): { readonly event: EvaluationEvent; readonly state: SessionState } => {
  const values = measureAll(watchers.validation.objectives, ctx.variables, chunk)
  const value = values[watchers.monitor]!
  const watch = state.watch
  const minDelta = watchers.earlyStopping?.minDelta ?? 0
  const judged = monitorUpdate(watch.monitor, value, t, minDelta, watchers.mode, watchers.earlyStopping?.patience)
  const keepBest = watchers.earlyStopping !== undefined && watchers.earlyStopping.restoreBest !== false
  const bestParameters = keepBest && judged.improved ? hostCopy(ctx) : watch.bestParameters
  const plateau =
    watchers.reduceOnPlateau === undefined
      ? watch.plateau
      : plateauUpdate(watchers.reduceOnPlateau, watch.plateau, value, ctx.spec.optimizer.learningRate, watchers.mode)
  const next: WatchState = { monitor: judged.state, plateau, bestParameters, stopRequested: watch.stopRequested || judged.stop }
  const event: EvaluationEvent = {
    _tag: "Evaluation",
    step: t,
    epoch: t / stepsPerEpoch(ctx.sources, ctx.spec.batchSize, ctx.spec.sampling),
    values,
    monitor: {
      objective: watchers.monitor,
      value,
      best: judged.state.best ?? value,
      bestStep: judged.state.bestStep ?? t,
      improved: judged.improved,
      sinceBest: judged.state.wait,
    },
    learningRateFactor: plateau.factor,
    ...(judged.stop ? { stopping: true as const } : {}),
  }
  return { event, state: { ...state, watch: next } }
}

/** The parameters' values on the host. */
const hostCopy = (ctx: RunContext): Record<string, Float32Array> =>
  Object.fromEntries(ctx.names.map((name) => [name, Float32Array.from(hostValues(ctx.variables[name]!))]))

/** Assign the best parameters kept by {@link evaluate} back to the variables; the step they come from, or undefined when none were kept. */
export const restoreBest = (ctx: RunContext, state: SessionState): number | undefined => {
  const best = state.watch.bestParameters
  if (best === undefined || state.watch.monitor.bestStep === undefined) return undefined
  for (const name of ctx.names) {
    const variable = ctx.variables[name]!
    tf.tidy(() => variable.assign(tf.tensor(best[name]!, variable.shape, "float32")))
  }
  return state.watch.monitor.bestStep
}
