/**
 * Checking the guarantees an interpreter declares (`Interpreter.guarantees`, see
 * `interpreters/guarantees.ts`): every declared property must hold on every generated run, and
 * every property it does *not* declare must have a counterexample — so that the declarations are
 * tight, not just true. The outcome of both searches is a {@link GuaranteeReport}, from which the
 * property table of docs/interpreters.md is generated.
 *
 * A run is 1–3 steps of the rule from a fresh state, each on a gradient matrix from
 * `matrices.ts` (controlled rank, stationary, zero and small-integer matrices, rescaled over
 * 10⁻¹⁰…10¹⁵) and positive losses; a property is checked at every step. Violations are measured
 * in float64 relative to the size of the step, ‖d‖ + maxᵢ‖gᵢ‖ (the largest gradient of the run so
 * far, for rules with state), and inner products with a gradient relative to that size times
 * maxⱼ‖gⱼ‖ (a gradient far below the others is below the Gram matrix's rounding and invisible to
 * the rules, as in the bounds of test/support/gram.ts):
 * - a declared property holds when every violation is at most {@link holdTolerance} (2⁻¹⁰, about
 *   10³ times float32's rounding of one inner product of the generated lengths: rules solve small
 *   problems on a rounded Gram matrix, and this classification threshold is not a rounding bound —
 *   the per-rule tests of test/interpreters check those);
 * - an undeclared property fails when some violation exceeds {@link failThreshold} (2⁻⁷, a
 *   decisive 3 %), and the shrunk case is reported as the counterexample.
 */
import { Data, Effect } from "effect"
import fc from "fast-check"
import { layoutOf } from "../core/paramVector.ts"
import { tf, tidy, type Tensor1D } from "../core/tf.ts"
import { objective, type Objective } from "../dsl/objective.ts"
import { constrain, hierarchy, type Structure, sum } from "../dsl/structure.ts"
import { builtinRules } from "../interpreters/builtins.ts"
import { type GuaranteeProperty, guaranteeProperties, type GuaranteeSubject, type Reduction } from "../interpreters/guarantees.ts"
import type { Interpreter, InvalidOptions, RuleState, Unsupported, UpdateRule } from "../interpreters/interpreter.ts"
import type { InterpreterRegistry } from "../interpreters/registry.ts"
import { matrixOfShape, type Rows } from "./matrices.ts"

/** Largest relative violation a declared property may show. */
export const holdTolerance = 2 ** -10
/** Smallest relative violation that counts as a counterexample. */
export const failThreshold = 2 ** -7

/** Settings of {@link checkGuarantees}. */
export interface GuaranteeCheckOptions {
  /** Where reductions' target rules are looked up (default: the built-in rules). */
  readonly registry?: InterpreterRegistry
  /** Runs per declared property (default 40). */
  readonly numRuns?: number
  /** Runs of the counterexample search per undeclared property (default 300). */
  readonly searchRuns?: number
  /** fast-check's seed (default 14): the generated table must not change from run to run. */
  readonly seed?: number
  /** Largest number of parameters n (default 8) and of tasks k (default 5). */
  readonly maxColumns?: number
  readonly maxRows?: number
}

/** The outcome for one property (or reduction). */
export interface GuaranteeOutcome {
  /** A property name, or `reduces to NAME at OPTIONS`. */
  readonly property: string
  readonly declared: boolean
  readonly holds: boolean
  /** For a property that fails: the shrunk counterexample, in plain numbers. */
  readonly counterexample?: string
  /** For a declared property that fails, or an undeclared one without counterexample: what went wrong. */
  readonly mismatch?: string
}

/** All outcomes for one interpreter. */
export interface GuaranteeReport {
  readonly interpreter: string
  readonly outcomes: ReadonlyArray<GuaranteeOutcome>
}

/** A declared property failed, or an undeclared one has no counterexample. */
export class GuaranteeMismatch extends Data.TaggedError("GuaranteeMismatch")<{
  readonly interpreter: string
  readonly property: string
  readonly detail: string
}> {
  override get message(): string {
    return `interpreter '${this.interpreter}', ${this.property}: ${this.detail}`
  }
}

// ---------------------------------------------------------------------------------------------
// Running a rule on plain arrays.

interface Case {
  readonly k: number
  readonly n: number
  /** Per step: the gradient matrix (row i = task i) and the losses. */
  readonly steps: ReadonlyArray<{ readonly J: Rows; readonly losses: ReadonlyArray<number> }>
}

const names = (k: number) => Array.from({ length: k }, (_, i) => `t${i}`)

const synthetic = (name: string): Objective<undefined> =>
  objective(name, () => {
    throw new Error(`synthetic objective '${name}': the kit supplies its gradients`)
  })

const subjectStructure = (subject: GuaranteeSubject, k: number): Structure => {
  const objectives = names(k).map(synthetic)
  return subject.form === "constraint" ? sum(objectives[0]!, constrain(objectives[1]!, { atMost: 0 })) : hierarchy(objectives)
}

const lowerFor = (interpreter: Interpreter<any>, subject: GuaranteeSubject, k: number, options: unknown): UpdateRule<any> =>
  Effect.runSync(
    Effect.flatMap(interpreter.decodeOptions(options), (decoded) => interpreter.lower(subjectStructure(subject, k), decoded, { seed: 7 })),
  )

/** The directions of a run (float32 read back), leak-checked like the training loop's steps. */
const run = (rule: UpdateRule<any>, c: Case): ReadonlyArray<Float32Array> => {
  const before = tf.memory().numTensors
  const out: Array<Float32Array> = []
  const layout = layoutOf({ w: { shape: [c.n] } })
  tf.tidy(() => {
    let state: RuleState = rule.init(layout)
    for (const { J, losses } of c.steps) {
      const byName: Record<string, Tensor1D> = {}
      const lossByName: Record<string, number> = {}
      names(c.k).forEach((name, i) => {
        byName[name] = tf.tensor1d(J[i]!)
        lossByName[name] = losses[i]!
      })
      const [direction, next] = tidy(() => rule.step(byName, state, lossByName))
      out.push(Float32Array.from(direction.dataSync()))
      state = next
    }
  })
  const leaked = tf.memory().numTensors - before
  if (leaked !== 0) throw new Error(`a run left ${leaked} tensor(s) allocated`)
  return out
}

// ---------------------------------------------------------------------------------------------
// Float64 helpers.

const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!
  return s
}
const norm = (a: ArrayLike<number>) => Math.sqrt(dot(a, a))
const distance = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2
  return Math.sqrt(s)
}
const largest = (J: Rows) => J.reduce((m, g) => Math.max(m, norm(g)), 0)
/**
 * The size a step's errors are measured against: ‖d‖ plus the largest ‖gᵢ‖ of the run so far
 * (a stateful rule's direction may come from earlier steps' gradients).
 */
const sizes = (c: Case, ds: ReadonlyArray<ArrayLike<number>>): ReadonlyArray<number> => {
  let seen = 0
  return c.steps.map(({ J }, t) => {
    seen = Math.max(seen, largest(J))
    return norm(ds[t]!) + seen
  })
}

/** ‖d − P·d‖ with P the projection onto the span of the rows (Gram–Schmidt, dependent rows skipped). */
const outsideSpan = (J: Rows, d: ArrayLike<number>): number => {
  const basis: Array<Float64Array> = []
  for (const g of J) {
    const r = Float64Array.from(g)
    for (let pass = 0; pass < 2; pass++) for (const b of basis) { const c = dot(r, b); for (let i = 0; i < r.length; i++) r[i]! -= c * b[i]! }
    const rn = norm(r)
    if (rn > 1e-4 * norm(g)) basis.push(r.map((x) => x / rn))
  }
  const residual = Float64Array.from(d)
  for (let pass = 0; pass < 2; pass++) for (const b of basis) { const c = dot(residual, b); for (let i = 0; i < residual.length; i++) residual[i]! -= c * b[i]! }
  return norm(residual)
}

const scaleRows = (J: Rows, factors: ArrayLike<number>): Rows => J.map((g, i) => Float32Array.from(g, (x) => x * factors[i]!))
const mapSteps = (c: Case, f: (J: Rows, losses: ReadonlyArray<number>) => readonly [Rows, ReadonlyArray<number>]): Case => ({
  ...c,
  steps: c.steps.map(({ J, losses }) => {
    const [J2, l2] = f(J, losses)
    return { J: J2, losses: l2 }
  }),
})

// ---------------------------------------------------------------------------------------------
// Properties: each measures the largest relative violation over a case (and its extra inputs).

interface PropertyCheck<E> {
  readonly extra: (c: Case) => fc.Arbitrary<E>
  readonly violation: (rule: (c: Case) => ReadonlyArray<Float32Array>, c: Case, extra: E) => readonly [number, string]
}

const none = () => fc.constant(undefined)
const worst = (values: ReadonlyArray<number>) => values.reduce((m, x) => (Number.isNaN(x) ? Infinity : Math.max(m, x)), 0)

const properties: Record<GuaranteeProperty, PropertyCheck<any>> = {
  "non-conflicting": {
    extra: none,
    violation: (rule, c) => {
      const ds = rule(c)
      const size = sizes(c, ds)
      return [worst(c.steps.flatMap(({ J }, t) => J.map((g) => (norm(g) === 0 ? 0 : -dot(ds[t]!, g) / (largest(J) * size[t]!))))), ""]
    },
  },
  priority: {
    extra: none,
    violation: (rule, c) => {
      const ds = rule(c)
      const size = sizes(c, ds)
      return [worst(c.steps.map(({ J }, t) => { const g = J[0]!; const gn = norm(g); return gn === 0 ? 0 : (gn * gn - dot(ds[t]!, g)) / (largest(J) * size[t]!) })), ""]
    },
  },
  weighted: {
    extra: none,
    violation: (rule, c) => {
      const ds = rule(c)
      const size = sizes(c, ds)
      return [worst(c.steps.map(({ J }, t) => outsideSpan(J, ds[t]!) / (size[t]! || 1))), ""]
    },
  },
  "scale-invariant": {
    extra: () => fc.constantFrom(2 ** -5, 2 ** 7, 1e-3, 1e3),
    violation: (rule, c, s: number) => {
      const ds = rule(c)
      const scaled = rule(mapSteps(c, (J, l) => [J.map((g) => Float32Array.from(g, (x) => s * x)), l]))
      const size = sizes(c, ds)
      return [worst(c.steps.map((_, t) => distance(scaled[t]!, Array.from(ds[t]!, (x) => s * x)) / (s * size[t]! || 1))), `s = ${s}`]
    },
  },
  "permutation-invariant": {
    extra: (c) => fc.shuffledSubarray([...Array(c.k).keys()], { minLength: c.k, maxLength: c.k }),
    violation: (rule, c, order: ReadonlyArray<number>) => {
      const ds = rule(c)
      const permuted = rule(mapSteps(c, (J, l) => [order.map((i) => J[i]!), order.map((i) => l[i]!)]))
      const size = sizes(c, ds)
      return [worst(c.steps.map((_, t) => distance(permuted[t]!, ds[t]!) / (size[t]! || 1))), `σ = [${order.join(", ")}]`]
    },
  },
  "linear-under-scaling": {
    extra: (c) =>
      fc.tuple(
        fc.array(fc.integer({ min: 1, max: 16 }), { minLength: c.k, maxLength: c.k }),
        fc.array(fc.integer({ min: 1, max: 16 }), { minLength: c.k, maxLength: c.k }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 4 }),
      ),
    violation: (rule, c, [c1, c2, a, b]: readonly [ReadonlyArray<number>, ReadonlyArray<number>, number, number]) => {
      const f1 = c1.map((x) => x / 4)
      const f2 = c2.map((x) => x / 4)
      const f3 = f1.map((x, i) => a * x + b * f2[i]!)
      const d1 = rule(mapSteps(c, (J, l) => [scaleRows(J, f1), l]))
      const d2 = rule(mapSteps(c, (J, l) => [scaleRows(J, f2), l]))
      const d3 = rule(mapSteps(c, (J, l) => [scaleRows(J, f3), l]))
      const s1 = sizes(mapSteps(c, (J, l) => [scaleRows(J, f1), l]), d1)
      const s2 = sizes(mapSteps(c, (J, l) => [scaleRows(J, f2), l]), d2)
      const s3 = sizes(mapSteps(c, (J, l) => [scaleRows(J, f3), l]), d3)
      return [
        worst(
          c.steps.map((_, t) => {
            const expected = Array.from(d1[t]!, (x, i) => a * x + b * d2[t]![i]!)
            return distance(d3[t]!, expected) / (a * s1[t]! + b * s2[t]! + s3[t]! || 1)
          }),
        ),
        `c = [${f1.join(", ")}], c' = [${f2.join(", ")}], a = ${a}, b = ${b}`,
      ]
    },
  },
}

// ---------------------------------------------------------------------------------------------
// Generation and reporting.

const caseArbitrary = (subject: GuaranteeSubject, options: GuaranteeCheckOptions): fc.Arbitrary<Case> => {
  const fixed = subject.form === "constraint" ? 2 : undefined
  const minK = fixed ?? subject.minTasks ?? 1
  const maxK = fixed ?? Math.max(minK, Math.min(subject.maxTasks ?? Infinity, options.maxRows ?? 5))
  return fc
    .tuple(fc.integer({ min: minK, max: maxK }), fc.integer({ min: 1, max: options.maxColumns ?? 8 }))
    .chain(([k, n]) =>
      fc
        .array(
          fc.tuple(matrixOfShape(k, n), fc.array(fc.integer({ min: 1, max: 40 }).map((x) => x / 4), { minLength: k, maxLength: k })),
          { minLength: 1, maxLength: 3 },
        )
        .map((steps): Case => ({ k, n, steps: steps.map(([J, losses]) => ({ J, losses })) })),
    )
}

const fmt = (x: number) => String(Number(x.toPrecision(9)))
const matrix = (J: Rows) => `[${J.map((g) => `[${Array.from(g, fmt).join(", ")}]`).join(", ")}]`

const describe = (rule: (c: Case) => ReadonlyArray<Float32Array>, c: Case, extra: string, violation: number): string => {
  let ds: ReadonlyArray<Float32Array> | undefined
  try {
    ds = rule(c)
  } catch {
    ds = undefined
  }
  const steps = c.steps.map(({ J, losses }, t) => `${c.steps.length > 1 ? `step ${t + 1}: ` : ""}J = ${matrix(J)}, L = [${losses.map(fmt).join(", ")}]${ds === undefined ? "" : ` → d = [${Array.from(ds[t]!, fmt).join(", ")}]`}`)
  return `${steps.join("; ")}${extra === "" ? "" : `; ${extra}`} (violation ${violation.toPrecision(2)})`
}

/** Largest violation over the generated runs, or the first run exceeding `threshold`, shrunk. */
const search = <E>(
  rule: (c: Case) => ReadonlyArray<Float32Array>,
  check: PropertyCheck<E>,
  arbitrary: fc.Arbitrary<Case>,
  threshold: number,
  numRuns: number,
  seed: number,
): string | undefined => {
  const details = fc.check(
    fc.property(arbitrary.chain((c) => check.extra(c).map((e) => [c, e] as const)), ([c, e]) => check.violation(rule, c, e)[0] <= threshold),
    { numRuns, seed },
  )
  if (!details.failed) return undefined
  if (details.counterexample === null) return `the search failed: ${String(details.errorInstance)}`
  const [[found, e]] = details.counterexample
  // Shrinking cannot drop a step before the failing one; the shortest failing prefix reads best.
  const prefixes = found.steps.map((_, t): Case => ({ ...found, steps: found.steps.slice(0, t + 1) }))
  const c =
    prefixes.find((p) => {
      try {
        return !(check.violation(rule, p, e)[0] <= threshold)
      } catch {
        return true
      }
    }) ?? found
  try {
    const [v, extra] = check.violation(rule, c, e)
    return describe(rule, c, extra, v)
  } catch (error) {
    return `${describe(rule, c, "", NaN)}: the rule threw ${error instanceof Error ? error.message : String(error)}`
  }
}

const reductionName = (r: Reduction): string => `reduces to ${r.to} at ${JSON.stringify(r.options)}`

/**
 * Run both searches for every property and declared reduction of `interpreter`: the report says,
 * for each, whether it was declared and whether it held (with the counterexample when it did not).
 */
export const evaluateGuarantees = (
  interpreter: Interpreter<any>,
  options: GuaranteeCheckOptions = {},
): Effect.Effect<GuaranteeReport, Unsupported | InvalidOptions> =>
  Effect.gen(function* () {
    const declared = interpreter.guarantees ?? { holds: [] }
    const subject: GuaranteeSubject = declared.subject ?? { form: "hierarchy" }
    const baseOptions = subject.options ?? {}
    // Fail early, as a typed error, if the interpreter cannot lower its own subject.
    const decoded = yield* interpreter.decodeOptions(baseOptions)
    yield* interpreter.lower(subjectStructure(subject, subject.minTasks ?? 2), decoded, { seed: 7 })
    const rules = new Map<number, UpdateRule<any>>()
    const ruleFor = (k: number) => rules.get(k) ?? rules.set(k, lowerFor(interpreter, subject, k, baseOptions)).get(k)!
    const directions = (c: Case) => run(ruleFor(c.k), c)
    // A subject with options of its own (say a larger λ, where undeclared properties fail clearly
    // enough to be refuted) still claims the declared properties at the defaults users get.
    const atDefaults = subject.options === undefined ? undefined : new Map<number, UpdateRule<any>>()
    if (atDefaults !== undefined) yield* Effect.flatMap(interpreter.decodeOptions({}), (d) => interpreter.lower(subjectStructure(subject, subject.minTasks ?? 2), d, { seed: 7 }))
    const defaultDirections = (c: Case) => run(atDefaults!.get(c.k) ?? atDefaults!.set(c.k, lowerFor(interpreter, subject, c.k, {})).get(c.k)!, c)
    const arbitrary = caseArbitrary(subject, options)
    const seed = options.seed ?? 14
    const outcomes: Array<GuaranteeOutcome> = []
    for (const property of guaranteeProperties) {
      const isDeclared = declared.holds.includes(property)
      const check = properties[property]
      if (isDeclared) {
        const failure = search(directions, check, arbitrary, holdTolerance, options.numRuns ?? 40, seed)
        const atDefault = failure !== undefined || atDefaults === undefined ? undefined : search(defaultDirections, check, arbitrary, holdTolerance, options.numRuns ?? 40, seed)
        outcomes.push(
          failure !== undefined
            ? { property, declared: true, holds: false, counterexample: failure, mismatch: `declared, but fails: ${failure}` }
            : atDefault !== undefined
              ? { property, declared: true, holds: false, counterexample: `at the default options: ${atDefault}`, mismatch: `declared, but fails at the default options: ${atDefault}` }
              : { property, declared: true, holds: true },
        )
      } else {
        const counterexample = search(directions, check, arbitrary, failThreshold, options.searchRuns ?? 300, seed)
        outcomes.push(
          counterexample === undefined
            ? { property, declared: false, holds: true, mismatch: `not declared, but no counterexample in ${options.searchRuns ?? 300} runs (violations ≤ ${failThreshold})` }
            : { property, declared: false, holds: false, counterexample },
        )
      }
    }
    const registry = options.registry ?? builtinRules
    for (const reduction of declared.reductions ?? []) {
      const target = registry.get(reduction.to)
      const property = reductionName(reduction)
      if (target === undefined) {
        outcomes.push({ property, declared: true, holds: false, mismatch: `no interpreter named '${reduction.to}'` })
        continue
      }
      const reducedRules = new Map<number, readonly [UpdateRule<any>, UpdateRule<any>]>()
      const pair = (k: number) =>
        reducedRules.get(k) ??
        reducedRules.set(k, [lowerFor(interpreter, subject, k, { ...(baseOptions as object), ...(reduction.options as object) }), lowerFor(target, subject, k, reduction.toOptions ?? {})]).get(k)!
      const check: PropertyCheck<undefined> = {
        extra: none,
        violation: (_rule, c) => {
          const [a, b] = pair(c.k)
          const da = run(a, c)
          const db = run(b, c)
          const size = sizes(c, da)
          return [worst(c.steps.map((_, t) => distance(da[t]!, db[t]!) / (size[t]! + norm(db[t]!) || 1))), ""]
        },
      }
      const failure = search((c) => run(pair(c.k)[0], c), check, arbitrary, holdTolerance, options.numRuns ?? 40, seed)
      outcomes.push(failure === undefined ? { property, declared: true, holds: true } : { property, declared: true, holds: false, counterexample: failure, mismatch: `declared, but fails: ${failure}` })
    }
    return { interpreter: interpreter.name, outcomes }
  })

/**
 * {@link evaluateGuarantees}, failing with {@link GuaranteeMismatch} at the first property whose
 * declaration the runs contradict (declared but violated, or undeclared without counterexample).
 */
export const checkGuarantees = (
  interpreter: Interpreter<any>,
  options: GuaranteeCheckOptions = {},
): Effect.Effect<GuaranteeReport, GuaranteeMismatch | Unsupported | InvalidOptions> =>
  Effect.flatMap(evaluateGuarantees(interpreter, options), (report) => {
    const wrong = report.outcomes.find((o) => o.mismatch !== undefined)
    return wrong === undefined ? Effect.succeed(report) : Effect.fail(new GuaranteeMismatch({ interpreter: interpreter.name, property: wrong.property, detail: wrong.mismatch! }))
  })
