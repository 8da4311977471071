/**
 * The training loop: draw batches, compute one gradient per objective, ask the update rule for a
 * direction, apply it with the optimizer, and emit an event. Progress bars, logs, checkpoints and
 * reports consume the event stream; none of them lives in the loop.
 */
import { Data, Effect, Either, Exit, type Scope, Stream } from "effect"
import { makeOptimizer, applyStep, decoupledDecayAt, disposeOptimizerState, type Optimizer, type OptimizerState } from "../core/optimizers.ts"
import { hostValues } from "../core/hostKernels.ts"
import { onNextMacrotask } from "../core/macrotask.ts"
import { flattenChecked, layoutOf, type Layout } from "../core/paramVector.ts"
import { sampleIndices, seedState } from "../core/random.ts"
import { linearCombination } from "../core/vector.ts"
import { tf, tidy, type Scalar, type Tensor, type Tensor1D, type Variable } from "../core/tf.ts"
import type { DataSource, Objective, Params } from "../dsl/objective.ts"
import type { SpecError } from "../dsl/errors.ts"
import { makeSpec, type ParameterDeclarations, type ParameterNames, type Spec, type SpecInput } from "../dsl/spec.ts"
import { objectivesOf, type Structure } from "../dsl/structure.ts"
import type { RuleState, UpdateRule } from "../interpreters/interpreter.ts"
import { lowerMethod, type LoweringError, type MethodLike } from "../interpreters/method.ts"
import type { InterpreterRegistry } from "../interpreters/registry.ts"
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
import { createVariables, isBound } from "./parameters.ts"
import { batchSizeProblem } from "./sizeLimits.ts"
import { type Divergence, divergenceOf } from "./divergence.ts"
import { GradientWorkerError, type GradientWorkers, type WorkerPool } from "./parallel/protocol.ts"
import { shareOf, sourceSlots } from "./parallel/sources.ts"
import { disposeReplaced } from "./tensors.ts"
import { SpecChangedOnResume, specChange, type SpecRecord, specRecordOf } from "./specRecord.ts"

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

/**
 * An objective's gradient was exactly zero for every parameter at the start of the run and the
 * run's `zeroGradient` policy is `fail`. `readsParameters` is false when the loss did not read any
 * declared parameter at all (the usual cause: a loss that calls a model whose weights were not
 * declared as parameters); that is known at step 1. A loss that reads the parameters is reported
 * when its gradient is zero at steps 1 *and* 2 (or at step 1 of a one-step run): a loss that
 * merely starts at a stationary point (a weight penalty at zero weights) leaves it after one step
 * of the others.
 */
export class ZeroGradient extends Data.TaggedError("ZeroGradient")<{
  readonly objective: string
  readonly step: number
  readonly readsParameters: boolean
}> {
  override get message(): string {
    return zeroGradientMessage(this.objective, this.step, this.readsParameters)
  }
}

const zeroGradientMessage = (objective: string, step: number, readsParameters: boolean): string =>
  readsParameters
    ? `the gradient of objective '${objective}' is exactly zero for every parameter at ${step === 1 ? "step 1" : "steps 1 and 2"}, ` +
      "so training does not move it. Does the loss read the declared parameters? " +
      "(Or does the run start at a stationary point of this loss that nothing else moves it from?)"
    : `objective '${objective}' does not read any declared parameter: its gradient is zero for every parameter at step ${step}, ` +
      "so it trains nothing. Does the loss read the declared parameters? " +
      "(A loss that calls a tf.LayersModel must declare the model's weights: parameters: fromModel(model).)"

/** What to do when an objective's gradient is exactly zero at the start (see {@link ZeroGradient}): log a warning (default), fail, or nothing. */
export type ZeroGradientPolicy = "warn" | "fail" | "ignore"

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
  /** Losses of the first step this session ran (its mini-batches), by objective. */
  readonly firstLosses: Readonly<Record<string, number>>
  /** Set when the run diverged (see `divergence.ts`): the objective, its first and final loss. */
  readonly divergence?: Divergence
  /**
   * Set when this session resumed a checkpoint written for a different spec because
   * `resumeWithChangedSpec` asked for it: the checkpoint and the first difference.
   */
  readonly resumedWithChangedSpec?: { readonly checkpoint: string; readonly difference: string }
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

export type TrainingEvent = ResumedEvent | StepEvent | CheckpointEvent | FinishedEvent

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
  readonly step: (t: number) => Effect.Effect<StepEvent, NonFiniteGradient | NonFiniteUpdate | ZeroGradient | GradientWorkerError>
  /** Steps skipped in a row up to the last completed one, and why the last was skipped. */
  readonly skipStreak: () => { readonly count: number; readonly reason: string }
  /** Steps completed so far (including those restored from a checkpoint). */
  readonly completedSteps: () => number
  /** The host copy of everything a checkpoint holds, at the last completed step. */
  readonly snapshot: () => Either.Either<CheckpointContents, CheckpointError>
  readonly finish: () => TrainingSummary
  /** The parameters, no longer disposed by `dispose`: their new owner is the caller. */
  readonly handOver: () => Params
  readonly dispose: () => void
  /** The event announcing the resume, when resuming. */
  readonly resumed: ResumedEvent | undefined
}

/** A JSON description of a structure: objective names with every weight, λ and bound. */
const describeStructure = (s: Structure): unknown => {
  switch (s._tag) {
    case "Objective":
      return { objective: s.name, ...(s.data === undefined ? {} : { examples: s.data.size }) }
    case "Weighted":
      return { weighted: describeStructure(s.of), weight: s.weight }
    case "Sum":
      return { sum: s.terms.map(describeStructure) }
    case "Hierarchy":
      return { hierarchy: s.levels.map((l) => ({ of: describeStructure(l.of), lambda: l.lambda })) }
    case "Constrained":
      return { constrain: describeStructure(s.of), atMost: s.atMost }
  }
}

/**
 * The declaration recorded in checkpoints when the caller gives none (see
 * `TrainingOptions.declaration`): everything of the spec but its step count, and the rule's name.
 */
const derivedDeclaration = (spec: Spec, rule: UpdateRule<any>, layout: Layout): unknown => ({
  ...runIdentity(spec, rule, layout),
  structure: describeStructure(spec.structure),
})

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
  specChanged: boolean,
): CheckpointError | undefined => {
  const problem = (text: string) => new CheckpointError({ path, problem: text })
  // A resume forced over a changed spec skips the identity check (it is part of the spec) but not
  // the outline checks below: the saved tensors must still fit the run.
  const mismatch = specChanged ? undefined : runMismatch(contents.run, runIdentity(spec, rule, layout))
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

/** One step's losses, flat gradients and finiteness by objective, and the objectives found with an all-zero gradient. */
type StepGradients = {
  readonly losses: Record<string, Scalar>
  readonly gradients: Record<string, Tensor1D>
  readonly finite: Record<string, boolean>
  readonly zero: Array<{ readonly objective: string; readonly readsParameters: boolean }>
}

const isAllZero = (flat: Tensor1D): boolean => tf.tidy(() => tf.all(tf.equal(flat, 0)).dataSync()[0] === 1)

const openSession = (
  spec: Spec,
  rule: UpdateRule<any>,
  options: TrainingOptions,
  resume: { readonly path: string; readonly contents: CheckpointContents } | undefined,
  pool: WorkerPool | undefined,
): Effect.Effect<Session, MissingObjective | CheckpointError | SpecChangedOnResume> =>
  Effect.suspend((): Effect.Effect<Session, MissingObjective | CheckpointError | SpecChangedOnResume> => {
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
    let firstLosses: Record<string, number> | undefined
    let streakReason = ""
    let completed = 0
    let handedOver = false
    const started = Date.now()

    const dispose = () => {
      disposeReplaced(ruleState, undefined)
      disposeOptimizerState(optimizerState)
      // Variables the spec bound (fromVariable, fromModel) belong to the caller, always.
      if (!handedOver) tf.dispose(names.filter((n) => !isBound(spec.parameters[n]!)).map((n) => variables[n]!))
    }
    const handOver = (): Params => {
      handedOver = true
      return variables
    }
    const zeroPolicy = options.zeroGradient ?? "warn"
    // Objectives whose loss reads the parameters but whose gradient was exactly zero at step 1:
    // reported only if it is still zero at step 2 (see ZeroGradient).
    let zeroSuspects: ReadonlySet<string> = new Set()
    const specRecord: SpecRecord = specRecordOf(options.declaration ?? derivedDeclaration(spec, rule, layout))
    let resumed: ResumedEvent | undefined

    if (resume !== undefined) {
      const { path, contents } = resume
      const changed = contents.spec === undefined ? undefined : specChange(contents.spec, specRecord)
      if (changed !== undefined && options.resumeWithChangedSpec !== true) {
        dispose()
        return Effect.fail(new SpecChangedOnResume({ path, difference: changed }))
      }
      const problem = resumeProblem(contents, path, spec, rule, layout, ruleState, optimizerState, changed !== undefined)
      if (problem !== undefined) {
        dispose()
        return Effect.fail(problem)
      }
      resumed = {
        _tag: "Resumed",
        step: contents.step,
        path,
        ...(changed === undefined ? {} : { specChange: changed }),
        ...(contents.spec === undefined ? { specUnverified: true as const } : {}),
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
    /**
     * Losses, flat gradients and their finiteness; for the objectives named in `checkZero`, also
     * which have a gradient that is exactly zero everywhere (and whether their loss reached any
     * parameter).
     */
    const gradientsAt = (checkZero: ReadonlySet<string>): StepGradients =>
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
        const zero: Array<{ readonly objective: string; readonly readsParameters: boolean }> = []
        for (const o of objectives) {
          const batch = o.data === undefined ? undefined : batches.get(o.data)
          const { value, grads, reached } = lossAndGradients(() => o.loss(params, batch), variables, names)
          const byName: Record<string, Tensor> = {}
          names.forEach((n, i) => (byName[n] = grads[i]!))
          losses[o.name] = value
          const checked = flattenChecked(layout, byName)
          gradients[o.name] = checked.flat
          finite[o.name] = checked.finite
          if (checkZero.has(o.name) && (!reached || isAllZero(checked.flat))) zero.push({ objective: o.name, readsParameters: reached })
        }
        return { losses, gradients, finite, zero }
      })

    const { sources, sourceOf } = sourceSlots(objectives)
    /**
     * The gradients of a data-parallel step: θ to the workers, share 0 of each source's indices
     * here while the workers compute the others, then the size-weighted combination of the shares.
     * Objectives without data are computed here, once.
     */
    const parallelGradientsAt = (workers: WorkerPool, t: number, checkZero: ReadonlySet<string>): Effect.Effect<StepGradients, GradientWorkerError> =>
      Effect.suspend(() => {
        const indices = sources.map((source) => {
          const [drawn, next] = sampleIndices(rng, source.size, spec.batchSize)
          rng = next
          return drawn
        })
        for (const entry of layout.entries) workers.theta.set(hostValues(variables[entry.name]!), entry.offset)
        const replies = workers.request(t, indices)
        const own = tf.tidy(() => {
          const batches = sources.map((source, s) => source.batch(indices[s]!.subarray(...shareOf(indices[s]!.length, 0, workers.parts))))
          const losses: Record<string, Scalar> = {}
          const gradients: Record<string, Tensor1D> = {}
          const finite: Record<string, boolean> = {}
          const reached: Record<string, boolean> = {}
          objectives.forEach((o, k) => {
            const result = lossAndGradients(() => o.loss(params, sourceOf[k] === -1 ? undefined : batches[sourceOf[k]!]), variables, names)
            const byName: Record<string, Tensor> = {}
            names.forEach((n, i) => (byName[n] = result.grads[i]!))
            const checked = flattenChecked(layout, byName)
            losses[o.name] = result.value
            gradients[o.name] = checked.flat
            finite[o.name] = checked.finite
            reached[o.name] = result.reached
          })
          return { losses, gradients, finite, reached }
        })
        const release = () => tf.dispose([...Object.values(own.losses), ...Object.values(own.gradients)])
        return Effect.tryPromise({ try: () => replies, catch: (e) => e as GradientWorkerError }).pipe(
          Effect.onExit((exit) => (Exit.isSuccess(exit) ? Effect.void : Effect.sync(release))),
          Effect.map((answers) => {
            const combined = tf.tidy((): StepGradients => {
              const losses: Record<string, Scalar> = {}
              const gradients: Record<string, Tensor1D> = {}
              const finite: Record<string, boolean> = {}
              const zero: StepGradients["zero"] = []
              objectives.forEach((o, k) => {
                if (sourceOf[k] === -1) {
                  losses[o.name] = tf.clone(own.losses[o.name]!)
                  gradients[o.name] = tf.clone(own.gradients[o.name]!)
                  finite[o.name] = own.finite[o.name]!
                } else {
                  const count = indices[sourceOf[k]!]!.length
                  const weight = (part: number) => {
                    const [start, end] = shareOf(count, part, workers.parts)
                    return (end - start) / count
                  }
                  const terms: Array<readonly [number, Tensor1D]> = [[weight(0), own.gradients[o.name]!]]
                  let loss = weight(0) * own.losses[o.name]!.dataSync()[0]!
                  answers.forEach((answer, w) => {
                    terms.push([weight(w + 1), tf.tensor1d(workers.gradient(w + 1, k))])
                    loss += weight(w + 1) * answer.losses[k]!
                  })
                  losses[o.name] = tf.scalar(loss)
                  gradients[o.name] = linearCombination(terms)
                  finite[o.name] = own.finite[o.name]! && answers.every((a) => a.finite[k]!)
                }
                const reached = own.reached[o.name]!
                if (checkZero.has(o.name) && (!reached || isAllZero(gradients[o.name]!))) zero.push({ objective: o.name, readsParameters: reached })
              })
              return { losses, gradients, finite, zero }
            })
            release()
            return combined
          }),
        )
      })

    const optimizerText = `${spec.optimizer.kind}, learningRate ${spec.optimizer.learningRate}`
    const skip = (t: number, reason: string, lossRecord: Record<string, number>, begin: number): StepEvent => {
      skipped += 1
      streak += 1
      streakReason = reason
      completed = t
      return { _tag: "Step", step: t, losses: lossRecord, skipped: true, elapsedMs: performance.now() - begin }
    }
    const step = (t: number): Effect.Effect<StepEvent, NonFiniteGradient | NonFiniteUpdate | ZeroGradient | GradientWorkerError> =>
      Effect.suspend((): Effect.Effect<StepEvent, NonFiniteGradient | NonFiniteUpdate | ZeroGradient | GradientWorkerError> => {
        const begin = performance.now()
        const checkZero = zeroPolicy === "ignore" ? new Set<string>() : t === 1 ? new Set(rule.objectives) : t === 2 ? zeroSuspects : new Set<string>()
        const gradients = pool === undefined ? Effect.sync(() => gradientsAt(checkZero)) : parallelGradientsAt(pool, t, checkZero)
        return Effect.flatMap(gradients, (computed) => afterGradients(t, begin, computed))
      })

    /** The rest of step `t` once its gradients are computed: checks, the rule's direction, the update. */
    const afterGradients = (t: number, begin: number, computed: StepGradients): Effect.Effect<StepEvent, NonFiniteGradient | NonFiniteUpdate | ZeroGradient> =>
      Effect.suspend((): Effect.Effect<StepEvent, NonFiniteGradient | NonFiniteUpdate | ZeroGradient> => {
        const { losses, gradients, finite, zero: zeroAll } = computed
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
        if (t === 1 && spec.steps > 1) zeroSuspects = new Set(zeroAll.filter((z) => z.readsParameters).map((z) => z.objective))
        const zero = t === 1 && spec.steps > 1 ? zeroAll.filter((z) => !z.readsParameters) : zeroAll
        const firstZero = zero[0]
        if (firstZero !== undefined && zeroPolicy === "fail") {
          release()
          return Effect.fail(new ZeroGradient({ ...firstZero, step: t }))
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
        firstLosses ??= lossRecord
        const event = Effect.succeed<StepEvent>({ _tag: "Step", step: t, losses: lossRecord, skipped: false, elapsedMs: performance.now() - begin })
        if (zero.length === 0) return event
        return Effect.zipRight(
          Effect.forEach(zero, (z) => Effect.logWarning(zeroGradientMessage(z.objective, t, z.readsParameters)), { discard: true }),
          event,
        )
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
          spec: specRecord,
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
      const finalLosses = measure([...declared.values()])
      const first = firstLosses ?? {}
      const divergence = divergenceOf(first, finalLosses)
      return {
        rule: rule.name,
        backend: tf.getBackend(),
        steps: spec.steps,
        skippedSteps: skipped,
        firstLosses: first,
        ...(divergence === undefined ? {} : { divergence }),
        ...(resumed?.specChange === undefined ? {} : { resumedWithChangedSpec: { checkpoint: resumed.path, difference: resumed.specChange } }),
        finalLosses,
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
      handOver,
      dispose,
      resumed,
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
  const brokenParameter = applyStep(layout, variables, delta, decoupledDecayAt(optimizer, nextOptimizerState))
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
export const lossAndGradients = (
  loss: () => Scalar,
  variables: Readonly<Record<string, Variable>>,
  names: ReadonlyArray<string>,
): { readonly value: Scalar; readonly grads: ReadonlyArray<Tensor>; readonly reached: boolean } => {
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
  return { value, grads: list.map((v) => found[v.name] ?? tf.zerosLike(v)), reached: Object.keys(found).length > 0 }
}

/** Longest stretch of training, in milliseconds, between two turns of the event loop. */
const eventLoopInterval = 25

/** tfjs engine names → the names `activateBackend` takes (a worker activates the training thread's backend). */
const backendOfEngine: Readonly<Record<string, string>> = { tensorflow: "node", wasm: "wasm", cpu: "cpu" }

/**
 * Start the gradient workers of a data-parallel run (none for `workers` undefined or 1). A
 * mini-batch smaller than the number of shares would leave a share empty: refused.
 */
const openGradientWorkers = (
  spec: Spec,
  rule: UpdateRule<any>,
  workers: GradientWorkers | undefined,
): Effect.Effect<WorkerPool | undefined, GradientWorkerError, Scope.Scope> => {
  if (workers === undefined) return Effect.succeed(undefined)
  const refuse = (reason: string) => Effect.fail(new GradientWorkerError({ worker: 0, step: undefined, objective: undefined, reason }))
  if (!(Number.isInteger(workers.parts) && workers.parts >= 1)) return refuse(`the number of workers must be a positive integer, got ${workers.parts}`)
  if (workers.parts === 1) return Effect.succeed(undefined)
  if (spec.batchSize < workers.parts) return refuse(`batch size ${spec.batchSize} cannot be split into ${workers.parts} shares`)
  const declared = new Map(objectivesOf(spec.structure).map((o) => [o.name, o]))
  const objectives = rule.objectives.flatMap((name) => declared.get(name) ?? [])
  const engine = tf.getBackend()
  return workers.open({
    backend: backendOfEngine[engine] ?? engine,
    objectives: objectives.map((o) => o.name),
    sourceOf: sourceSlots(objectives).sourceOf,
    layout: layoutOf(spec.parameters),
  })
}

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
      const pool = yield* openGradientWorkers(spec, rule, options.workers)
      const session = yield* Effect.acquireRelease(openSession(spec, rule, options, resume, pool), (s, exit) =>
        Effect.zipRight(
          // Interrupted (Ctrl-C), or ended by its consumer before the last step (Stream.take):
          // the state of the last completed step is saved. A run that failed is not.
          settings !== undefined && (Exit.isInterrupted(exit) || Exit.isSuccess(exit)) && s.completedSteps() !== lastWritten
            ? checkpointNow(s, settings).pipe(
                Effect.tap((e) => (Exit.isInterrupted(exit) ? Effect.logInfo(`interrupted: wrote checkpoint of step ${e.step} to ${e.path}`) : Effect.void)),
                Effect.catchAll((e) => Effect.logError(`interrupted: could not write the final checkpoint: ${e.message}`)),
              )
            : Effect.void,
          Effect.sync(s.dispose),
        ),
      )
      const due = (t: number) => settings !== undefined && (t % settings.every === 0 || t === spec.steps)
      const maxSkips = options.maxConsecutiveSkips ?? defaultMaxConsecutiveSkips
      /** The checkpoint due after step `t`, if any, as a one-event stream. */
      const checkpointAfter = (t: number): Stream.Stream<TrainingEvent, CheckpointError> =>
        due(t) && settings !== undefined
          ? Stream.fromEffect(
              Effect.map(checkpointNow(session, settings), (written) => {
                lastWritten = written.step
                return written
              }),
            )
          : Stream.empty
      /**
       * The step's event, then its checkpoint, then a failure when it was the last skip allowed in
       * a row. The event loop's turn (where a Ctrl-C is seen) comes before the step, and the event
       * is handed on before the checkpoint is written: an interruption can then never fall between
       * a completed step and its event, so the consumer (the events log) has every step that the
       * final checkpoint holds.
       */
      const stepStream = (t: number) =>
        Stream.flatMap(Stream.fromEffect(Effect.zipRight(eventLoopTurn, session.step(t))), (event) => {
          const streak = session.skipStreak()
          const events = Stream.concat(Stream.make<[TrainingEvent]>(event), checkpointAfter(t))
          return streak.count < maxSkips
            ? events
            : Stream.concat(events, Stream.fail(new TooManySkippedSteps({ first: t - streak.count + 1, last: t, limit: maxSkips, reason: streak.reason })))
        })
      // Steps are synchronous tensor work, and Effect's scheduler yields to the microtask queue
      // only; without an occasional macrotask turn, a long run would starve the event loop and
      // never see SIGINT (Ctrl-C), timers or I/O (in a browser: never repaint or take input).
      let lastTurn = performance.now()
      const eventLoopTurn = Effect.suspend(() => {
        if (performance.now() - lastTurn < eventLoopInterval) return Effect.void
        return Effect.async<void>((resume) => {
          const cancel = onNextMacrotask(() => {
            lastTurn = performance.now()
            resume(Effect.void)
          })
          return Effect.sync(cancel)
        })
      })
      const first = session.completedSteps() + 1
      const steps = first > spec.steps ? Stream.empty : Stream.range(first, spec.steps)
      return Stream.concat(
        Stream.concat(session.resumed === undefined ? Stream.empty : Stream.make<[TrainingEvent]>(session.resumed), Stream.flatMap(steps, stepStream)),
        Stream.fromEffect(
          Effect.sync((): TrainingEvent => {
            const summary = session.finish()
            return options.keepParameters === true ? { _tag: "Finished", summary, parameters: session.handOver() } : { _tag: "Finished", summary }
          }),
        ),
      )
    }),
  )

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

/**
 * A finished run: its {@link TrainingSummary} and the trained parameters.
 *
 * **The caller owns `parameters`** and must dispose them (`tf.dispose(Object.values(result.parameters))`)
 * — except parameters the spec declared as existing variables (`fromVariable`, `fromModel`): those
 * are the caller's own variables, trained in place, and stay where they were.
 */
export interface TrainingResult<P extends string = string> extends TrainingSummary {
  /** Every declared parameter's trained value, by name (the training loop's own `tf.Variable`s, not copies). */
  readonly parameters: Params<P>
}

/**
 * Dispose the parameters `result` owns — all but those `spec` declared as existing variables —
 * and return the summary alone, for callers that want only the numbers.
 */
export const releaseParameters = (spec: SpecInput, result: TrainingResult): TrainingSummary => {
  const { parameters, ...summary } = result
  tf.dispose(Object.keys(parameters).filter((name) => spec.parameters[name] === undefined || !isBound(spec.parameters[name]!)).map((name) => parameters[name]!))
  return summary
}

/** Options of a one-call run ({@link train} with a method). */
export interface TrainOptions extends TrainingOptions {
  /** Where a method given by name is looked up (default: the built-in interpreters). */
  readonly registry?: InterpreterRegistry
}

const trainWithRule = (spec: Spec, rule: UpdateRule<any>, options: TrainingOptions): Effect.Effect<TrainingResult, TrainingError> =>
  trainingEvents(spec, rule, { ...options, keepParameters: true }).pipe(
    Stream.runLast,
    Effect.map((last) => {
      if (last._tag === "Some" && last.value._tag === "Finished" && last.value.parameters !== undefined) {
        return { ...last.value.summary, parameters: last.value.parameters }
      }
      throw new Error("unreachable: a training stream always ends with a Finished event")
    }),
  )

const isUpdateRule = (how: UpdateRule<any> | MethodLike): how is UpdateRule<any> => typeof how === "object" && "step" in how

/**
 * Train `spec` with an update rule already lowered from its structure (the three-step path:
 * `decodeOptions` → `lower` → `train`). Returns the summary and the trained parameters, which the
 * caller owns (see {@link TrainingResult}).
 */
export function train<P extends string>(
  spec: Spec<P>,
  rule: UpdateRule<any>,
  options?: TrainingOptions,
): Effect.Effect<TrainingResult<P>, TrainingError>
/**
 * Train a declared problem with a method in one call: `train(spec, method(bloop, { rho: 0.01 }))`,
 * `train(spec, "pcgrad")` or `train(spec, bloop)`. The spec (or a {@link SpecInput}, checked with
 * `makeSpec`) gives the seed once, for both the data and the method. Returns the summary and the
 * trained parameters, which the caller owns (see {@link TrainingResult}).
 */
export function train<D extends ParameterDeclarations>(
  spec: SpecInput<D>,
  method: MethodLike,
  options?: TrainOptions,
): Effect.Effect<TrainingResult<ParameterNames<D>>, TrainingError | SpecError | LoweringError>
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
export const trainPromise = <D extends ParameterDeclarations>(
  spec: SpecInput<D>,
  how: MethodLike,
  options?: TrainOptions,
): Promise<TrainingResult<ParameterNames<D>>> =>
  Effect.runPromise(Effect.either(train(spec, how, options))).then((result) => {
    if (Either.isLeft(result)) throw result.left
    return result.right
  })
