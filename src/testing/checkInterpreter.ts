/**
 * Property-test any {@link Interpreter} (built-in or custom): lower it on a synthetic structure,
 * feed its update rule generated gradients (tensors made from plain arrays and released after each
 * run), and report counterexamples readably. The guarantees the interpreter declares
 * (`Interpreter.guarantees`) are checked too, tightness included (see `guarantees.ts`).
 */
import { Data, Effect } from "effect"
import fc from "fast-check"
import { hostKernelsEnabled, useHostKernels } from "../core/hostKernels.ts"
import type { Layout } from "../core/paramVector.ts"
import { layoutOf } from "../core/paramVector.ts"
import { tf, tidy, type Tensor1D } from "../core/tf.ts"
import { type Objective, objective } from "../dsl/objective.ts"
import { hierarchy, type Structure } from "../dsl/structure.ts"
import type { InvalidOptions, Interpreter, RuleState, Unsupported, UpdateRule } from "../interpreters/interpreter.ts"
import { gradientSetOfLength, layoutOfShapes, parameterShapes } from "./arbitraries.ts"
import { checkGuarantees, type GuaranteeCheckOptions, type GuaranteeMismatch, type GuaranteeReport } from "./guarantees.ts"
import { type Combination, type Invariant, InvariantViolation } from "./invariants.ts"

/** Gradients for every step of a run: `steps[t][i]` is the gradient of `rule.objectives[i]` at step t. */
export type GradientSteps = ReadonlyArray<ReadonlyArray<Float32Array>>

/** What a {@link RuleProperty} sees of one generated case. */
export interface RuleTrial {
  /** The objectives the rule reads, in the order of each step's gradients. */
  readonly objectives: ReadonlyArray<string>
  readonly layout: Layout
  readonly steps: GradientSteps
  /** The rule's direction at every step of `steps`, from a fresh state. */
  readonly directions: ReadonlyArray<Float32Array>
  /** The rule's state after every step, with each tensor read back as a `Float32Array`. */
  readonly states: ReadonlyArray<PlainState>
  /** Run the rule from a fresh state on other gradients (same layout), e.g. rescaled ones. */
  readonly run: (steps: GradientSteps) => ReadonlyArray<Float32Array>
}

/**
 * A property of an update rule over several steps (state included): `check` throws an
 * {@link InvariantViolation} when it fails. Single-step invariants of `invariants.ts` are accepted
 * by {@link checkInterpreter} directly.
 */
export interface RuleProperty {
  readonly _tag: "RuleProperty"
  readonly name: string
  /** Steps per case (default 1). */
  readonly steps?: number
  /** Gradients of one step for a layout of `length` scalars and `count` objectives. */
  readonly gradients?: (length: number, count: number) => fc.Arbitrary<ReadonlyArray<Float32Array>>
  readonly check: (trial: RuleTrial) => void
}

/** Declare a {@link RuleProperty}. */
export const ruleProperty = (property: Omit<RuleProperty, "_tag">): RuleProperty => ({ _tag: "RuleProperty", ...property })

/** How to exercise an interpreter. */
export interface InterpreterCheck {
  /** Names of the synthetic objectives (default `["main", "aux"]`). */
  readonly objectives?: ReadonlyArray<string>
  /** The structure to lower, from the synthetic objectives (default: a hierarchy in the given order). */
  readonly structure?: (objectives: Readonly<Record<string, Objective<undefined>>>) => Structure
  /** Raw options, decoded with the interpreter's own `decodeOptions` (default `{}`). */
  readonly options?: unknown
  /** The lowering context's seed (default 0). */
  readonly seed?: number
  /** Properties of your own to check on the rule lowered from `structure` with `options` (default none). */
  readonly properties?: ReadonlyArray<Invariant<any> | RuleProperty>
  /**
   * The check of the interpreter's declared guarantees (`Interpreter.guarantees`): every declared
   * property must hold and every undeclared one must have a counterexample (`checkGuarantees`,
   * on the interpreter's own subject and options, not on `structure` / `options` above). Runs by
   * default when the interpreter declares guarantees; settings here tune it, `false` skips it.
   */
  readonly guarantees?: GuaranteeCheckOptions | false
  /** Cases per property (default 100). */
  readonly numRuns?: number
  /** fast-check's seed, to replay a failure. */
  readonly fastCheckSeed?: number
  /** Parameter shapes of the synthetic model (default {@link parameterShapes}). */
  readonly shapes?: fc.Arbitrary<ReadonlyArray<ReadonlyArray<number>>>
  /** Default gradients of one step (default {@link gradientSetOfLength}: edge cases included). */
  readonly gradients?: (length: number, count: number) => fc.Arbitrary<ReadonlyArray<Float32Array>>
  /**
   * Run the properties with the host kernels switched off (default false): the rule takes its
   * tensor-op paths, as on backends without host access (WebGL, tfjs-node), on the cpu or wasm
   * backend (`SCALPEL_HOST_KERNELS=0` does the same for a whole process).
   */
  readonly tensorOpPath?: boolean
}

/** A property held on every generated case. */
export interface PropertyPassed {
  readonly property: string
  readonly numRuns: number
}

/** What a successful check reports. */
export interface CheckReport {
  readonly interpreter: string
  readonly properties: ReadonlyArray<PropertyPassed>
  /** The outcome of every declared and undeclared guarantee; absent when not checked. */
  readonly guarantees?: GuaranteeReport
}

/** A property failed: the message holds fast-check's report and the counterexample in plain numbers. */
export class PropertyFailed extends Data.TaggedError("PropertyFailed")<{
  readonly interpreter: string
  readonly property: string
  readonly report: string
}> {
  override get message(): string {
    return this.report
  }
}

/** An objective whose gradients the kit supplies; its loss is never evaluated. */
const syntheticObjective = (name: string): Objective<undefined> =>
  objective(name, () => {
    throw new Error(`synthetic objective '${name}': scalpel/testing supplies its gradients directly`)
  })

/** A rule state with its tensors read back as plain arrays. */
export type PlainState = Float32Array | number | string | boolean | ReadonlyArray<PlainState> | { readonly [key: string]: PlainState }

const plainState = (state: RuleState): PlainState => {
  if (state instanceof tf.Tensor) return Float32Array.from(state.dataSync())
  if (Array.isArray(state)) return state.map(plainState)
  if (typeof state === "object") return Object.fromEntries(Object.entries(state).map(([k, v]) => [k, plainState(v as RuleState)]))
  return state as PlainState
}

/** A run of a rule: its direction and (plain) state after every step. */
export interface RuleRun {
  readonly directions: ReadonlyArray<Float32Array>
  readonly states: ReadonlyArray<PlainState>
}

/**
 * Run `rule` from a fresh state on `steps`; directions and states come back as plain arrays.
 * `initialParameters` (flat, in layout order) is what the rule's `init` sees as the parameters
 * before step 1 (`RuleStart`); without it `init` gets no start. Everything
 * runs inside one `tf.tidy` (each step also inside its own, as in the training loop), so every
 * tensor is released; a rule that keeps tensors alive anyway (`tf.keep`, variables) is reported
 * as a leak.
 */
export const runRuleRecorded = (rule: UpdateRule<any>, layout: Layout, steps: GradientSteps, initialParameters?: Float32Array): RuleRun => {
  const before = tf.memory().numTensors
  const directions: Array<Float32Array> = []
  const states: Array<PlainState> = []
  tf.tidy(() => {
    let state: RuleState = rule.init(layout, initialParameters === undefined ? undefined : { parameters: () => tf.tensor1d(initialParameters) })
    for (const gradients of steps) {
      const byName: Record<string, Tensor1D> = {}
      rule.objectives.forEach((name, i) => (byName[name] = tf.tensor1d(gradients[i]!)))
      const [direction, next] = tidy(() => rule.step(byName, state))
      directions.push(Float32Array.from(direction.dataSync()))
      states.push(plainState(next))
      state = next
    }
  })
  const leaked = tf.memory().numTensors - before
  if (leaked !== 0) {
    throw new InvariantViolation({ invariant: "leak-free", detail: `a run of ${steps.length} step(s) left ${leaked} tensor(s) allocated` })
  }
  return { directions, states }
}

/** The directions of {@link runRuleRecorded}. */
export const runRule = (rule: UpdateRule<any>, layout: Layout, steps: GradientSteps, initialParameters?: Float32Array): ReadonlyArray<Float32Array> =>
  runRuleRecorded(rule, layout, steps, initialParameters).directions

/**
 * The rule's first step from a fresh state as a {@link Combination}: `gradients[i]` is the
 * gradient of `rule.objectives[i]`, over a single variable of their length unless `layout` says
 * otherwise. Leak-free (see {@link runRule}).
 */
export const ruleAsCombination =
  (rule: UpdateRule<any>, layout?: (length: number) => Layout): Combination =>
  (gradients) => {
    const n = gradients[0]?.length ?? 0
    return runRule(rule, layout?.(n) ?? layoutOf({ w: { shape: [n] } }), [gradients])[0]!
  }

const numbers = (x: ArrayLike<number>): string => `[${Array.from(x, (v) => String(Number(v.toPrecision(9)))).join(", ")}]`

const describeCase = (rule: UpdateRule<any>, shapes: ReadonlyArray<ReadonlyArray<number>>, steps: GradientSteps, extra: unknown): string => {
  const layout = layoutOfShapes(shapes)
  const lines = [`layout: ${layout.entries.map((e) => `${e.name}[${e.shape.join(", ")}]`).join(", ")} (${layout.size} scalars)`]
  let directions: ReadonlyArray<Float32Array> | string
  try {
    directions = runRule(rule, layout, steps)
  } catch (error) {
    directions = error instanceof Error ? error.message : String(error)
  }
  const width = Math.max(...rule.objectives.map((o) => o.length), "direction".length)
  steps.forEach((gradients, t) => {
    lines.push(`step ${t + 1}:`)
    rule.objectives.forEach((name, i) => lines.push(`  ${name.padEnd(width)} = ${numbers(gradients[i]!)}`))
    if (typeof directions !== "string") lines.push(`  ${"direction".padEnd(width)} = ${numbers(directions[t]!)}`)
  })
  if (typeof directions === "string") lines.push(`(running the rule on this case failed: ${directions})`)
  if (extra !== undefined) lines.push(`extra inputs: ${fc.stringify(extra)}`)
  return lines.join("\n")
}

/** Run `body` with the host kernels off when `tensorOpPath`, restoring the setting after. */
const onPath = <T>(tensorOpPath: boolean, body: () => T): T => {
  if (!tensorOpPath) return body()
  const was = hostKernelsEnabled()
  useHostKernels(false)
  try {
    return body()
  } finally {
    useHostKernels(was)
  }
}

type Case = readonly [ReadonlyArray<ReadonlyArray<number>>, GradientSteps, unknown]

const caseArbitrary = (
  property: Invariant<any> | RuleProperty,
  count: number,
  shapes: fc.Arbitrary<ReadonlyArray<ReadonlyArray<number>>>,
  gradients: (length: number, count: number) => fc.Arbitrary<ReadonlyArray<Float32Array>>,
): fc.Arbitrary<Case> =>
  shapes.chain((s) => {
    const n = layoutOfShapes(s).size
    if (property._tag === "Invariant") {
      return gradients(n, count).chain((g) => property.extra(g).map((e): Case => [s, [g], e]))
    }
    const steps = property.steps ?? 1
    const perStep = (property.gradients ?? gradients)(n, count)
    return fc.array(perStep, { minLength: steps, maxLength: steps }).map((g): Case => [s, g, undefined])
  })

const runCase = (rule: UpdateRule<any>, property: Invariant<any> | RuleProperty, [shapes, steps, extra]: Case): void => {
  const layout = layoutOfShapes(shapes)
  if (property._tag === "Invariant") {
    property.check((g) => runRule(rule, layout, [g])[0]!, steps[0]!, extra)
    return
  }
  const recorded = runRuleRecorded(rule, layout, steps)
  property.check({
    objectives: rule.objectives,
    layout,
    steps,
    directions: recorded.directions,
    states: recorded.states,
    run: (other) => runRule(rule, layout, other),
  })
}

/**
 * Lower `interpreter` on a synthetic structure and check each property on generated parameter
 * shapes and gradients, then the guarantees it declares. Fails with {@link PropertyFailed} at the
 * first property that does not hold (its message is fast-check's report followed by the shrunk
 * counterexample's gradients and directions in plain numbers), with `GuaranteeMismatch` when a
 * declared guarantee fails or an undeclared one has no counterexample, or with the interpreter's
 * own `Unsupported` / `InvalidOptions`.
 */
export const checkInterpreter = <O>(
  interpreter: Interpreter<O>,
  check: InterpreterCheck,
): Effect.Effect<CheckReport, PropertyFailed | GuaranteeMismatch | Unsupported | InvalidOptions> =>
  Effect.gen(function* () {
    const names = check.objectives ?? ["main", "aux"]
    const objectives = Object.fromEntries(names.map((n) => [n, syntheticObjective(n)] as const))
    const structure = check.structure?.(objectives) ?? hierarchy(names.map((n) => objectives[n]!))
    const options = yield* interpreter.decodeOptions(check.options ?? {})
    const rule = yield* interpreter.lower(structure, options, { seed: check.seed ?? 0 })
    const passed: Array<PropertyPassed> = []
    for (const property of check.properties ?? []) {
      const arbitrary = caseArbitrary(property, rule.objectives.length, check.shapes ?? parameterShapes(), check.gradients ?? gradientSetOfLength)
      const details = onPath(check.tensorOpPath === true, () =>
        fc.check(
          fc.property(arbitrary, (c) => runCase(rule, property, c)),
          { numRuns: check.numRuns ?? 100, ...(check.fastCheckSeed === undefined ? {} : { seed: check.fastCheckSeed }) },
        ),
      )
      if (details.failed) {
        const counterexample = details.counterexample?.[0]
        const cause = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance)
        const report = [
          `interpreter '${interpreter.name}' violates '${property.name}'`,
          cause,
          counterexample === undefined ? "" : onPath(check.tensorOpPath === true, () => describeCase(rule, counterexample[0], counterexample[1], counterexample[2])),
          fc.defaultReportMessage(details) ?? "",
        ]
          .filter((s) => s !== "")
          .join("\n")
        return yield* new PropertyFailed({ interpreter: interpreter.name, property: property.name, report })
      }
      passed.push({ property: property.name, numRuns: details.numRuns })
    }
    if (check.guarantees === false || interpreter.guarantees === undefined) return { interpreter: interpreter.name, properties: passed }
    const guarantees = yield* checkGuarantees(interpreter, check.guarantees ?? {})
    return { interpreter: interpreter.name, properties: passed, guarantees }
  })
