/**
 * A problem: named parameters and named objectives (with their data), so that JSON specs and the
 * command line can refer to losses by name. Built-in problems live in `src/problems`.
 */
import type { Objective } from "./objective.ts"
import type { ParameterSharing } from "./sharing.ts"
import type { ParameterDeclaration } from "./spec.ts"

export interface Problem {
  readonly name: string
  readonly description: string
  readonly parameters: Readonly<Record<string, ParameterDeclaration>>
  /** Objectives a structure may refer to, by name. */
  readonly objectives: Readonly<Record<string, Objective<any>>>
  /** Measured at the end of a run only (held-out losses, accuracies). */
  readonly evaluations: ReadonlyArray<Objective<any>>
  /** Known reference values worth printing beside results (e.g. the bilevel optimum). */
  readonly references: Readonly<Record<string, number>>
  /**
   * For multi-task problems, which parameters belong to one task alone (its head); the rest are
   * shared. `withSharedParameters(rule, problem.sharing)` makes a multi-task rule aggregate the
   * shared parameters only.
   */
  readonly sharing?: ParameterSharing
  /** Release the tensors the problem holds (its data). */
  readonly dispose: () => void
}
