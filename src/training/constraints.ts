/**
 * How a run's constraints stand: for each `constrain(of, { atMost })` of the structure, the value
 * of `of` (Σ weight·loss of its objectives), its bound, whether it holds, and the rule's Lagrange
 * multiplier when the rule keeps one. Reported in every step's event (on the step's mini-batch
 * losses) and in the summary (on the final full-data losses); a bound violated at the end is
 * logged as a warning, or fails the run under `strictConstraints` ({@link ConstraintViolated}).
 */
import { Data, Either } from "effect"
import { levelsOf, type Structure } from "../dsl/structure.ts"
import type { RuleState } from "../interpreters/interpreter.ts"

/** One constraint's standing. */
export interface ConstraintStatus {
  /** What is bounded: the objective's name, or `a + 0.5·b` for a weighted sum. */
  readonly constraint: string
  readonly value: number
  readonly atMost: number
  /** value ≤ atMost. */
  readonly holds: boolean
  /** The rule's Lagrange multiplier of this constraint (primal–dual), when it keeps one. */
  readonly multiplier?: number
}

/** A constraint's bound is violated at the end of a run that asked for `strictConstraints`. */
export class ConstraintViolated extends Data.TaggedError("ConstraintViolated")<{
  readonly violated: ReadonlyArray<ConstraintStatus>
}> {
  override get message(): string {
    return `constraint${this.violated.length === 1 ? "" : "s"} violated at the end of the run: ${this.violated.map(describeViolation).join("; ")}`
  }
}

/** `l2 = 0.0174, above its bound 0.005 (multiplier 3.2)`. */
export const describeViolation = (c: ConstraintStatus): string =>
  `${c.constraint} = ${Number(c.value.toPrecision(4))}, above its bound ${c.atMost}${c.multiplier === undefined ? "" : ` (multiplier ${Number(c.multiplier.toPrecision(4))})`}`

export interface DeclaredConstraint {
  readonly constraint: string
  readonly terms: ReadonlyArray<{ readonly objective: string; readonly weight: number }>
  readonly atMost: number
}

/** The constraints of a structure, in declaration order (the order constrained rules number them). */
export const constraintsOf = (structure: Structure): ReadonlyArray<DeclaredConstraint> => {
  const found: Array<DeclaredConstraint> = []
  const visit = (node: Structure): void => {
    switch (node._tag) {
      case "Objective":
        return
      case "Weighted":
        return visit(node.of)
      case "Sum":
        return node.terms.forEach(visit)
      case "Hierarchy":
        return node.levels.forEach((l) => visit(l.of))
      case "Constrained": {
        const levels = levelsOf(node.of)
        if (Either.isRight(levels) && levels.right.length === 1) {
          const terms = levels.right[0]!.terms.map((t) => ({ objective: t.objective.name, weight: t.weight }))
          const constraint = terms.map((t) => (t.weight === 1 ? t.objective : `${t.weight}·${t.objective}`)).join(" + ")
          found.push({ constraint, terms, atMost: node.atMost })
        }
        return visit(node.of)
      }
    }
  }
  visit(structure)
  return found
}

/**
 * The multipliers a rule keeps, by the convention of the constrained rules: a state record with
 * `multipliers`, one number per constraint in declaration order.
 */
const multipliersOf = (state: RuleState | undefined, count: number): ReadonlyArray<number> | undefined => {
  if (typeof state !== "object" || state === null || !("multipliers" in state)) return undefined
  const multipliers = (state as { readonly multipliers: unknown }).multipliers
  return Array.isArray(multipliers) && multipliers.length === count && multipliers.every((m) => typeof m === "number") ? multipliers : undefined
}

/** The standing of `constraints` for the given losses and rule state. */
export const constraintStatus = (
  constraints: ReadonlyArray<DeclaredConstraint>,
  losses: Readonly<Record<string, number>>,
  ruleState: RuleState | undefined,
): ReadonlyArray<ConstraintStatus> => {
  const multipliers = multipliersOf(ruleState, constraints.length)
  return constraints.map((c, j) => {
    const value = c.terms.reduce((sum, t) => sum + t.weight * (losses[t.objective] ?? Number.NaN), 0)
    return {
      constraint: c.constraint,
      value,
      atMost: c.atMost,
      holds: value <= c.atMost,
      ...(multipliers === undefined ? {} : { multiplier: multipliers[j]! }),
    }
  })
}
