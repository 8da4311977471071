/**
 * Lowering for rules that act on the task gradients themselves rather than on their Gram matrix
 * (GradDrop, TrimmedMean, MoCo, DB-MTL, ExcessMTL): the tasks of any structure (see `tasksOf`), or
 * `Unsupported` naming the rule.
 */
import { Effect } from "effect"
import { Unsupported } from "./interpreter.ts"
import { lowerToLevels, objectiveNames, type Task, tasksOf } from "./levels.ts"
import type { Structure } from "../dsl/structure.ts"

/** The tasks and objective names of `structure`, with a check on the number of tasks. */
export const lowerToTasks = (
  interpreter: string,
  structure: Structure,
  unsupported?: (taskCount: number) => string | undefined,
): Effect.Effect<{ readonly tasks: ReadonlyArray<Task>; readonly objectives: ReadonlyArray<string> }, Unsupported> =>
  Effect.flatMap(lowerToLevels(interpreter, structure), (levels) => {
    const tasks = tasksOf(levels)
    const reason = unsupported?.(tasks.length)
    return reason === undefined
      ? Effect.succeed({ tasks, objectives: objectiveNames(levels) })
      : Effect.fail(new Unsupported({ interpreter, construct: `${tasks.length} task(s)`, hint: reason }))
  })
