/**
 * What a session fixes when it opens and never changes: the spec and rule, the objectives the rule
 * reads, the variables and their layout, the optimizer, the data sources, the gradient workers.
 * Steps, checkpoints and evaluations read it; only {@link SessionState} changes.
 */
import type { DeclaredConstraint } from "./constraints.ts"
import type { Optimizer } from "../core/optimizers.ts"
import type { Layout } from "../core/paramVector.ts"
import type { Variable } from "../core/tf.ts"
import type { DataSource, Objective } from "../dsl/objective.ts"
import type { Spec } from "../dsl/spec.ts"
import type { UpdateRule } from "../interpreters/interpreter.ts"
import type { WorkerPool } from "./parallel/protocol.ts"
import type { Sampler } from "./sampling.ts"
import type { SpecRecord } from "./specRecord.ts"
import type { ZeroGradientPolicy } from "./zeroGradient.ts"

export interface RunContext {
  readonly spec: Spec
  readonly rule: UpdateRule<any>
  /** The objectives the rule reads, in the rule's order. */
  readonly objectives: ReadonlyArray<Objective<any>>
  /** Every objective the structure declares (what the summary's final losses cover). */
  readonly declared: ReadonlyArray<Objective<any>>
  readonly variables: Readonly<Record<string, Variable>>
  /** Parameter names, sorted (the layout's order). */
  readonly names: ReadonlyArray<string>
  readonly layout: Layout
  readonly optimizer: Optimizer
  /** The distinct data sources of `objectives`, in order of first appearance, and each objective's source (-1: none). */
  readonly sources: ReadonlyArray<DataSource<unknown>>
  readonly sourceOf: ReadonlyArray<number>
  /** The structure's constraints (`constrain(...)`), reported in events and the summary. */
  readonly constraints: ReadonlyArray<DeclaredConstraint>
  /** Draws each step's indices (`sampling.ts`). */
  readonly sample: Sampler
  readonly zeroPolicy: ZeroGradientPolicy
  readonly pool: WorkerPool | undefined
  /** The declaration recorded in checkpoints. */
  readonly specRecord: SpecRecord
}
