/**
 * One training step as a function of the session state: draw the mini-batches, compute one
 * gradient per objective, check them (non-finite: fail or skip; all zero: warn or fail), ask the
 * rule for a direction, apply the optimizer's step, and return the step's event with the next
 * state. The given state's tensors are released when the step is applied (the next state owns
 * what it keeps); on a skip or a failure the given state stays valid.
 */
import { Effect } from "effect"
import { applyStep, decoupledDecayAt, type Optimizer, type OptimizerState } from "../core/optimizers.ts"
import type { Layout } from "../core/paramVector.ts"
import { tf, tidy, type Tensor1D, type Variable } from "../core/tf.ts"
import type { RuleState, UpdateRule } from "../interpreters/interpreter.ts"
import { constraintStatus } from "./constraints.ts"
import type { RunContext } from "./context.ts"
import { type LossNotScalar, lossShapeAsFailure, NonFiniteGradient, NonFiniteUpdate } from "./errors.ts"
import type { StepEvent } from "./events.ts"
import { parallelGradients, serialGradients, type StepGradients } from "./gradients.ts"
import type { GradientWorkerError } from "./parallel/protocol.ts"
import { type SessionState, skippedStep } from "./sessionState.ts"
import { disposeReplaced } from "./tensors.ts"
import { judgeZeroGradients, ZeroGradient, zeroChecksAt, zeroGradientMessage } from "./zeroGradient.ts"

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
  stepScale = 1,
): { readonly ruleState: RuleState; readonly optimizerState: OptimizerState; readonly brokenParameter?: string } => {
  const [direction, nextRuleState] = tidy(() => rule.step(gradients, ruleState, losses))
  const [delta, nextOptimizerState] = tidy(() => {
    const [step, next] = optimizer.update(direction, optimizerState)
    // The plateau schedule's factor (plateau.ts): Δ·s is the step of learning rate η·s.
    return stepScale === 1 ? [step, next] : [tf.mul(step, stepScale) as Tensor1D, next]
  })
  // AdamW's decoupled decay θ ← (1 − c)·θ − Δ, c = η_t·λ, scaled with the rate by the plateau factor.
  const brokenParameter = applyStep(layout, variables, delta, decoupledDecayAt(optimizer, nextOptimizerState) * stepScale)
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

/** A completed step: its event and the state after it. */
export interface StepOutcome {
  readonly event: StepEvent
  readonly state: SessionState
}

/** What a step can fail with. */
export type StepError = NonFiniteGradient | NonFiniteUpdate | ZeroGradient | GradientWorkerError | LossNotScalar

/**
 * Step `t` from `state`. `startedAt` (a `performance.now()` reading) is when the session started:
 * the event's `elapsedMs` counts from there, its `stepMs` is this step's own duration.
 */
export const runStep = (ctx: RunContext, state: SessionState, t: number, startedAt: number): Effect.Effect<StepOutcome, StepError> =>
  Effect.suspend(() => {
    const begin = performance.now()
    const checkZero = zeroChecksAt(ctx.zeroPolicy, t, ctx.rule.objectives, state.zeroSuspects)
    const [indices, rng] = ctx.sample(state.rng, t)
    const drawn: SessionState = { ...state, rng }
    const gradients = lossShapeAsFailure(
      ctx.pool === undefined ? Effect.sync(() => serialGradients(ctx, indices, checkZero)) : parallelGradients(ctx, ctx.pool, t, indices, checkZero),
    )
    return Effect.flatMap(gradients, (computed) => afterGradients(ctx, drawn, t, computed, (): Pick<StepEvent, "elapsedMs" | "stepMs"> => {
      const now = performance.now()
      return { elapsedMs: now - startedAt, stepMs: now - begin }
    }))
  })

/** The rest of step `t` once its gradients are computed: checks, the rule's direction, the update. */
const afterGradients = (
  ctx: RunContext,
  state: SessionState,
  t: number,
  computed: StepGradients,
  times: () => Pick<StepEvent, "elapsedMs" | "stepMs">,
): Effect.Effect<StepOutcome, NonFiniteGradient | NonFiniteUpdate | ZeroGradient> => {
  const { spec, objectives } = ctx
  const { losses, gradients, finite } = computed
  const lossValues = tf.tidy(() => tf.stack(objectives.map((o) => losses[o.name]!)).dataSync())
  const lossRecord: Record<string, number> = {}
  objectives.forEach((o, i) => (lossRecord[o.name] = lossValues[i]!))
  const release = () => tf.dispose([...Object.values(losses), ...Object.values(gradients)])
  const skip = (reason: string): StepOutcome => ({
    event: { _tag: "Step", step: t, losses: lossRecord, skipped: true, ...times() },
    state: skippedStep(state, t, reason),
  })
  const bad = objectives.find((o, i) => !Number.isFinite(lossValues[i]!) || !finite[o.name])
  if (bad !== undefined) {
    release()
    if (spec.nonFinite === "fail") return Effect.fail(new NonFiniteGradient({ objective: bad.name, step: t }))
    return Effect.succeed(skip(`the gradient or loss of objective '${bad.name}' was non-finite`))
  }
  const judged = judgeZeroGradients(t, spec.steps, computed.zero, state.zeroSuspects)
  const firstZero = judged.report[0]
  if (firstZero !== undefined && ctx.zeroPolicy === "fail") {
    release()
    return Effect.fail(new ZeroGradient({ ...firstZero, step: t }))
  }
  const next = combineAndApply(ctx.rule, ctx.optimizer, ctx.layout, ctx.variables, gradients, state.ruleState, state.optimizerState, lossRecord, state.watch.plateau.factor)
  release()
  if (next.brokenParameter !== undefined) {
    const error = new NonFiniteUpdate({ parameter: next.brokenParameter, step: t, optimizer: `${spec.optimizer.kind}, learningRate ${spec.optimizer.learningRate}` })
    if (spec.nonFinite === "fail") return Effect.fail(error)
    return Effect.succeed({ ...skip(error.cause_), state: { ...skippedStep(state, t, error.cause_), zeroSuspects: judged.suspects } })
  }
  const constraints = ctx.constraints.length === 0 ? {} : { constraints: constraintStatus(ctx.constraints, lossRecord, next.ruleState) }
  const outcome: StepOutcome = {
    event: { _tag: "Step", step: t, losses: lossRecord, skipped: false, ...times(), ...constraints },
    state: {
      ...state,
      ruleState: next.ruleState,
      optimizerState: next.optimizerState,
      completed: t,
      streak: { count: 0, reason: "" },
      firstLosses: state.firstLosses ?? lossRecord,
      zeroSuspects: judged.suspects,
    },
  }
  if (judged.report.length === 0) return Effect.succeed(outcome)
  return Effect.as(
    Effect.forEach(judged.report, (z) => Effect.logWarning(zeroGradientMessage(z.objective, t, z.readsParameters)), { discard: true }),
    outcome,
  )
}
