/**
 * Guarantees as data: the properties an interpreter claims for its update rule, so that the kit
 * (`checkGuarantees` in `scalpel/testing`) can check every claimed property and find a
 * counterexample for every property that is not claimed (the declarations are tight, not just
 * true), and so that the property table of docs/interpreters.md is generated from them.
 *
 * The properties (d is the rule's direction, gᵢ the task gradients, J the matrix of them as rows;
 * each is checked on every step of a short run from a fresh state):
 * - `non-conflicting`: ⟨d, gᵢ⟩ ≥ 0 for every task — a step along −d increases no loss to first order.
 * - `linear-under-scaling`: for positive task scalings c, d(diag(c)·J) is linear in c (TorchJD's
 *   property: d(diag(a·c + b·c')·J) = a·d(diag(c)·J) + b·d(diag(c')·J) for a, b > 0).
 * - `weighted`: d lies in the span of the task gradients (d = Jᵀw for some weights w).
 * - `permutation-invariant`: reordering the tasks (gradients and losses together) leaves d unchanged.
 * - `scale-invariant`: d(s·J) = s·d(J) for s > 0 (positive homogeneity).
 * - `priority`: ⟨d, g₀⟩ ≥ ‖g₀‖² for the top level's gradient g₀ — the main loss falls at least as
 *   fast as under plain gradient descent on it (the guarantee of the hierarchical rules).
 */

/** The properties the kit knows, in the order of the generated table. */
export const guaranteeProperties = [
  "non-conflicting",
  "linear-under-scaling",
  "weighted",
  "permutation-invariant",
  "scale-invariant",
  "priority",
] as const

/** One property of {@link guaranteeProperties}. */
export type GuaranteeProperty = (typeof guaranteeProperties)[number]

/**
 * "At `options`, this rule's direction equals that of interpreter `to` with `toOptions`" (CAGrad
 * at c = 0 is the mean, GradVac with β = 0 is PCGrad, ...). Checked on the same generated runs.
 */
export interface Reduction {
  readonly options: unknown
  readonly to: string
  readonly toOptions?: unknown
}

/**
 * The structure the properties are stated for: `hierarchy` of k objectives with λ = 1 (for the
 * task-based rules the same as their sum), or `constraint`: `sum(f, constrain(q, { atMost: 0 }))`.
 */
export interface GuaranteeSubject {
  readonly form: "hierarchy" | "constraint"
  readonly minTasks?: number
  readonly maxTasks?: number
  /**
   * Options the properties are checked with (default `{}`). When set, the declared properties are
   * checked at the default options too; only the search for counterexamples uses these alone.
   */
  readonly options?: unknown
}

/** What an interpreter claims. Properties not listed are claimed *not* to hold in general. */
export interface Guarantees {
  readonly holds: ReadonlyArray<GuaranteeProperty>
  readonly reductions?: ReadonlyArray<Reduction>
  readonly subject?: GuaranteeSubject
}

/** Declare guarantees (a typed identity, for readable declarations). */
export const guarantees = (g: Guarantees): Guarantees => g
