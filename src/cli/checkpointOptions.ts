/**
 * Command-line options for checkpointing a run, shared by every command that trains
 * (`scalpel run`, ...):
 *
 * - `--checkpoint <file>`: write the run's state to this file (atomically) every
 *   `--checkpoint-every` steps, after the last step, and when the run is interrupted;
 * - `--checkpoint-every <n>`: the interval (default 100);
 * - `--resume <file>`: continue the run saved in this file, bit for bit;
 * - `--resume-with-changed-spec`: resume even when the checkpoint was written for a different spec
 *   (otherwise refused, naming the first difference); the override is recorded in the run's log.
 *
 * Wiring into a command: add {@link checkpointFlags} to its options and spread
 * {@link checkpointTrainingOptions} of the parsed values into the `TrainingOptions` given to
 * `trainingEvents` / `train`, with the resolved spec's {@link specDeclaration}. Ctrl-C needs no handler of its own: `NodeRuntime.runMain` (used by
 * `src/cli/main.ts`) turns SIGINT into an interruption of the main fiber, the training stream's
 * finalizer then writes the state of the last completed step, and the process exits with code 0.
 * Resuming with `--resume <file> --checkpoint <file>` continues writing to the same file.
 */
import { Options } from "@effect/cli"
import { Option } from "effect"
import { encodeSpecDocument } from "../dsl/json.ts"
import type { ResolvedSpec } from "../problems/resolveSpec.ts"
import type { TrainingOptions } from "../training/train.ts"

/** Steps between checkpoint writes when `--checkpoint-every` is not given. */
export const defaultCheckpointEvery = 100

/** The `--checkpoint`, `--checkpoint-every` and `--resume` options. */
export const checkpointFlags = {
  // Plain text, not Options.file: see the note on outOption in run.ts.
  checkpoint: Options.text("checkpoint").pipe(
    Options.withPseudoName("FILE"),
    Options.withDescription("write the run's state to this file (atomically) periodically, at the end and on Ctrl-C"),
    Options.optional,
  ),
  checkpointEvery: Options.integer("checkpoint-every").pipe(
    Options.withDescription("steps between checkpoint writes"),
    Options.withDefault(defaultCheckpointEvery),
  ),
  resume: Options.text("resume").pipe(
    Options.withPseudoName("FILE"),
    Options.withDescription("continue the run saved in this checkpoint file (same spec, method and backend give bit-identical results)"),
    Options.optional,
  ),
  resumeWithChangedSpec: Options.boolean("resume-with-changed-spec").pipe(
    Options.withDescription("with --resume: continue even if the checkpoint was written for a different spec (the run then mixes two specs; recorded in events.jsonl and summary.json)"),
  ),
} as const

/** The parsed values of {@link checkpointFlags}. */
export interface CheckpointFlagValues {
  readonly checkpoint: Option.Option<string>
  readonly checkpointEvery: number
  readonly resume: Option.Option<string>
  readonly resumeWithChangedSpec: boolean
}

/**
 * What a checkpoint records of a command-line run (`TrainingOptions.declaration`): the resolved
 * spec document with the problem's and the method's options as decoded (defaults filled in, so
 * that leaving a default out or writing it gives the same record), without the step count (a
 * finished run can be extended) and the worker count (how, not what, is computed).
 */
export const specDeclaration = (resolved: Pick<ResolvedSpec, "document" | "problemOptions">, methodOptions: unknown): unknown => {
  const { steps: _steps, workers: _workers, ...rest } = encodeSpecDocument(resolved.document)
  return {
    ...rest,
    problem: { name: resolved.document.problem.name, options: resolved.problemOptions },
    method: { name: resolved.document.method.name, options: methodOptions },
  }
}

/** The `TrainingOptions` fields the checkpoint flags ask for. */
export const checkpointTrainingOptions = (
  flags: CheckpointFlagValues,
  declaration?: unknown,
): Pick<TrainingOptions, "checkpoint" | "resumeFrom" | "resumeWithChangedSpec" | "declaration"> => ({
  ...Option.match(flags.checkpoint, { onNone: () => ({}), onSome: (path) => ({ checkpoint: { path, every: flags.checkpointEvery } }) }),
  ...Option.match(flags.resume, { onNone: () => ({}), onSome: (resumeFrom) => ({ resumeFrom }) }),
  ...(flags.resumeWithChangedSpec ? { resumeWithChangedSpec: true } : {}),
  ...(declaration === undefined ? {} : { declaration }),
})
