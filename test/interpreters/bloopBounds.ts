/**
 * float32 error bounds for Bloop's direction, derived in tolerance.ts's model from the float64
 * reference quantities. Shared by the Bloop property tests.
 */
import { defaultSpanTolerance } from "../../src/core/projectedCombination.ts"
import { gamma, reference } from "scalpel/testing"

type Vector = ArrayLike<number>

/**
 * The float64 projection references of every step of a run (EMAs as the rule keeps them, or the
 * current gradients), each with a bound on the float32 copy's error: an EMA after s updates rounds
 * 5 times per update (tolerance of ema.test.ts), and its errors shrink by 1 − ρ < 1 at each later
 * update, so ‖ema₃₂ − ema₆₄‖ ≤ γ_{5s}·‖A_s‖ with A the same recurrence on absolute values.
 */
export const referencesOf = (
  steps: ReadonlyArray<ReadonlyArray<Vector>>,
  options: { readonly rho: number; readonly ema: boolean },
): ReadonlyArray<{ readonly references: ReadonlyArray<Float64Array>; readonly errors: ReadonlyArray<number> }> => {
  const trajectory = reference.bloopTrajectory(steps, { lambdas: steps[0]!.map(() => 1), ...options })
  let magnitudes: ReadonlyArray<Float64Array> = []
  return steps.map((levels, t) => {
    const current = levels.slice(0, levels.length - 1)
    const useEma = options.ema && t > 0
    const out = useEma
      ? { references: trajectory[t - 1]!.emas, errors: magnitudes.map((a) => gamma(5 * (t - 1)) * reference.norm(a)) }
      : { references: current.map((g) => Float64Array.from(g)), errors: current.map(() => 0) }
    magnitudes =
      t === 0
        ? current.map((g) => Float64Array.from(g, Math.abs))
        : current.map((g, k) => magnitudes[k]!.map((a, i) => (1 - options.rho) * a + options.rho * Math.abs(g[i]!)))
    return out
  })
}

/**
 * Bound on ‖d₃₂ − d₆₄‖ for n-level Bloop. The basis vector qₖ (Gram–Schmidt of the references rₖ)
 * errs by errₖ ≤ e(rₖ) + ‖rₖ‖(k·γ_{2n+8} + 2Σ_{j<k} ρⱼ), ρⱼ = errⱼ/‖q̃ⱼ‖ its relative error
 * (k projections, each non-expansive, onto directions off by ρⱼ: tolerance.ts,
 * directionPerturbation). Level k's projected gradient then errs by ‖gₖ‖(k·γ_{2n+8} + 2Σ_{j<k} ρⱼ),
 * times λₖ; the final sum of the levels adds γ_{L+1}(‖g₀‖ + Σ λₖ‖gₖ‖).
 */
export const bloopDirectionError = (
  levels: ReadonlyArray<Vector>,
  lambdas: ReadonlyArray<number>,
  references: ReadonlyArray<Vector>,
  referenceErrors: ReadonlyArray<number>,
): number => {
  const n = levels[0]!.length
  const g = gamma(2 * n + 8)
  const exactBasis = reference.orthogonalBasis(references)
  const relative: Array<number> = []
  references.forEach((r, k) => {
    const rNorm = reference.norm(r)
    const err = referenceErrors[k]! + rNorm * (k * g + 2 * relative.reduce((a, b) => a + b, 0))
    const qNorm = reference.norm(exactBasis[k]!)
    // Gram–Schmidt keeps qₖ only when ‖qₖ‖ > τ‖rₖ‖ (core/projectedCombination.ts, defaultSpanTolerance). If
    // the float32 error could move ‖qₖ‖ across that threshold, float32 may decide otherwise than
    // float64, and the projection may differ by the whole component along qₖ: relative error 1.
    const undecided = rNorm > 0 && Math.abs(qNorm - defaultSpanTolerance * rNorm) <= err
    relative.push(undecided ? 1 : qNorm > 0 ? Math.min(err / qNorm, 1) : 0)
  })
  let total = reference.norm(levels[0]!)
  let projectionErrors = 0
  levels.forEach((gk, k) => {
    if (k === 0) return
    const lambda = Math.abs(lambdas[k]!)
    total += lambda * reference.norm(gk)
    projectionErrors += lambda * reference.norm(gk) * (k * g + 2 * relative.slice(0, k).reduce((a, b) => a + b, 0))
  })
  return projectionErrors + gamma(levels.length + 1) * total
}
