/**
 * A live session: the run's fixed context (variables, layout, optimizer, data sources) and a cell
 * holding its current {@link SessionState}. Opening it creates the variables and, when resuming,
 * restores the checkpoint; `dispose` releases everything the session still owns.
 */
import { Effect, Either } from "effect"
import { makeOptimizer } from "../core/optimizers.ts"
import { flatten, layoutOf } from "../core/paramVector.ts"
import { tf } from "../core/tf.ts"
import type { Objective, Params } from "../dsl/objective.ts"
import { SpecError } from "../dsl/errors.ts"
import type { Spec } from "../dsl/spec.ts"
import { objectivesOf } from "../dsl/structure.ts"
import type { UpdateRule } from "../interpreters/interpreter.ts"
import type { CheckpointError } from "./checkpoint.ts"
import { constraintsOf } from "./constraints.ts"
import type { RunContext } from "./context.ts"
import { MissingObjective } from "./errors.ts"
import type { ResumedEvent } from "./events.ts"
import type { TrainingOptions } from "./options.ts"
import type { WorkerPool } from "./parallel/protocol.ts"
import { sourceSlots } from "./parallel/sources.ts"
import { createVariables, isBound } from "./parameters.ts"
import { restore, type ResumeFrom } from "./resume.ts"
import { derivedDeclaration } from "./runIdentity.ts"
import { makeSampler } from "./sampling.ts"
import { disposeState, initialState, type SessionState } from "./sessionState.ts"
import { type SpecChangedOnResume, specRecordOf } from "./specRecord.ts"

export interface Session {
  readonly ctx: RunContext
  /** The state after the last completed step. */
  readonly state: () => SessionState
  /** Make `next` the current state (a step returned it; the previous state's tensors were released by the step). */
  readonly advance: (next: SessionState) => void
  /** `performance.now()` when the session opened: step events' `elapsedMs` count from here. */
  readonly startedAt: number
  /** `Date.now()` when the session opened. */
  readonly startedWall: number
  /** The event announcing the resume, when resuming. */
  readonly resumed: ResumedEvent | undefined
  /** The parameters, no longer disposed by `dispose`: their new owner is the caller. */
  readonly handOver: () => Params
  readonly dispose: () => void
}

export const openSession = (
  spec: Spec,
  rule: UpdateRule<any>,
  options: TrainingOptions,
  resume: ResumeFrom | undefined,
  pool: WorkerPool | undefined,
): Effect.Effect<Session, MissingObjective | CheckpointError | SpecChangedOnResume | SpecError> =>
  Effect.suspend((): Effect.Effect<Session, MissingObjective | CheckpointError | SpecChangedOnResume | SpecError> => {
    const declared = objectivesOf(spec.structure)
    const byName = new Map(declared.map((o) => [o.name, o]))
    const objectives: Array<Objective<any>> = []
    for (const name of rule.objectives) {
      const found = byName.get(name)
      if (found === undefined) return Effect.fail(new MissingObjective({ objective: name, rule: rule.name }))
      objectives.push(found)
    }
    const variables = createVariables(spec.parameters, spec.seed)
    const names = Object.keys(variables).sort()
    const layout = layoutOf(variables)
    const optimizer = makeOptimizer(spec.optimizer)
    const { sources, sourceOf } = sourceSlots(objectives)
    const ctx: RunContext = {
      spec,
      rule,
      objectives,
      declared: [...byName.values()],
      variables,
      names,
      layout,
      optimizer,
      sources,
      sourceOf,
      constraints: constraintsOf(spec.structure),
      sample: makeSampler(spec.sampling, sources, spec.batchSize, spec.seed),
      zeroPolicy: options.zeroGradient ?? "warn",
      pool,
      specRecord: specRecordOf(options.declaration ?? derivedDeclaration(spec, rule, layout)),
    }
    let handedOver = false
    // Variables the spec bound (fromVariable, fromModel) belong to the caller, always.
    const disposeVariables = () => {
      if (!handedOver) tf.dispose(names.filter((n) => !isBound(spec.parameters[n]!)).map((n) => variables[n]!))
    }
    const started = startingState(rule, optimizer, layout, spec.seed, { parameters: () => flatten(layout, variables) })
    if (Either.isLeft(started)) {
      disposeVariables()
      return Effect.fail(started.left)
    }
    let current = started.right
    const dispose = () => {
      disposeState(current)
      disposeVariables()
    }
    let resumed: ResumedEvent | undefined
    if (resume !== undefined) {
      const restored = restore(resume, spec, rule, layout, variables, ctx.specRecord, current, options.resumeWithChangedSpec === true)
      if (Either.isLeft(restored)) {
        dispose()
        return Effect.fail(restored.left)
      }
      current = restored.right.state
      resumed = restored.right.event
    }
    return Effect.succeed<Session>({
      ctx,
      state: () => current,
      advance: (next) => {
        current = next
      },
      startedAt: performance.now(),
      startedWall: Date.now(),
      resumed,
      handOver: () => {
        handedOver = true
        return variables
      },
      dispose,
    })
  })

/**
 * The state before step 1, or the `SpecError` a rule's `init` throws when the declaration it was
 * given does not fit the run's parameters (a sharing that selects none of them, for instance):
 * only the run knows the layout, so that is the first place the mismatch can be seen.
 */
const startingState = (...args: Parameters<typeof initialState>): Either.Either<SessionState, SpecError> => {
  try {
    return Either.right(initialState(...args))
  } catch (error) {
    if (error instanceof SpecError) return Either.left(error)
    throw error
  }
}
