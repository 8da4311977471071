/**
 * CAGrad — conflict-averse gradient descent (Liu, Liu, Jin, Stone & Liu, "Conflict-Averse Gradient
 * Descent for Multi-task Learning", NeurIPS 2021, Eq. 2 and Algorithm 1).
 *
 * With g₀ the mean task gradient and r = c·‖g₀‖, CAGrad takes the direction that maximises the
 * worst task's first-order improvement within a ball around g₀:
 *   d = argmax_{‖d − g₀‖ ≤ r} minᵢ ⟨gᵢ, d⟩.
 * Its dual is min_{w ∈ Δ} F(w) = ⟨g_w, g₀⟩ + r‖g_w‖ with g_w = Σwᵢgᵢ, and d = g₀ + (r/‖g_w*‖)·g_w*.
 * c = 0 gives the mean gradient; c ∈ [0, 1) keeps convergence to a stationary point of the
 * average loss (paper, Theorem 3.2).
 *
 * Solving the dual exactly: with √q = min_{η>0} (q/η + η)/2, F(w) = min_η bᵀw + (r/2)(wᵀGw/η + η),
 * jointly convex in (w, η). For fixed η the minimiser over w is MGDA's on the shifted points
 * gᵢ + (η/r)·g₀ (on the simplex, ⟨g_w, g₀⟩ and constants fold into one quadratic), and the
 * partial minimum φ(η) is convex with φ'(η) ∝ 1 − ‖g_w(η)‖²/η². So η* is the root of the
 * monotone η − ‖g_w(η)‖, found by bisection on [0, maxᵢ‖gᵢ‖]; each probe is one exact
 * active-set solve. (The authors' code calls a generic SLSQP solver instead.)
 *
 * Degenerate case: when the minimiser has g_w* = 0 the formula for d is undefined (the authors' code
 * adds 1e-4 to ‖g_w‖ and so returns ≈ g₀); the optimal set is then the part of the ball inside the
 * dual cone of the gradients, and we return its point closest to g₀.
 *
 * The authors' code also divides d by 1 + c² (`rescale`, on by default there, absent from the
 * paper); here `rescale: true` does the same and the default follows the paper.
 */
import { Schema } from "effect"
import { minNormInHull, quadraticForm, symmetricFrom, type SymmetricMatrix } from "../core/smallQp.ts"
import type { Tensor1D } from "../core/tf.ts"
import { tf } from "../core/tf.ts"
import type { Interpreter } from "./interpreter.ts"
import { dualConeWeights } from "./upgrad.ts"
import { NonNegative } from "./options.ts"
import { weightedDirection, weightingInterpreter } from "./weighting.ts"

export const CagradOptions = Schema.Struct({
  /** c ≥ 0, the ball's radius relative to ‖g₀‖; default 0.5 (LibMTL's default; the paper tunes c per benchmark). */
  c: Schema.optionalWith(NonNegative, { default: () => 0.5 }),
  /** Divide d by 1 + c², as the authors' code does; default false (the paper's Algorithm 1). */
  rescale: Schema.optionalWith(Schema.Boolean, { default: () => false }),
})
export type CagradOptions = typeof CagradOptions.Type

const bisectionSteps = 200


/** Weights β with d = Σβᵢgᵢ = g₀ + (r/‖g_w‖)·g_w (before the optional rescaling). */
export const cagradWeights = (
  gram: SymmetricMatrix,
  options: { readonly c: number; readonly rescale?: boolean },
  resolution = 1e-15,
): Float64Array => {
  const k = gram.size
  const g = (i: number, j: number) => gram.values[i * k + j]!
  const mean = new Float64Array(k).fill(1 / k)
  const b = Float64Array.from({ length: k }, (_, i) => mean.reduce((acc, m, j) => acc + m * g(i, j), 0)) // ⟨gᵢ, g₀⟩
  const meanNormSq = mean.reduce((acc, m, i) => acc + m * b[i]!, 0)
  const r = options.c * Math.sqrt(Math.max(meanNormSq, 0))
  const finish = (extra: Float64Array, factor: number) =>
    mean.map((m, i) => (m + factor * extra[i]!) / (options.rescale === true ? 1 + options.c ** 2 : 1))
  if (!(r > 0)) return finish(new Float64Array(k), 0)
  // MGDA weights of the points gᵢ + λ·g₀, from their Gram matrix (solved scale-robustly: see minNormInHull).
  const shiftedWeights = (lambda: number) =>
    minNormInHull(symmetricFrom(k, (i, j) => g(i, j) + lambda * (b[i]! + b[j]!) + lambda * lambda * meanNormSq), resolution)
  const normOf = (w: Float64Array) => Math.sqrt(Math.max(quadraticForm(gram, w), 0))
  // η* = ‖g_w(η*)‖ lies in [ν, maxᵢ‖gᵢ‖], ν the minimum norm of the hull of the gᵢ (every g_w is in
  // that hull). Bisection is geometric while the bracket spans more than a factor 2, so that an η*
  // 10⁻¹² below the largest norm (tasks of very different scales) is found to full relative precision.
  //
  // Within a factor 2, both ends are probed once and each further probe takes the false-position
  // point of the bracket (the Illinois variant: the value at an end that stays twice in a row is
  // halved, so both ends converge, superlinearly), or a plain bisection whenever two probes have
  // not halved the bracket; a probe whose gap is at rounding level ends the search. About 10
  // exact active-set solves instead of the 50 of bisection alone, whose worst case is kept.
  const gap = (eta: number) => eta - normOf(shiftedWeights(eta / r))
  let low = normOf(minNormInHull(gram, resolution))
  let high = Math.sqrt(Math.max(...Array.from({ length: k }, (_, i) => g(i, i))))
  let gapLow: number | undefined // gap(low) < 0 once probed
  let gapHigh: number | undefined // gap(high) ≥ 0 once probed
  // The probe at ν only gives false position its value there, never a root: at ν = 0 (0 in the
  // hull) g_w = 0 and the gap is 0 without η* being there (the gap turns positive further up); a
  // gap(ν) ≥ 0 (rounding) leaves false position out until an interior probe is negative.
  let lowProbed = false
  let moved = 0 // which end the last interior probe moved: −1 low, +1 high (the other end stayed)
  let width = high - low
  let probesSinceHalving = 0
  for (let step = 0; step < bisectionSteps && high - low > 1e-15 * high; step++) {
    const geometric = low > 0 && high > 2 * low
    const falsePosition = gapLow !== undefined && gapHigh !== undefined && gapHigh > gapLow ? (low * gapHigh - high * gapLow) / (gapHigh - gapLow) : NaN
    const eta = geometric
      ? Math.sqrt(low * high)
      : !lowProbed
        ? low
        : gapHigh === undefined
          ? high
          : probesSinceHalving < 2 && falsePosition > low && falsePosition < high
            ? falsePosition
            : (low + high) / 2
    const interior = eta !== low && eta !== high
    const value = gap(eta)
    if (eta === low && !interior) {
      lowProbed = true
      if (value < 0) gapLow = value
      continue
    }
    if (Math.abs(value) <= 1e-15 * eta) {
      high = eta
      break
    }
    if (value < 0) {
      low = eta
      gapLow = value
      lowProbed = true
      if (interior && moved === -1 && gapHigh !== undefined) gapHigh /= 2
    } else {
      high = eta
      gapHigh = value
      if (interior && moved === 1 && gapLow !== undefined) gapLow /= 2
    }
    if (!interior) continue
    moved = value < 0 ? -1 : 1
    probesSinceHalving++
    if (high - low <= width / 2) {
      width = high - low
      probesSinceHalving = 0
    }
  }
  const w = shiftedWeights(high / r)
  const norm = normOf(w)
  // g_w* = 0 (η* = 0): 0 lies in the hull and the best worst-task value is 0, reached by every d of
  // the ball inside the dual cone C = {d : ⟨gᵢ, d⟩ ≥ 0 ∀i}. We take the one closest to g₀, π_C(g₀)
  // (UPGrad's projection), which lies in the ball whenever that intersection is non-empty.
  // Each entry Gᵢⱼ errs by at most resolution·‖gᵢ‖‖gⱼ‖ (the per-pair bound of `NormalisedGram`, not
  // one relative to n or to the largest task), so ‖g_w‖² = wᵀGw errs by at most
  // resolution·(Σwᵢ‖gᵢ‖)²: below twice that, g_w cannot be told from 0 and its direction is noise.
  const weightedNorm = w.reduce((acc, wi, i) => acc + wi * Math.sqrt(Math.max(g(i, i), 0)), 0)
  // When g_w is below the Gram's resolution without 0 being optimal, the ball may miss the dual
  // cone (e.g. a zero gradient beside two large, nearly opposite ones): π_C(g₀) then lies outside
  // the ball, and we stop on the ball's boundary on the way to it, so d never leaves the ball.
  const coneCandidate = () => {
    const towardCone = dualConeWeights(gram, mean).map((x, i) => x - mean[i]!)
    const distance = Math.sqrt(Math.max(quadraticForm(gram, towardCone), 0))
    return finish(towardCone, distance > r ? r / distance : 1)
  }
  if (!(norm * norm > 2 * resolution * weightedNorm * weightedNorm)) return coneCandidate()
  // The test above sees the solve's own w only; the true minimiser may reach g_w = 0 through other
  // weights (0 in the hull only through a 5e-8 coordinate, seed −2019198019 of the soak), and then
  // g_w, small but above its own resolution, is noise taken as a direction (there: worst task −3
  // where 0 is optimal). Both candidates lie in the ball, so CAGrad's own objective decides:
  // the cone's point replaces g₀ + r·ĝ_w when its worst task is better beyond rounding.
  const ball = finish(w, r / norm)
  const worstTask = (beta: Float64Array) => Math.min(...Array.from({ length: k }, (_, i) => beta.reduce((acc, bj, j) => acc + bj * g(i, j), 0)))
  const mass = ball.reduce((acc, bj, j) => acc + Math.abs(bj) * Math.sqrt(Math.max(g(j, j), 0)), 0)
  const largestNorm = Math.sqrt(Math.max(...Array.from({ length: k }, (_, i) => g(i, i))))
  const cone = coneCandidate()
  return worstTask(cone) > worstTask(ball) + 4 * resolution * mass * largestNorm ? cone : ball
}

/** CAGrad's direction for task gradients `tasks`. */
export const cagradDirection = (tasks: ReadonlyArray<Tensor1D>, options: { readonly c: number; readonly rescale?: boolean }): Tensor1D =>
  tf.tidy(() => weightedDirection(tasks, cagradWeights, options))

export const cagrad: Interpreter<CagradOptions> = weightingInterpreter({
  name: "cagrad",
  description: "CAGrad: the direction in a ball of radius c·‖mean‖ around the mean gradient that helps the worst task most (Liu et al. 2021).",
  options: CagradOptions,
  weighting: cagradWeights,
  guarantees: { holds: ["weighted", "permutation-invariant", "scale-invariant"], reductions: [{ options: { c: 0 }, to: "mean" }] },
})
