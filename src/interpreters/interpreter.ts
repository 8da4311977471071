/**
 * The one interface through which interpreters meet the DSL.
 *
 * An {@link Interpreter} lowers a declared {@link Structure} to an {@link UpdateRule}: a pair of
 * pure functions with explicit state, in the manner of Optax's `GradientTransformation`.
 * `step` is synchronous on purpose: it runs inside `tf.tidy`, so every intermediate tensor is
 * released exactly, and the hot path pays no fiber overhead. Everything that can fail (an
 * unsupported construct, bad options) fails once, when lowering, as a typed Effect error.
 */
import { Data, type Effect } from "effect"
import type { Layout } from "../core/paramVector.ts"
import type { Tensor, Tensor1D } from "../core/tf.ts"
import type { Structure } from "../dsl/structure.ts"
import type { Guarantees } from "./guarantees.ts"

/** Serialisable rule state: tensors, numbers, strings, booleans, and arrays/records of them. */
export type RuleState =
  | Tensor
  | number
  | string
  | boolean
  | ReadonlyArray<RuleState>
  | { readonly [key: string]: RuleState }

/** Flat gradients (see `core/paramVector.ts`), keyed by objective name. */
export type Gradients = Readonly<Record<string, Tensor1D>>

/**
 * Mini-batch loss values, keyed by objective name. The training loop passes them as the optional
 * third argument of `step`; rules that enforce a bound on a loss (constraints, barriers) read
 * them, all others ignore them.
 */
export type Losses = Readonly<Record<string, number>>

/**
 * What a rule may read when its state is created (the optional second argument of `init`; the
 * training loop always passes it).
 */
export interface RuleStart {
  /**
   * The parameters' values before step 1, as one flat vector in the layout's order: a fresh copy at
   * each call, owned by the caller of `parameters()` (a rule may keep it in its state).
   */
  readonly parameters: () => Tensor1D
}

/**
 * An update rule: `init` allocates the state, `step` maps gradients and state to a direction d
 * (the optimizer then moves θ along −d) and the next state.
 *
 * Contract: `step` must not dispose its arguments, and may return tensors of the old state in the
 * new one (the training loop releases only what the new state no longer holds).
 */
export interface UpdateRule<S extends RuleState = RuleState> {
  /** The interpreter that built it, for reports. */
  readonly name: string
  /** The objectives whose gradients `step` reads. */
  readonly objectives: ReadonlyArray<string>
  /**
   * The state before step 1, for the run's parameter layout. `start` (optional, for backward
   * compatibility) gives the initial parameters; a rule that needs them and does not get them
   * throws {@link MissingStart}. A rule whose declaration cannot fit the layout
   * (`withSharedParameters` with a selector that selects nothing) throws a `SpecError`, which
   * `train` returns as a failure.
   */
  readonly init: (layout: Layout, start?: RuleStart) => S
  /**
   * `losses` (optional, for backward compatibility) holds the current mini-batch loss of every
   * objective in `objectives`; the training loop always passes it. A rule that needs it and does
   * not get it throws {@link MissingLosses}.
   */
  readonly step: (gradients: Gradients, state: S, losses?: Losses) => readonly [Tensor1D, S]
}

/** A rule that reads loss values (a constraint's current value) was stepped without them. */
export class MissingLosses extends Data.TaggedError("MissingLosses")<{
  readonly rule: string
  readonly objective: string
}> {
  override get message(): string {
    return `rule '${this.rule}' needs the current loss of objective '${this.objective}'; pass losses as the third argument of step (the training loop does)`
  }
}

/** A rule whose state starts from the parameters (Bloop's `emaInit: "parameters"`) was initialised without them. */
export class MissingStart extends Data.TaggedError("MissingStart")<{
  readonly rule: string
  readonly option: string
}> {
  override get message(): string {
    return `rule '${this.rule}' (${this.option}) needs the initial parameters; pass { parameters } as the second argument of init (the training loop does)`
  }
}

/** Facts about the run that a rule may use: the spec's seed (for PCGrad's task order, ...). */
export interface LoweringContext {
  readonly seed: number
}

/** An interpreter cannot lower a construct; it never falls back silently. */
export class Unsupported extends Data.TaggedError("Unsupported")<{
  readonly interpreter: string
  readonly construct: string
  readonly hint?: string
}> {
  override get message(): string {
    return `interpreter '${this.interpreter}' cannot lower ${this.construct}${this.hint === undefined ? "" : ` (${this.hint})`}`
  }
}

/** Options an interpreter was given do not make sense. */
export class InvalidOptions extends Data.TaggedError("InvalidOptions")<{
  readonly interpreter: string
  readonly path: string
  readonly problem: string
}> {
  override get message(): string {
    return `interpreter '${this.interpreter}' options${this.path === "" ? "" : `.${this.path}`}: ${this.problem}`
  }
}

/**
 * Lowers a structure to an update rule. `decodeOptions` turns untyped options (from JSON or the
 * command line) into the interpreter's typed options, so that every interpreter is usable by name.
 */
export interface Interpreter<Options = unknown> {
  readonly name: string
  readonly description: string
  readonly decodeOptions: (raw: unknown) => Effect.Effect<Options, InvalidOptions>
  /** The properties its rules claim (checked by `checkGuarantees` in `scalpel/testing`). */
  readonly guarantees?: Guarantees
  readonly lower: (structure: Structure, options: Options, context: LoweringContext) => Effect.Effect<UpdateRule<any>, Unsupported>
}
