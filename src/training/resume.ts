/**
 * Resuming a run from a checkpoint: check that the checkpoint fits the run (its spec record, its
 * identity, its tensors' outlines), then rebuild the session state it holds.
 */
import { Either } from "effect"
import { disposeOptimizerState, type OptimizerState } from "../core/optimizers.ts"
import type { Layout } from "../core/paramVector.ts"
import { tf, type Variable } from "../core/tf.ts"
import type { Spec } from "../dsl/spec.ts"
import type { RuleState, UpdateRule } from "../interpreters/interpreter.ts"
import { type CheckpointContents, CheckpointError, checkParameters, outlineMismatch, runMismatch, tensorStateOf } from "./checkpoint.ts"
import type { ResumedEvent } from "./events.ts"
import { runIdentity } from "./runIdentity.ts"
import type { SessionState } from "./sessionState.ts"
import { SpecChangedOnResume, specChange, type SpecRecord } from "./specRecord.ts"
import { disposeReplaced } from "./tensors.ts"

/** A checkpoint read from `path`, to resume. */
export interface ResumeFrom {
  readonly path: string
  readonly contents: CheckpointContents
}

/** Check a checkpoint against the run about to resume from it; undefined when it fits. */
export const resumeProblem = (
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

/**
 * Check `resume` against the run and, when it fits, assign its parameters to `variables` and
 * return the state it holds (replacing `fresh`, which is released) with the event announcing the
 * resume. On failure nothing is assigned and `fresh` is left to the caller.
 */
export const restore = (
  resume: ResumeFrom,
  spec: Spec,
  rule: UpdateRule<any>,
  layout: Layout,
  variables: Readonly<Record<string, Variable>>,
  specRecord: SpecRecord,
  fresh: SessionState,
  allowChangedSpec: boolean,
): Either.Either<{ readonly state: SessionState; readonly event: ResumedEvent }, CheckpointError | SpecChangedOnResume> => {
  const { path, contents } = resume
  const changed = contents.spec === undefined ? undefined : specChange(contents.spec, specRecord)
  if (changed !== undefined && !allowChangedSpec) return Either.left(new SpecChangedOnResume({ path, difference: changed }))
  const problem = resumeProblem(contents, path, spec, rule, layout, fresh.ruleState, fresh.optimizerState, changed !== undefined)
  if (problem !== undefined) return Either.left(problem)
  const event: ResumedEvent = {
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
  const ruleState = tensorStateOf(contents.ruleState)
  const slots = tensorStateOf(contents.optimizer.slots) as OptimizerState["slots"]
  disposeReplaced(fresh.ruleState, undefined)
  disposeOptimizerState(fresh.optimizerState)
  return Either.right({
    event,
    state: {
      ...fresh,
      ruleState,
      optimizerState: { t: contents.optimizer.t, slots },
      rng: contents.dataRng,
      skipped: contents.skippedSteps,
      completed: contents.step,
    },
  })
}
