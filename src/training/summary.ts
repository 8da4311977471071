/** The summary a finished run reports: final losses and evaluations on whole data sets, divergence. */
import { matMulKernelVariant } from "../core/packedMatMul.ts"
import { tf } from "../core/tf.ts"
import { constraintStatus } from "./constraints.ts"
import { divergenceOf } from "./divergence.ts"
import { measureAll } from "./evaluation.ts"
import type { TrainingSummary } from "./events.ts"
import type { TrainingOptions } from "./options.ts"
import type { Session } from "./session.ts"

/** How the run ended, beside its measurements. */
export interface RunEnd {
  readonly stopped: TrainingSummary["stopped"]
  readonly restoredBest: TrainingSummary["restoredBest"]
}

/** Measure the session's objectives and evaluations at its current parameters and summarise the run. */
export const summarize = (session: Session, options: TrainingOptions, end: RunEnd): TrainingSummary => {
  const { ctx, resumed } = session
  const state = session.state()
  const chunk = options.evaluationChunk ?? 4096
  const finalLosses = measureAll(ctx.declared, ctx.variables, chunk)
  const first = state.firstLosses ?? {}
  const divergence = divergenceOf(first, finalLosses)
  return {
    rule: ctx.rule.name,
    backend: tf.getBackend(),
    matMulKernel: matMulKernelVariant(),
    steps: state.completed,
    skippedSteps: state.skipped,
    firstLosses: first,
    ...(divergence === undefined ? {} : { divergence }),
    ...(resumed?.specChange === undefined ? {} : { resumedWithChangedSpec: { checkpoint: resumed.path, difference: resumed.specChange } }),
    finalLosses,
    constraints: constraintStatus(ctx.constraints, finalLosses, state.ruleState),
    evaluations: measureAll(options.evaluations ?? [], ctx.variables, chunk),
    wallTimeMs: Date.now() - session.startedWall,
    interrupted: end.stopped?.reason === "aborted",
    ...(end.stopped === undefined ? {} : { stopped: end.stopped }),
    ...(end.restoredBest === undefined ? {} : { restoredBest: end.restoredBest }),
    learningRateFactor: state.watch.plateau.factor,
  }
}
