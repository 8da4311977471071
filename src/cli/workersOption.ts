/**
 * The `--workers N` option of `run`: compute each step's gradients on N threads (data parallel,
 * `TrainingOptions.workers`); overrides the spec document's `workers`.
 */
import { Options } from "@effect/cli"
import { Option } from "effect"
import type { ResolvedSpec } from "../problems/resolveSpec.ts"
import { recipeOf } from "./documentRecipe.ts"
import { gradientWorkers } from "../training/parallel/workerPool.ts"
import type { TrainingOptions } from "../training/train.ts"

export const workersOption = Options.integer("workers").pipe(
  Options.withDescription("threads computing each step's gradients (default: the spec's workers, else 1)"),
  Options.optional,
)

/** The training option for the flag (or the document's `workers`); nothing for one thread. */
export const workersTrainingOptions = (
  flag: Option.Option<number>,
  resolved: ResolvedSpec,
  problemModules: ReadonlyArray<string> = [],
): Pick<TrainingOptions, "workers"> => {
  const count = Option.getOrElse(flag, () => resolved.document.workers)
  return count === 1 ? {} : { workers: gradientWorkers(count, recipeOf(resolved.document, problemModules)) }
}
