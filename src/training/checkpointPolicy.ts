/**
 * When a run writes checkpoints and what they hold: every `every` steps and after the last step
 * (and, from the stream's finalizer, when the run is interrupted or its consumer stops early);
 * the contents are a host copy of the session state and the parameters.
 */
import { Effect, Either } from "effect"
import { matMulKernelVariant } from "../core/packedMatMul.ts"
import {
  type CheckpointContents,
  CheckpointError,
  type CheckpointSettings,
  hostStateOf,
  toHostTensor,
  writeCheckpoint,
} from "./checkpoint.ts"
import type { RunContext } from "./context.ts"
import type { CheckpointEvent } from "./events.ts"
import { runIdentity } from "./runIdentity.ts"
import type { SessionState } from "./sessionState.ts"

/** Refuse settings whose interval is not a positive integer. */
export const checkSettings = (settings: CheckpointSettings | undefined): Effect.Effect<void, CheckpointError> =>
  settings !== undefined && !(Number.isInteger(settings.every) && settings.every > 0)
    ? Effect.fail(new CheckpointError({ path: settings.path, problem: `checkpoint interval must be a positive integer, got ${settings.every}` }))
    : Effect.void

/** Whether a checkpoint is due after step `t` of a run of `steps`. */
export const checkpointDue = (settings: CheckpointSettings | undefined, t: number, steps: number): settings is CheckpointSettings =>
  settings !== undefined && (t % settings.every === 0 || t === steps)

/** The host copy of everything a checkpoint holds, at the state's last completed step. */
export const snapshot = (ctx: RunContext, state: SessionState): Either.Either<CheckpointContents, CheckpointError> =>
  Either.gen(function* () {
    const parameters: Record<string, CheckpointContents["parameters"][string]> = {}
    for (const name of ctx.names) parameters[name] = yield* toHostTensor(ctx.variables[name]!, `parameters.${name}`)
    const slots: Record<string, CheckpointContents["parameters"][string]> = {}
    for (const [name, slot] of Object.entries(state.optimizerState.slots)) slots[name] = yield* toHostTensor(slot, `optimizer.slots.${name}`)
    return {
      step: state.completed,
      run: runIdentity(ctx.spec, ctx.rule, ctx.layout),
      spec: ctx.specRecord,
      matMulKernel: matMulKernelVariant(),
      dataRng: state.rng,
      skippedSteps: state.skipped,
      parameters,
      ruleState: yield* hostStateOf(state.ruleState),
      optimizer: { t: state.optimizerState.t, slots },
    }
  })

/** Write the state to the configured checkpoint file. */
export const checkpointNow = (ctx: RunContext, state: SessionState, settings: CheckpointSettings): Effect.Effect<CheckpointEvent, CheckpointError> =>
  Effect.flatMap(
    Either.match(snapshot(ctx, state), {
      onLeft: (e) => Effect.fail(new CheckpointError({ path: settings.path, problem: e.message })),
      onRight: Effect.succeed,
    }),
    (contents) => Effect.as(writeCheckpoint(settings.path, contents), { _tag: "Checkpoint", step: contents.step, path: settings.path } as const),
  )
