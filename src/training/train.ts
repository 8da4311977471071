/**
 * The training loop: draw batches, compute one gradient per objective, ask the update rule for a
 * direction, apply it with the optimizer, and emit an event. Progress bars, logs, checkpoints and
 * reports consume the event stream; none of them lives in the loop.
 */
import { Data, Effect, Either, Exit, Stream } from "effect"
import { makeOptimizer, applyStep, disposeOptimizerState, type Optimizer, type OptimizerState } from "../core/optimizers.ts"
import { flattenChecked, layoutOf, type Layout } from "../core/paramVector.ts"
import { sampleIndices, seedState } from "../core/random.ts"
import { tf, tidy, type Scalar, type Tensor, type Tensor1D, type Variable } from "../core/tf.ts"
import type { DataSource, Objective, Params } from "../dsl/objective.ts"
import type { SpecError } from "../dsl/errors.ts"
import type { Spec } from "../dsl/spec.ts"
import { objectivesOf } from "../dsl/structure.ts"
import type { RuleState, UpdateRule } from "../interpreters/interpreter.ts"
import {
  type CheckpointContents,
  CheckpointError,
  type CheckpointSettings,
  checkParameters,
  hostStateOf,
  outlineMismatch,
  readCheckpoint,
  runMismatch,
  tensorStateOf,
  toHostTensor,
  writeCheckpoint,
} from "./checkpoint.ts"
import { createVariables } from "./parameters.ts"
import { batchSizeProblem } from "./sizeLimits.ts"
import { disposeReplaced } from "./tensors.ts"

/** A gradient or loss was NaN or infinite and the spec's policy is `fail`. */
export class NonFiniteGradient extends Data.TaggedError("NonFiniteGradient")<{
  readonly objective: string
  readonly step: number
}> {
  override get message(): string {
    return `non-finite gradient or loss for objective '${this.objective}' at step ${this.step} (set nonFinite: "skip" to skip such steps)`
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

/** One training step: mini-batch losses by objective. */
export interface StepEvent {
  readonly _tag: "Step"
  /** 1-based step number. */
  readonly step: number
  readonly losses: Readonly<Record<string, number>>
  /** True when the step was skipped for a non-finite gradient (policy `skip`). */
  readonly skipped: boolean
  readonly elapsedMs: number
}

/** What a finished run reports. */
export interface TrainingSummary {
  readonly rule: string
  readonly backend: string
  readonly steps: number
  readonly skippedSteps: number
  /** Each objective on its whole data set (or its deterministic value) at the end. */
  readonly finalLosses: Readonly<Record<string, number>>
  /** The extra evaluation objectives (held-out losses, accuracies), same convention. */
  readonly evaluations: Readonly<Record<string, number>>
  readonly wallTimeMs: number
}

/** The run ended; always the last event. */
export interface FinishedEvent {
  readonly _tag: "Finished"
  readonly summary: TrainingSummary
}

/** A checkpoint of the state after `step` was written to `path`. */
export interface CheckpointEvent {
  readonly _tag: "Checkpoint"
  readonly step: number
  readonly path: string
}

export type TrainingEvent = StepEvent | CheckpointEvent | FinishedEvent

/** Every way a run can fail. */
export type TrainingError = NonFiniteGradient | NonFiniteUpdate | TooManySkippedSteps | MissingObjective | CheckpointError | SpecError

/** Options of a run that are not part of the declaration. */
export interface TrainingOptions {
  /** Objectives measured at the end only (held-out loss, accuracy). */
  readonly evaluations?: ReadonlyArray<Objective<any>>
  /** Examples per chunk when measuring a loss on a whole data set (default 4096). */
  readonly evaluationChunk?: number
  /**
   * Write a checkpoint every `every` steps, after the last step, and when the run is interrupted
   * (Ctrl-C under `NodeRuntime.runMain` interrupts the stream; its finalizer writes the state of
   * the last completed step).
   */
  readonly checkpoint?: CheckpointSettings
  /**
   * Continue the run saved in this checkpoint file: parameters, rule and optimizer states, the
   * data-sampling generator and the step counter are restored, so the remaining steps give
   * bit-identical parameters to an uninterrupted run on the same backend.
   */
  readonly resumeFrom?: string
  /**
   * Under policy `skip`, stop with {@link TooManySkippedSteps} after this many skipped steps in a
   * row (default {@link defaultMaxConsecutiveSkips}).
   */
  readonly maxConsecutiveSkips?: number
}

/**
 * Loss of `objective` on its whole data set, in chunks. Losses are means over the batch, so the
 * size-weighted mean of chunk losses is the full-data loss.
 */
export const fullDataLoss = (objective: Objective<any>, params: Params, chunk = 4096): number => {
  const data = objective.data
  if (data === undefined) return tf.tidy(() => objective.loss(params, undefined).dataSync()[0]!)
  let total = 0
  for (let start = 0; start < data.size; start += chunk) {
    const count = Math.min(chunk, data.size - start)
    const indices = Int32Array.from({ length: count }, (_, i) => start + i)
    total += count * tf.tidy(() => objective.loss(params, data.batch(indices)).dataSync()[0]!)
  }
  return total / data.size
}

/** A live run: variables, states, and the imperative step the stream drives. */
interface Session {
  readonly step: (t: number) => Effect.Effect<StepEvent, NonFiniteGradient | NonFiniteUpdate>
  /** Steps skipped in a row up to the last completed one, and why the last was skipped. */
  readonly skipStreak: () => { readonly count: number; readonly reason: string }
  /** Steps completed so far (including those restored from a checkpoint). */
  readonly completedSteps: () => number
  /** The host copy of everything a checkpoint holds, at the last completed step. */
  readonly snapshot: () => Either.Either<CheckpointContents, CheckpointError>
  readonly finish: () => TrainingSummary
  readonly dispose: () => void
}

/**
 * What identifies a run for resumption: a checkpoint written by another rule, optimizer, seed,
 * batch size or parameter layout is refused with the first difference named.
 */
const runIdentity = (spec: Spec, rule: UpdateRule<any>, layout: Layout): Readonly<Record<string, unknown>> => ({
  rule: rule.name,
  objectives: [...rule.objectives],
  parameters: layout.entries.map((e) => ({ name: e.name, shape: [...e.shape] })),
  optimizer: spec.optimizer,
  seed: spec.seed,
  batchSize: spec.batchSize,
  nonFinite: spec.nonFinite,
})

/** Check a checkpoint against the run about to resume from it; undefined when it fits. */
const resumeProblem = (
  contents: CheckpointContents,
  path: string,
  spec: Spec,
  rule: UpdateRule<any>,
  layout: Layout,
  ruleTemplate: RuleState,
  optimizerTemplate: OptimizerState,
): CheckpointError | undefined => {
  const problem = (text: string) => new CheckpointError({ path, problem: text })
  const mismatch = runMismatch(contents.run, runIdentity(spec, rule, layout))
  if (mismatch !== undefined) return problem(mismatch)
  if (contents.step > spec.steps) return problem(`is at step ${contents.step}, beyond the run's ${spec.steps} steps`)
  const parameters = checkParameters(contents, layout, path)
  if (parameters !== undefined) return parameters
  const ruleOutline = outlineMismatch(contents.ruleState, ruleTemplate, "ruleState")
  if (ruleOutline !== undefined) return problem(`does not fit rule '${rule.name}': ${ruleOutline}`)
  const optimizerOutline = outlineMismatch(contents.optimizer.slots, optimizerTemplate.slots, "optimizer.slots")
  if (optimizerOutline !== undefined) return problem(`does not fit optimizer '${spec.optimizer.kind}': ${optimizerOutline}`)
  return undefined
}

const openSession = (
  spec: Spec,
  rule: UpdateRule<any>,
  options: TrainingOptions,
  resume: { readonly path: string; readonly contents: CheckpointContents } | undefined,
): Effect.Effect<Session, MissingObjective | CheckpointError> =>
  Effect.suspend((): Effect.Effect<Session, MissingObjective | CheckpointError> => {
    const declared = new Map(objectivesOf(spec.structure).map((o) => [o.name, o]))
    const objectives: Array<Objective<any>> = []
    for (const name of rule.objectives) {
      const found = declared.get(name)
      if (found === undefined) return Effect.fail(new MissingObjective({ objective: name, rule: rule.name }))
      objectives.push(found)
    }
    const variables = createVariables(spec.parameters, spec.seed)
    const names = Object.keys(variables).sort()
    const params: Params = variables
    const layout = layoutOf(variables)
    const optimizer = makeOptimizer(spec.optimizer)
    let ruleState: RuleState = rule.init(layout)
    let optimizerState = optimizer.init(layout)
    let rng = seedState(spec.seed + 1)
    let skipped = 0
    let streak = 0
    let streakReason = ""
    let completed = 0
    const started = Date.now()

    const dispose = () => {
      disposeReplaced(ruleState, undefined)
      disposeOptimizerState(optimizerState)
      tf.dispose(Object.values(variables))
    }

    if (resume !== undefined) {
      const { path, contents } = resume
      const problem = resumeProblem(contents, path, spec, rule, layout, ruleState, optimizerState)
      if (problem !== undefined) {
        dispose()
        return Effect.fail(problem)
      }
      for (const entry of layout.entries) {
        const saved = contents.parameters[entry.name]!
        tf.tidy(() => variables[entry.name]!.assign(tf.tensor(saved.values, [...saved.shape], "float32")))
      }
      const restoredRule = tensorStateOf(contents.ruleState)
      const restoredSlots = tensorStateOf(contents.optimizer.slots) as OptimizerState["slots"]
      disposeReplaced(ruleState, undefined)
      disposeOptimizerState(optimizerState)
      ruleState = restoredRule
      optimizerState = { t: contents.optimizer.t, slots: restoredSlots }
      rng = contents.dataRng
      skipped = contents.skippedSteps
      completed = contents.step
    }
    const gradientsAt = (): { losses: Record<string, Scalar>; gradients: Record<string, Tensor1D>; finite: Record<string, boolean> } =>
      tf.tidy(() => {
        const batches = new Map<DataSource<any>, unknown>()
        for (const o of objectives) {
          if (o.data !== undefined && !batches.has(o.data)) {
            const [indices, next] = sampleIndices(rng, o.data.size, spec.batchSize)
            rng = next
            batches.set(o.data, o.data.batch(indices))
          }
        }
        const losses: Record<string, Scalar> = {}
        const gradients: Record<string, Tensor1D> = {}
        const finite: Record<string, boolean> = {}
        for (const o of objectives) {
          const batch = o.data === undefined ? undefined : batches.get(o.data)
          const { value, grads } = lossAndGradients(() => o.loss(params, batch), variables, names)
          const byName: Record<string, Tensor> = {}
          names.forEach((n, i) => (byName[n] = grads[i]!))
          losses[o.name] = value
          const checked = flattenChecked(layout, byName)
          gradients[o.name] = checked.flat
          finite[o.name] = checked.finite
        }
        return { losses, gradients, finite }
      })

    const optimizerText = `${spec.optimizer.kind}, learningRate ${spec.optimizer.learningRate}`
    const skip = (t: number, reason: string, lossRecord: Record<string, number>, begin: number): StepEvent => {
      skipped += 1
      streak += 1
      streakReason = reason
      completed = t
      return { _tag: "Step", step: t, losses: lossRecord, skipped: true, elapsedMs: performance.now() - begin }
    }
    const step = (t: number): Effect.Effect<StepEvent, NonFiniteGradient | NonFiniteUpdate> =>
      Effect.suspend((): Effect.Effect<StepEvent, NonFiniteGradient | NonFiniteUpdate> => {
        const begin = performance.now()
        const { losses, gradients, finite } = gradientsAt()
        const lossValues = tf.tidy(() => tf.stack(objectives.map((o) => losses[o.name]!)).dataSync())
        const lossRecord: Record<string, number> = {}
        objectives.forEach((o, i) => (lossRecord[o.name] = lossValues[i]!))
        const release = () => tf.dispose([...Object.values(losses), ...Object.values(gradients)])
        const bad = objectives.find((o, i) => !Number.isFinite(lossValues[i]!) || !finite[o.name])
        if (bad !== undefined) {
          release()
          if (spec.nonFinite === "fail") return Effect.fail(new NonFiniteGradient({ objective: bad.name, step: t }))
          return Effect.succeed(skip(t, `the gradient or loss of objective '${bad.name}' was non-finite`, lossRecord, begin))
        }
        const next = combineAndApply(rule, optimizer, layout, variables, gradients, ruleState, optimizerState, lossRecord)
        release()
        if (next.brokenParameter !== undefined) {
          const error = new NonFiniteUpdate({ parameter: next.brokenParameter, step: t, optimizer: optimizerText })
          if (spec.nonFinite === "fail") return Effect.fail(error)
          return Effect.succeed(skip(t, error.cause_, lossRecord, begin))
        }
        ruleState = next.ruleState
        optimizerState = next.optimizerState
        streak = 0
        completed = t
        return Effect.succeed<StepEvent>({ _tag: "Step", step: t, losses: lossRecord, skipped: false, elapsedMs: performance.now() - begin })
      })

    const snapshot = (): Either.Either<CheckpointContents, CheckpointError> =>
      Either.gen(function* () {
        const parameters: Record<string, CheckpointContents["parameters"][string]> = {}
        for (const name of names) parameters[name] = yield* toHostTensor(variables[name]!, `parameters.${name}`)
        const slots: Record<string, CheckpointContents["parameters"][string]> = {}
        for (const [name, slot] of Object.entries(optimizerState.slots)) slots[name] = yield* toHostTensor(slot, `optimizer.slots.${name}`)
        return {
          step: completed,
          run: runIdentity(spec, rule, layout),
          dataRng: rng,
          skippedSteps: skipped,
          parameters,
          ruleState: yield* hostStateOf(ruleState),
          optimizer: { t: optimizerState.t, slots },
        }
      })

    const finish = (): TrainingSummary => {
      const chunk = options.evaluationChunk ?? 4096
      const measure = (list: ReadonlyArray<Objective<any>>) =>
        Object.fromEntries(list.map((o) => [o.name, fullDataLoss(o, params, chunk)] as const))
      return {
        rule: rule.name,
        backend: tf.getBackend(),
        steps: spec.steps,
        skippedSteps: skipped,
        finalLosses: measure([...declared.values()]),
        evaluations: measure(options.evaluations ?? []),
        wallTimeMs: Date.now() - started,
      }
    }

    return Effect.succeed<Session>({
      step,
      skipStreak: () => ({ count: streak, reason: streakReason }),
      completedSteps: () => completed,
      snapshot,
      finish,
      dispose,
    })
  })

/**
 * The combine-and-apply half of a step: the rule's direction from the gradients, the optimizer's
 * step from the direction, θ ← θ − Δ, and the release of whatever the new states no longer hold.
 * Gradients are not released (the caller owns them). Exported so that benchmarks time exactly the
 * code path training runs.
 *
 * When the step would make a parameter non-finite ({@link applyStep} checks it in the same pass),
 * nothing changes: the variables and the given states are kept, the new states are released, and
 * `brokenParameter` names the parameter.
 */
export const combineAndApply = (
  rule: UpdateRule<any>,
  optimizer: Optimizer,
  layout: Layout,
  variables: Readonly<Record<string, Variable>>,
  gradients: Readonly<Record<string, Tensor1D>>,
  ruleState: RuleState,
  optimizerState: OptimizerState,
  losses?: Readonly<Record<string, number>>,
): { readonly ruleState: RuleState; readonly optimizerState: OptimizerState; readonly brokenParameter?: string } => {
  const [direction, nextRuleState] = tidy(() => rule.step(gradients, ruleState, losses))
  const [delta, nextOptimizerState] = tidy(() => optimizer.update(direction, optimizerState))
  const brokenParameter = applyStep(layout, variables, delta)
  tf.dispose([direction, delta])
  if (brokenParameter !== undefined) {
    disposeReplaced(nextRuleState, ruleState)
    disposeReplaced(nextOptimizerState, optimizerState)
    return { ruleState, optimizerState, brokenParameter }
  }
  disposeReplaced(ruleState, nextRuleState)
  disposeReplaced(optimizerState, nextOptimizerState)
  return { ruleState: nextRuleState, optimizerState: nextOptimizerState }
}

/**
 * The loss and its gradient with respect to every variable, in `names` order. A loss need not use
 * every parameter (a task head, a prior on one layer): a parameter it does not reach gets a zero
 * gradient, which is its exact gradient. (`tf.valueAndGrads` would throw instead, and
 * `tf.variableGrads` leaves such variables out, or throws when the loss reaches none of them.)
 */
const lossAndGradients = (
  loss: () => Scalar,
  variables: Readonly<Record<string, Variable>>,
  names: ReadonlyArray<string>,
): { readonly value: Scalar; readonly grads: ReadonlyArray<Tensor> } => {
  const list = names.map((n) => variables[n]!)
  let value: Scalar
  let found: Record<string, Tensor>
  try {
    const result = tf.variableGrads(loss, list)
    value = result.value
    found = result.grads
  } catch (error) {
    if (!(error instanceof Error && /connection between any variable/.test(error.message))) throw error
    value = loss()
    found = {}
  }
  return { value, grads: list.map((v) => found[v.name] ?? tf.zerosLike(v)) }
}

/** Longest stretch of training, in milliseconds, between two turns of the Node event loop. */
const eventLoopInterval = 25

/** Write the session's current state to the configured checkpoint file. */
const checkpointNow = (session: Session, settings: CheckpointSettings): Effect.Effect<CheckpointEvent, CheckpointError> =>
  Effect.flatMap(
    Either.match(session.snapshot(), { onLeft: (e) => Effect.fail(new CheckpointError({ path: settings.path, problem: e.message })), onRight: Effect.succeed }),
    (contents) => Effect.as(writeCheckpoint(settings.path, contents), { _tag: "Checkpoint", step: contents.step, path: settings.path } as const),
  )

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
      if (settings !== undefined && !(Number.isInteger(settings.every) && settings.every > 0)) {
        return yield* new CheckpointError({ path: settings.path, problem: `checkpoint interval must be a positive integer, got ${settings.every}` })
      }
      const resume =
        options.resumeFrom === undefined ? undefined : { path: options.resumeFrom, contents: yield* readCheckpoint(options.resumeFrom) }
      let lastWritten = resume?.contents.step ?? -1
      const session = yield* Effect.acquireRelease(openSession(spec, rule, options, resume), (s, exit) =>
        Effect.zipRight(
          settings !== undefined && Exit.isInterrupted(exit) && s.completedSteps() !== lastWritten
            ? checkpointNow(s, settings).pipe(
                Effect.tap((e) => Effect.logInfo(`interrupted: wrote checkpoint of step ${e.step} to ${e.path}`)),
                Effect.catchAll((e) => Effect.logError(`interrupted: could not write the final checkpoint: ${e.message}`)),
              )
            : Effect.void,
          Effect.sync(s.dispose),
        ),
      )
      const due = (t: number) => settings !== undefined && (t % settings.every === 0 || t === spec.steps)
      const maxSkips = options.maxConsecutiveSkips ?? defaultMaxConsecutiveSkips
      const runStep = (t: number): Effect.Effect<ReadonlyArray<TrainingEvent>, NonFiniteGradient | NonFiniteUpdate | CheckpointError> =>
        Effect.flatMap(session.step(t), (event) =>
          due(t) && settings !== undefined
            ? Effect.map(checkpointNow(session, settings), (written) => {
                lastWritten = written.step
                return [event, written]
              })
            : Effect.succeed([event]),
        )
      /** The step's events, then a failure when it was the last skip allowed in a row. */
      const stepStream = (t: number) =>
        Stream.flatMap(Stream.fromEffect(Effect.zipLeft(runStep(t), eventLoopTurn)), (events) => {
          const streak = session.skipStreak()
          return streak.count < maxSkips
            ? Stream.fromIterable(events)
            : Stream.concat(
                Stream.fromIterable(events),
                Stream.fail(new TooManySkippedSteps({ first: t - streak.count + 1, last: t, limit: maxSkips, reason: streak.reason })),
              )
        })
      // Steps are synchronous tensor work, and Effect's scheduler yields to the microtask queue
      // only; without an occasional macrotask turn, a long run would starve the event loop and
      // never see SIGINT (Ctrl-C), timers or I/O.
      let lastTurn = performance.now()
      const eventLoopTurn = Effect.suspend(() => {
        if (performance.now() - lastTurn < eventLoopInterval) return Effect.void
        return Effect.async<void>((resume) => {
          const handle = setImmediate(() => {
            lastTurn = performance.now()
            resume(Effect.void)
          })
          return Effect.sync(() => clearImmediate(handle))
        })
      })
      const first = session.completedSteps() + 1
      const steps = first > spec.steps ? Stream.empty : Stream.range(first, spec.steps)
      return Stream.concat(
        Stream.flatMap(steps, stepStream),
        Stream.fromEffect(Effect.sync((): TrainingEvent => ({ _tag: "Finished", summary: session.finish() }))),
      )
    }),
  )

/** Train to the end and return the summary. */
export const train = (
  spec: Spec,
  rule: UpdateRule<any>,
  options: TrainingOptions = {},
): Effect.Effect<TrainingSummary, TrainingError> =>
  trainingEvents(spec, rule, options).pipe(
    Stream.runLast,
    Effect.map((last) => {
      if (last._tag === "Some" && last.value._tag === "Finished") return last.value.summary
      throw new Error("unreachable: a training stream always ends with a Finished event")
    }),
  )
