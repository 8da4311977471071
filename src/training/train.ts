/**
 * The training loop: draw batches, compute one gradient per objective, ask the update rule for a
 * direction, apply it with the optimizer, and emit an event. Progress bars, logs, checkpoints and
 * reports consume the event stream; none of them lives in the loop.
 *
 * This module composes the loop from its parts, each a module of its own (see
 * docs/architecture.md, "The training loop's modules"): the session (`session.ts`) holds the
 * fixed context and the current {@link SessionState}; one step is `runStep` (`step.ts`), a
 * function from one state to the next; `checkpointPolicy.ts` says when checkpoints are written
 * and what they hold; `resume.ts` restores one; `summary.ts` measures the end.
 */
import { Effect, Either, Exit, Option, Stream } from "effect"
import { tf } from "../core/tf.ts"
import type { Params } from "../dsl/objective.ts"
import type { SpecError } from "../dsl/errors.ts"
import { makeSpec, type ParameterDeclarations, type ParameterNames, type Spec, type SpecInput } from "../dsl/spec.ts"
import type { ObjectiveNamesOf, Structure } from "../dsl/structure.ts"
import type { UpdateRule } from "../interpreters/interpreter.ts"
import { lowerMethod, type LoweringError, type MethodLike } from "../interpreters/method.ts"
import type { InterpreterRegistry } from "../interpreters/registry.ts"
import { readCheckpoint } from "./checkpoint.ts"
import { checkpointDue, checkpointNow, checkSettings } from "./checkpointPolicy.ts"
import { defaultMaxConsecutiveSkips, InvalidTrainingOptions, lossShapeAsFailure, type TrainingError, TooManySkippedSteps } from "./errors.ts"
import type { TrainingEvent, TrainingSummary } from "./events.ts"
import { makeEventLoopTurn } from "./eventLoop.ts"
import { openGradientWorkers } from "./gradientWorkers.ts"
import type { TrainingOptions } from "./options.ts"
import { isBound } from "./parameters.ts"
import { openSession } from "./session.ts"
import { batchSizeProblem } from "./sizeLimits.ts"
import { historyRecorder, runCallbacks, type TrainingCallbacks, type TrainingHistory } from "./callbacks.ts"
import { progressDisplay, standardError } from "./progress.ts"
import { runStep } from "./step.ts"
import { summarize } from "./summary.ts"
import { ConstraintViolated } from "./constraints.ts"
import { evaluate, evaluationDue, resolveWatchers, restoreBest } from "./validation.ts"

export {
  CallbackFailed,
  defaultMaxConsecutiveSkips,
  InvalidTrainingOptions,
  LossNotScalar,
  MissingObjective,
  NonFiniteGradient,
  NonFiniteUpdate,
  TooManySkippedSteps,
  type TrainingError,
} from "./errors.ts"
export * from "./events.ts"
export * from "./options.ts"
export { fullDataLoss } from "./evaluation.ts"
export { lossAndGradients } from "./gradients.ts"
export { combineAndApply } from "./step.ts"
export { ZeroGradient, type ZeroGradientPolicy } from "./zeroGradient.ts"
export type { TrainingCallbacks, TrainingHistory } from "./callbacks.ts"
export { ConstraintViolated, type ConstraintStatus } from "./constraints.ts"
export type { EarlyStopping } from "./earlyStopping.ts"
export { plateauStart, plateauUpdate, type PlateauState, type ReduceOnPlateau } from "./plateau.ts"
export type { ValidationSettings } from "./validation.ts"

/**
 * The events of training `spec` with `rule`: one {@link StepEvent} per step (from the step after
 * the checkpoint when resuming), a {@link CheckpointEvent} after each checkpoint write, then one
 * {@link FinishedEvent}. Variables and states are a scoped resource, released when the stream
 * ends, fails or is interrupted; on interruption, a run with `checkpoint` settings first writes
 * the state of its last completed step.
 */
export const trainingEvents = (
  spec: Spec,
  rule: UpdateRule<any>,
  options: TrainingOptions = {},
): Stream.Stream<TrainingEvent, TrainingError> =>
  Stream.unwrapScoped(
    Effect.gen(function* () {
      const tooLarge = batchSizeProblem(spec)
      if (tooLarge !== undefined) return yield* tooLarge
      const settings = options.checkpoint
      yield* checkSettings(settings)
      const resume =
        options.resumeFrom === undefined ? undefined : { path: options.resumeFrom, contents: yield* readCheckpoint(options.resumeFrom) }
      let lastWritten = resume?.contents.step ?? -1
      const pool = yield* openGradientWorkers(spec, rule, options.workers)
      const session = yield* Effect.acquireRelease(openSession(spec, rule, options, resume, pool), (s, exit) =>
        Effect.zipRight(
          // Interrupted (Ctrl-C), or ended by its consumer before the last step (Stream.take):
          // the state of the last completed step is saved. A run that failed is not.
          settings !== undefined && (Exit.isInterrupted(exit) || Exit.isSuccess(exit)) && s.state().completed !== lastWritten
            ? checkpointNow(s.ctx, s.state(), settings).pipe(
                Effect.tap((e) => (Exit.isInterrupted(exit) ? Effect.logInfo(`interrupted: wrote checkpoint of step ${e.step} to ${e.path}`) : Effect.void)),
                Effect.catchAll((e) => Effect.logError(`interrupted: could not write the final checkpoint: ${e.message}`)),
              )
            : Effect.void,
          Effect.sync(s.dispose),
        ),
      )
      const watchers = resolveWatchers(session.ctx, options.validation, options.earlyStopping, options.reduceOnPlateau)
      if (typeof watchers === "string") return yield* new InvalidTrainingOptions({ problem: watchers })
      const maxSkips = options.maxConsecutiveSkips ?? defaultMaxConsecutiveSkips
      const chunk = options.evaluationChunk ?? 4096
      /** The checkpoint due after step `t`, if any, as a one-event stream. */
      const checkpointAfter = (t: number): Stream.Stream<TrainingEvent, TrainingError> =>
        checkpointDue(settings, t, spec.steps)
          ? Stream.fromEffect(
              Effect.suspend(() =>
                Effect.map(checkpointNow(session.ctx, session.state(), settings), (written) => {
                  lastWritten = written.step
                  return written
                }),
              ),
            )
          : Stream.empty
      /** The evaluation due after step `t`, if any: measured, the watchers updated, as a one-event stream. */
      const evaluationAfter = (t: number): Stream.Stream<TrainingEvent, TrainingError> =>
        watchers !== undefined && evaluationDue(watchers, t, spec.steps)
          ? Stream.fromEffect(
              lossShapeAsFailure(Effect.sync(() => {
                const evaluated = evaluate(session.ctx, watchers, session.state(), t, chunk)
                session.advance(evaluated.state)
                return evaluated.event
              })),
            )
          : Stream.empty
      /** Why the run stops before its next step, once it does (an aborted signal, early stopping). */
      let stopped: TrainingSummary["stopped"]
      const stopsNow = (): boolean => {
        if (stopped !== undefined) return true
        const state = session.state()
        const reason = options.signal?.aborted === true ? "aborted" : state.watch.stopRequested ? "earlyStopping" : undefined
        if (reason !== undefined) stopped = { reason, step: state.completed }
        return reason !== undefined
      }
      const eventLoopTurn = makeEventLoopTurn()
      /**
       * The step's event, its evaluation, its checkpoint, then a failure when it was the last
       * skip allowed in a row. The event loop's turn (where a Ctrl-C or an abort is seen) comes
       * before the step, and the event is handed on before the checkpoint is written: an
       * interruption can then never fall between a completed step and its event, so the consumer
       * (the events log) has every step that the final checkpoint holds.
       */
      const stepStream = (t: number): Stream.Stream<TrainingEvent, TrainingError> =>
        Stream.unwrap(
          Effect.zipRight(
            eventLoopTurn,
            // Read the state when the step runs, not when its stream is built.
            Effect.sync((): Stream.Stream<TrainingEvent, TrainingError> => {
              if (stopsNow()) return Stream.empty
              const stepped = Effect.map(runStep(session.ctx, session.state(), t, session.startedAt), (outcome) => {
                session.advance(outcome.state)
                return outcome.event
              })
              return Stream.flatMap(Stream.fromEffect(stepped), (event) => {
                const streak = session.state().streak
                const events = Stream.concat(Stream.concat(Stream.make<[TrainingEvent]>(event), evaluationAfter(t)), checkpointAfter(t))
                return streak.count < maxSkips
                  ? events
                  : Stream.concat(events, Stream.fail(new TooManySkippedSteps({ first: t - streak.count + 1, last: t, limit: maxSkips, reason: streak.reason })))
              })
            }),
          ),
        )
      const first = session.state().completed + 1
      const steps = Stream.unfold(first, (t) => (t <= spec.steps && stopped === undefined ? Option.some([t, t + 1] as const) : Option.none()))
      return Stream.concat(
        Stream.concat(session.resumed === undefined ? Stream.empty : Stream.make<[TrainingEvent]>(session.resumed), Stream.flatMap(steps, stepStream)),
        Stream.fromEffect(
          lossShapeAsFailure(Effect.sync(() => {
            const state = session.state()
            const bestStep = watchers?.earlyStopping === undefined ? undefined : restoreBest(session.ctx, state)
            const restoredBest =
              bestStep === undefined || bestStep === state.completed ? undefined : { step: bestStep, value: state.watch.monitor.best! }
            return summarize(session, options, { stopped, restoredBest })
          })).pipe(
            Effect.tap((summary) => {
              const violated = summary.constraints.filter((c) => !c.holds)
              if (violated.length === 0) return Effect.void
              const error = new ConstraintViolated({ violated })
              return options.strictConstraints === true ? Effect.fail(error) : Effect.logWarning(`${error.message} (strictConstraints makes this an error)`)
            }),
            Effect.map((summary): TrainingEvent =>
              options.keepParameters === true ? { _tag: "Finished", summary, parameters: session.handOver() } : { _tag: "Finished", summary },
            ),
          ),
        ),
      )
    }),
  )

/**
 * A finished run: its {@link TrainingSummary} and the trained parameters.
 *
 * **The caller owns `parameters`** and must dispose them (`tf.dispose(Object.values(result.parameters))`)
 * — except parameters the spec declared as existing variables (`fromVariable`, `fromModel`): those
 * are the caller's own variables, trained in place, and stay where they were.
 */
export interface TrainingResult<P extends string = string, O extends string = string> extends TrainingSummary<O> {
  /** Every declared parameter's trained value, by name (the training loop's own `tf.Variable`s, not copies). */
  readonly parameters: Params<P>
  /** Every step's mini-batch losses and every validation of this session. */
  readonly history: TrainingHistory<O>
}

/**
 * Dispose the parameters `result` owns — all but those `spec` declared as existing variables —
 * and return the summary alone, for callers that want only the numbers.
 */
export const releaseParameters = (spec: SpecInput, result: TrainingResult): TrainingSummary => {
  const { parameters, history: _history, ...summary } = result
  tf.dispose(Object.keys(parameters).filter((name) => spec.parameters[name] === undefined || !isBound(spec.parameters[name]!)).map((name) => parameters[name]!))
  return summary
}

/** Options of {@link train} with an update rule: the run's options and its callbacks. */
export interface TrainWithRuleOptions extends TrainingOptions, TrainingCallbacks {
  /**
   * A progress bar on stderr while the run trains, when stderr is a terminal (Node; never in
   * browsers or when the output is piped or logged). Default true; false: none.
   */
  readonly progress?: boolean
}

/** Options of a one-call run ({@link train} with a method). */
export interface TrainOptions extends TrainWithRuleOptions {
  /** Where a method given by name is looked up (default: the built-in interpreters). */
  readonly registry?: InterpreterRegistry
}

const trainWithRule = (spec: Spec, rule: UpdateRule<any>, options: TrainWithRuleOptions): Effect.Effect<TrainingResult, TrainingError> =>
  Effect.suspend(() => {
    const recorder = historyRecorder()
    const sink = options.progress === false ? undefined : standardError()
    const display = sink?.isTTY === true ? progressDisplay(spec.steps, sink, { linesOffTerminal: false }) : undefined
    return trainingEvents(spec, rule, { ...options, keepParameters: true }).pipe(
      Stream.tap((event) =>
        Effect.zipRight(
          Effect.sync(() => {
            recorder.record(event)
            if (event._tag === "Step") display?.step(event)
          }),
          runCallbacks(options, event),
        ),
      ),
      Stream.runLast,
      // A run that stops early (early stopping, abort, a failure) leaves the bar's line open.
      Effect.ensuring(Effect.sync(() => display?.end())),
      Effect.map((last) => {
        if (last._tag === "Some" && last.value._tag === "Finished" && last.value.parameters !== undefined) {
          return { ...last.value.summary, parameters: last.value.parameters, history: recorder.history() }
        }
        throw new Error("unreachable: a training stream always ends with a Finished event")
      }),
    )
  })

const isUpdateRule = (how: UpdateRule<any> | MethodLike): how is UpdateRule<any> => typeof how === "object" && "step" in how

/**
 * Train `spec` with an update rule already lowered from its structure (the three-step path:
 * `decodeOptions` → `lower` → `train`). Returns the summary and the trained parameters, which the
 * caller owns (see {@link TrainingResult}).
 */
export function train<P extends string>(
  spec: Spec<P>,
  rule: UpdateRule<any>,
  options?: TrainWithRuleOptions,
): Effect.Effect<TrainingResult<P>, TrainingError>
/**
 * Train a declared problem with a method in one call: `train(spec, method(bloop, { rho: 0.01 }))`,
 * `train(spec, "pcgrad")` or `train(spec, bloop)`. The spec (or a {@link SpecInput}, checked with
 * `makeSpec`) gives the seed once, for both the data and the method. Returns the summary and the
 * trained parameters, which the caller owns (see {@link TrainingResult}).
 */
export function train<D extends ParameterDeclarations, S extends Structure>(
  spec: SpecInput<D> & { readonly structure: S },
  method: MethodLike,
  options?: TrainOptions,
): Effect.Effect<TrainingResult<ParameterNames<D>, ObjectiveNamesOf<S>>, TrainingError | SpecError | LoweringError>
export function train(
  spec: SpecInput,
  how: UpdateRule<any> | MethodLike,
  options: TrainOptions = {},
): Effect.Effect<TrainingResult, TrainingError | SpecError | LoweringError> {
  if (isUpdateRule(how)) return trainWithRule(spec as Spec, how, options)
  return Effect.gen(function* () {
    const checked = yield* makeSpec(spec)
    const rule = yield* lowerMethod(how, checked.structure, { seed: checked.seed }, options.registry)
    return yield* trainWithRule(checked, rule, options)
  })
}

/**
 * {@link train} for code that does not use Effect, in one line:
 * `const result = await trainPromise(spec, method(bloop, { rho: 0.01 }))`. The promise rejects with
 * the typed error itself (a `SpecError`, `Unsupported`, `NonFiniteGradient`, ... — each an `Error`
 * with a readable message and a `_tag`). The caller owns `result.parameters` (see {@link TrainingResult}).
 */
export const trainPromise = <D extends ParameterDeclarations, S extends Structure>(
  spec: SpecInput<D> & { readonly structure: S },
  how: MethodLike,
  options?: TrainOptions,
): Promise<TrainingResult<ParameterNames<D>, ObjectiveNamesOf<S>>> =>
  Effect.runPromise(Effect.either(train(spec, how, options))).then((result) => {
    if (Either.isLeft(result)) throw result.left
    return result.right
  })
