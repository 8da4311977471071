/**
 * The invariants of gradient surgery, as fast-check properties.
 *
 * Two kinds of subject:
 * - a {@link Projection} `(v, u) => π(v, u)`: orthogonality, idempotence, non-expansiveness,
 *   invariance to rescaling u, linearity in v, residual along u, π(v, 0) = v, agreement with the
 *   float64 reference;
 * - a {@link Combination} `(gradients) => direction` (an update rule's single step, see
 *   `ruleAsCombination` in `checkInterpreter.ts`): non-conflict, positive homogeneity (scale
 *   invariance), linearity, permutation invariance, "adds nothing along the priority direction",
 *   agreement with a reference and reduction to a simpler rule.
 *
 * Every tolerance is a float32 rounding-error bound from `tolerance.ts` (γₘ = m·2⁻²⁴/(1 − m·2⁻²⁴)
 * times the norms involved), never a constant picked to pass. Derived inputs (c·u, s·G) use
 * powers of two so that they are exact in float32 and the bound concerns the subject alone; when
 * an input must be rounded (a·v + b·w), the rounding δ is measured exactly and added.
 */
import { Data } from "effect"
import fc from "fast-check"
import { edgeCasePairs, edgeCaseVectorOfLength, edgeCaseVectors, gradientSets } from "./arbitraries.ts"
import * as reference from "./reference.ts"
import { combinationError, gamma, projectionError } from "./tolerance.ts"

/** A projection-like map (v, u) ↦ π(v, u), computed in float32. */
export type Projection = (v: Float32Array, u: Float32Array) => Float32Array

/** A rule's combination of gradients (all of one length) into a direction, computed in float32. */
export type Combination = (gradients: ReadonlyArray<Float32Array>) => Float32Array

/** An invariant did not hold: which one, and the measured quantity against its bound. */
export class InvariantViolation extends Data.TaggedError("InvariantViolation")<{
  readonly invariant: string
  readonly detail: string
}> {
  override get message(): string {
    return `${this.invariant}: ${this.detail}`
  }
}

const fmt = (x: number): string => (Number.isFinite(x) ? x.toPrecision(4) : String(x))

/** Throw an {@link InvariantViolation} unless `observed ≤ bound` (NaN never passes). */
export const expectAtMost = (invariant: string, what: string, observed: number, bound: number, boundName: string): void => {
  if (!(observed <= bound)) {
    throw new InvariantViolation({ invariant, detail: `${what} = ${fmt(observed)} exceeds the float32 bound ${boundName} = ${fmt(bound)}` })
  }
}

const norm = reference.norm
const signedPowerOfTwo = fc.tuple(fc.integer({ min: -8, max: 8 }), fc.boolean()).map(([k, negative]) => (negative ? -1 : 1) * 2 ** k)
const positivePowerOfTwo = fc.integer({ min: -8, max: 8 }).map((k) => 2 ** k)
// Multiples of 2⁻⁸ in [−4, 4]: an arbitrary double (down to 1e-300) would push a·v into the
// subnormal range, where float32 rounding is absolute rather than relative and no γ bound holds.
const linearCoefficient = fc.integer({ min: -1024, max: 1024 }).map((k) => k / 256)

// ---------------------------------------------------------------------------------------------
// Projections. `pairs` defaults to the edge-case mix (zero, tiny, huge, parallel, anti-parallel,
// orthogonal, duplicate, any cosine).

type Pairs = fc.Arbitrary<readonly [Float32Array, Float32Array]>

/** |⟨π(v,u), u⟩| ≤ γ_{2n+8}‖v‖‖u‖: the result is orthogonal to u. */
export const projectionIsOrthogonal = (project: Projection, pairs: Pairs = edgeCasePairs()) =>
  fc.property(pairs, ([v, u]) => {
    const p = project(v, u)
    expectAtMost("orthogonality ⟨π(v,u),u⟩ = 0", "|⟨π(v,u), u⟩|", Math.abs(reference.dot(p, u)), projectionError(v.length, norm(v)) * norm(u), "γ_{2n+8}‖v‖‖u‖")
  })

/**
 * π(π(v,u),u) = π(v,u). The second projection errs by γ‖π‖ and moves its input by at most the
 * first one's error (its part along u), so the bound is γ_{2n+8}(‖v‖ + ‖π‖).
 */
export const projectionIsIdempotent = (project: Projection, pairs: Pairs = edgeCasePairs()) =>
  fc.property(pairs, ([v, u]) => {
    const p = project(v, u)
    const pp = project(p, u)
    expectAtMost("idempotence π(π(v,u),u) = π(v,u)", "‖π(π(v,u),u) − π(v,u)‖", reference.distance(pp, p), gamma(2 * v.length + 8) * (norm(v) + norm(p)), "γ_{2n+8}(‖v‖+‖π‖)")
  })

/** ‖π(v,u)‖ ≤ ‖v‖ (plus the rounding γ_{2n+8}‖v‖). */
export const projectionIsNonExpansive = (project: Projection, pairs: Pairs = edgeCasePairs()) =>
  fc.property(pairs, ([v, u]) => {
    const excess = norm(project(v, u)) - norm(v)
    expectAtMost("non-expansiveness ‖π(v,u)‖ ≤ ‖v‖", "‖π(v,u)‖ − ‖v‖", excess, projectionError(v.length, norm(v)), "γ_{2n+8}‖v‖")
  })

/** π(c·u, u) = 0 for c = ±2ᵏ (exact in float32), up to γ_{2n+8}‖c·u‖. */
export const projectionRemovesItsDirection = (project: Projection, pairs: Pairs = edgeCasePairs()) =>
  fc.property(pairs, signedPowerOfTwo, ([, u], c) => {
    const cu = u.map((x) => c * x)
    expectAtMost("π(c·u, u) = 0", "‖π(c·u, u)‖", norm(project(cu, u)), projectionError(u.length, norm(cu)), "γ_{2n+8}‖c·u‖")
  })

/** π(v, s·u) = π(v, u) for s = ±2ᵏ ≠ 0 (exact rescaling); both sides err by at most γ_{2n+8}‖v‖. */
export const projectionIsScaleInvariant = (project: Projection, pairs: Pairs = edgeCasePairs()) =>
  fc.property(pairs, signedPowerOfTwo, ([v, u], s) => {
    const su = u.map((x) => s * x)
    expectAtMost("scale invariance π(v, s·u) = π(v, u)", "‖π(v,s·u) − π(v,u)‖", reference.distance(project(v, su), project(v, u)), 2 * projectionError(v.length, norm(v)), "2γ_{2n+8}‖v‖")
  })

/**
 * π(a·v + b·w, u) = a·π(v,u) + b·π(w,u). The input x = fl(a·v + b·w) is rounded to float32; its
 * rounding δ = x − (a·v + b·w) is measured exactly and π is linear, so the bound is
 * γ_{2n+8}(‖x‖ + |a|‖v‖ + |b|‖w‖) + ‖δ‖.
 */
export const projectionIsLinear = (project: Projection, length: { readonly minLength?: number; readonly maxLength?: number } = {}) =>
  fc.property(
    fc
      .integer({ min: length.minLength ?? 1, max: length.maxLength ?? 16 })
      .chain((n) => fc.tuple(edgeCaseVectorOfLength(n), edgeCaseVectorOfLength(n), edgeCaseVectorOfLength(n))),
    linearCoefficient,
    linearCoefficient,
    ([v, w, u], a, b) => {
      const exact = reference.add(reference.scale(v, a), reference.scale(w, b))
      const x = Float32Array.from(exact)
      const combined = reference.add(reference.scale(project(v, u), a), reference.scale(project(w, u), b))
      const bound = gamma(2 * v.length + 8) * (norm(x) + Math.abs(a) * norm(v) + Math.abs(b) * norm(w)) + reference.distance(x, exact)
      expectAtMost("linearity π(a·v+b·w, u) = a·π(v,u) + b·π(w,u)", "‖π(a·v+b·w,u) − (a·π(v,u)+b·π(w,u))‖", reference.distance(project(x, u), combined), bound, "γ_{2n+8}(‖x‖+|a|‖v‖+|b|‖w‖) + ‖δ‖")
    },
  )

/** v − π(v,u) is parallel to u: its part orthogonal to u is at most the rounding γ_{2n+8}‖v‖. */
export const projectionResidualIsParallel = (project: Projection, pairs: Pairs = edgeCasePairs()) =>
  fc.property(pairs, ([v, u]) => {
    const residual = reference.subtract(v, project(v, u))
    expectAtMost("v − π(v,u) ∥ u", "‖part of v − π(v,u) orthogonal to u‖", norm(reference.project(residual, u)), projectionError(v.length, norm(v)), "γ_{2n+8}‖v‖")
  })

/** π(v, 0) = v exactly: with no direction there is nothing to remove, and no arithmetic may round. */
export const projectionOnZeroIsIdentity = (project: Projection, vectors: fc.Arbitrary<Float32Array> = edgeCaseVectors()) =>
  fc.property(vectors, (v) => {
    const p = project(v, new Float32Array(v.length))
    const moved = v.findIndex((x, i) => x !== p[i])
    if (moved >= 0) {
      throw new InvariantViolation({ invariant: "π(v, 0) = v", detail: `entry ${moved} changed from ${v[moved]} to ${p[moved]}` })
    }
  })

/** ‖π(v,u) − π₆₄(v,u)‖ ≤ γ_{2n+8}‖v‖, against the float64 reference of `reference.ts`. */
export const projectionAgreesWithReference = (project: Projection, pairs: Pairs = edgeCasePairs()) =>
  fc.property(pairs, ([v, u]) => {
    expectAtMost("agreement with the float64 reference", "‖π(v,u) − π₆₄(v,u)‖", reference.distance(project(v, u), reference.project(v, u)), projectionError(v.length, norm(v)), "γ_{2n+8}‖v‖")
  })

// ---------------------------------------------------------------------------------------------
// Combinations of gradients.

/** How a combination's float32 error is bounded (see `combinationError` in `tolerance.ts`). */
export interface ErrorModel {
  /** Projections each gradient goes through at most (default: number of gradients − 1). */
  readonly depth?: number
  /** Largest |weight| the rule puts on a gradient (default 1). */
  readonly weight?: number
  /** Replace the bound entirely: an error bound for the direction computed from `gradients`. */
  readonly bound?: (gradients: ReadonlyArray<Float32Array>) => number
}

/** The float32 error bound of a combination of `gradients` under `model`. */
export const combinationBound = (model: ErrorModel, gradients: ReadonlyArray<Float32Array>): number => {
  if (model.bound !== undefined) return model.bound(gradients)
  const n = gradients[0]?.length ?? 0
  const weight = model.weight ?? 1
  return combinationError(n, model.depth ?? Math.max(0, gradients.length - 1), gradients.map((g) => weight * norm(g)))
}

/**
 * An invariant of a combination. `extra` draws the additional random inputs it needs (a scale, a
 * permutation, a second gradient set) given the gradients; `check` throws an
 * {@link InvariantViolation} when the invariant fails.
 */
export interface Invariant<E = unknown> {
  readonly _tag: "Invariant"
  readonly name: string
  readonly extra: (gradients: ReadonlyArray<Float32Array>) => fc.Arbitrary<E>
  readonly check: (combine: Combination, gradients: ReadonlyArray<Float32Array>, extra: E) => void
}

const invariant = <E>(name: string, extra: Invariant<E>["extra"], check: Invariant<E>["check"]): Invariant<E> => ({
  _tag: "Invariant",
  name,
  extra,
  check,
})

const none = () => fc.constant(undefined)

/** A fast-check property: `invariant` holds for `combine` on every set drawn from `gradients`. */
export const combinationProperty = <E>(
  subject: Invariant<E>,
  combine: Combination,
  gradients: fc.Arbitrary<ReadonlyArray<Float32Array>> = gradientSets(),
) =>
  fc.property(
    gradients.chain((g) => subject.extra(g).map((e) => [g, e] as const)),
    ([g, e]) => subject.check(combine, g, e),
  )

/**
 * Non-conflict: ⟨d, gᵢ⟩ ≥ −tol for every gradient (or those listed in `among`), tol = (error bound of d)·‖gᵢ‖. To first order
 * a step along −d then increases no objective (PCGrad for two tasks, Yu et al. 2020, Thm. 1).
 */
export const nonConflicting = (model: ErrorModel & { readonly among?: ReadonlyArray<number> } = {}): Invariant<undefined> =>
  invariant("non-conflict ⟨d, gᵢ⟩ ≥ 0", none, (combine, gradients) => {
    const d = combine(gradients)
    const bound = combinationBound(model, gradients)
    for (const i of model.among ?? gradients.map((_, j) => j)) {
      const g = gradients[i]!
      expectAtMost("non-conflict ⟨d, gᵢ⟩ ≥ 0", `−⟨d, g${i}⟩`, -reference.dot(d, g), bound * norm(g), "(error bound of d)·‖gᵢ‖")
    }
  })

/**
 * Scale invariance (positive homogeneity): d(s·G) = s·d(G) for s = 2ᵏ > 0, k ∈ [−8, 8], exact in
 * float32 for the kit's arbitraries; both sides err by the combination bound, scaled.
 */
export const positivelyHomogeneous = (model: ErrorModel = {}): Invariant<number> =>
  invariant("scale invariance d(s·G) = s·d(G), s > 0", () => positivePowerOfTwo, (combine, gradients, s) => {
    const scaled = gradients.map((g) => g.map((x) => s * x))
    const gap = reference.distance(combine(scaled), reference.scale(combine(gradients), s))
    expectAtMost("scale invariance d(s·G) = s·d(G)", `‖d(s·G) − s·d(G)‖ (s = ${s})`, gap, 2 * s * combinationBound(model, gradients), "2s·(error bound of d)")
  })

/**
 * Linearity: d(a·G + b·H) = a·d(G) + b·d(H). The input X = fl(a·G + b·H) is rounded; its rounding
 * δ is measured and enters through the rule's weights: + weight·Σ‖δᵢ‖.
 */
export const linear = (model: ErrorModel = {}): Invariant<readonly [ReadonlyArray<Float32Array>, number, number]> =>
  invariant<readonly [ReadonlyArray<Float32Array>, number, number]>(
    "linearity d(a·G + b·H) = a·d(G) + b·d(H)",
    (gradients) => fc.tuple(fc.tuple(...gradients.map((g) => edgeCaseVectorOfLength(g.length))), linearCoefficient, linearCoefficient),
    (combine, G, [H, a, b]) => {
      const exact = G.map((g, i) => reference.add(reference.scale(g, a), reference.scale(H[i]!, b)))
      const X = exact.map((x) => Float32Array.from(x))
      const rounding = X.reduce((acc, x, i) => acc + reference.distance(x, exact[i]!), 0)
      const expected = reference.add(reference.scale(combine(G), a), reference.scale(combine(H), b))
      const bound =
        combinationBound(model, X) + Math.abs(a) * combinationBound(model, G) + Math.abs(b) * combinationBound(model, H) + (model.weight ?? 1) * rounding
      expectAtMost("linearity d(a·G + b·H) = a·d(G) + b·d(H)", `‖d(a·G+b·H) − (a·d(G)+b·d(H))‖ (a = ${a}, b = ${b})`, reference.distance(combine(X), expected), bound, "error bounds of the three directions + weight·‖δ‖")
    },
  )

/** Permutation invariance: reordering the gradients leaves d unchanged (up to two error bounds). */
export const permutationInvariant = (model: ErrorModel = {}): Invariant<ReadonlyArray<number>> =>
  invariant<ReadonlyArray<number>>(
    "permutation invariance d(σG) = d(G)",
    (gradients) =>
      fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: gradients.length, maxLength: gradients.length }).map((keys) =>
        keys.map((k, i) => [k, i] as const).sort((x, y) => x[0] - y[0]).map(([, i]) => i),
      ),
    (combine, gradients, order) => {
      const gap = reference.distance(combine(order.map((i) => gradients[i]!)), combine(gradients))
      expectAtMost("permutation invariance d(σG) = d(G)", `‖d(σG) − d(G)‖ (σ = [${order.join(", ")}])`, gap, 2 * combinationBound(model, gradients), "2·(error bound of d)")
    },
  )

/**
 * "Adds nothing along the priority direction": ⟨d − g₀, p⟩ ≈ 0, with g₀ = gradients[0] (the main
 * gradient) and p = `priority(gradients)` (default g₀ itself: Bloop without EMA projects on the
 * current main gradient, Hsieh et al. 2024, Eq. 3). To first order the main loss then decreases
 * exactly as under plain gradient descent (the paper's Eq. 4). Bound: (error bound of d)·‖p‖.
 */
export const addsNothingAlongPriority = (
  model: ErrorModel & { readonly priority?: (gradients: ReadonlyArray<Float32Array>) => ArrayLike<number> } = {},
): Invariant<undefined> =>
  invariant("adds nothing along the priority direction ⟨d − g₀, p⟩ = 0", none, (combine, gradients) => {
    const p = model.priority?.(gradients) ?? gradients[0]!
    const extra = reference.subtract(combine(gradients), gradients[0]!)
    expectAtMost("adds nothing along the priority direction", "|⟨d − g₀, p⟩|", Math.abs(reference.dot(extra, p)), combinationBound(model, gradients) * norm(p), "(error bound of d)·‖p‖")
  })

/** Agreement with a reference formula (usually float64, from `reference.ts`): ‖d − ref‖ ≤ error bound of d. */
export const agreesWith = (
  name: string,
  expected: (gradients: ReadonlyArray<Float32Array>) => ArrayLike<number>,
  model: ErrorModel = {},
): Invariant<undefined> =>
  invariant(`agreement with ${name}`, none, (combine, gradients) => {
    const gap = reference.distance(combine(gradients), expected(gradients))
    expectAtMost(`agreement with ${name}`, `‖d − ${name}‖`, gap, combinationBound(model, gradients), "error bound of d")
  })

/**
 * Reduction to a simpler float32 rule at a parameter value (Bloop at λ = 0 is the main gradient,
 * ...): ‖d − d_simpler‖ ≤ both error bounds.
 */
export const reducesTo = (name: string, simpler: Combination, model: ErrorModel = {}, simplerModel: ErrorModel = {}): Invariant<undefined> =>
  invariant(`reduces to ${name}`, none, (combine, gradients) => {
    const gap = reference.distance(combine(gradients), simpler(gradients))
    expectAtMost(`reduces to ${name}`, `‖d − d_${name}‖`, gap, combinationBound(model, gradients) + combinationBound(simplerModel, gradients), "sum of both error bounds")
  })

/**
 * Whether the float64 Gram matrix of `gradients` is positive definite with a margin, whatever the
 * tasks' scales: Cholesky of C − τI for the correlation matrix C = D⁻¹GD⁻¹ (D = diag‖gᵢ‖, unit
 * diagonal), τ = 1e-12 (far above C's rounding from float32 inputs). A zero gradient is not.
 */
export const gramIsPositiveDefinite = (gradients: ReadonlyArray<Float32Array>): boolean => {
  const k = gradients.length
  const norms = gradients.map((a) => norm(a))
  if (!norms.every((x) => x > 0)) return false
  const g = gradients.map((a, i) => gradients.map((b, j) => reference.dot(a, b) / (norms[i]! * norms[j]!)))
  const tau = 1e-12
  const l = Array.from({ length: k }, () => new Float64Array(k))
  for (let i = 0; i < k; i++) {
    for (let j = 0; j <= i; j++) {
      let s = g[i]![j]! - (i === j ? tau : 0)
      for (let p = 0; p < j; p++) s -= l[i]![p]! * l[j]![p]!
      if (i === j) {
        if (!(s > 0)) return false
        l[i]![i] = Math.sqrt(s)
      } else l[i]![j] = s / l[j]![j]!
    }
  }
  return true
}

/**
 * d = 0 only at Pareto-stationary sets: when the tasks' Gram matrix is positive definite (with a
 * margin, {@link gramIsPositiveDefinite}) their gradients are linearly independent, no convex
 * combination of them vanishes, and a rule whose d = 0 means "stationary" (MGDA, Nash-MTL,
 * FairGrad, UPGrad, ...) must return d ≠ 0. Use with {@link nearOppositeSetOfLength}, where such
 * sets look stationary.
 */
export const nonZeroOffStationarity = (): Invariant<undefined> =>
  invariant("d ≠ 0 unless Pareto-stationary", none, (combine, gradients) => {
    if (!gramIsPositiveDefinite(gradients)) return
    const d = combine(gradients)
    if (!(norm(d) > 0)) {
      throw new InvariantViolation({ invariant: "d ≠ 0 unless Pareto-stationary", detail: "d = 0 on a set whose Gram matrix is positive definite (linearly independent gradients: no convex combination vanishes)" })
    }
  })

/** Every entry of d is finite when every gradient entry is (use with `checkInterpreter`'s `tensorOpPath`). */
export const finiteDirection = (): Invariant<undefined> =>
  invariant("d is finite", none, (combine, gradients) => {
    if (!gradients.every((g) => g.every(Number.isFinite))) return
    const d = combine(gradients)
    const bad = d.findIndex((x) => !Number.isFinite(x))
    if (bad >= 0) throw new InvariantViolation({ invariant: "d is finite", detail: `d[${bad}] = ${d[bad]} from finite gradients` })
  })
