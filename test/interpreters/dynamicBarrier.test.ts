import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { barrierConstraintDirection, barrierPriorityDirection } from "../../src/interpreters/dynamicBarrier.ts"
import { agreesWith, combinationProperty, edgeCasePairs, expectAtMost, gamma, onArrays, reference } from "scalpel/testing"
import { useCpuBackend } from "../support/cpuBackend.ts"

useCpuBackend()

const lambdas = fc.constantFrom(0.01, 0.5, 1, 4)

/** float64 reference of the Bloop paper's adapted barrier (§5.1): μ·g_main + λ·g_aux. */
const reference64 = (main: Float32Array, aux: Float32Array, lambda: number): Float64Array => {
  const mm = reference.squaredNorm(main)
  const mu = mm > 0 ? Math.max(1 - (lambda * reference.dot(main, aux)) / mm, 0) : 1
  return reference.add(reference.scale(main, mu), reference.scale(aux, lambda))
}

/**
 * Error model: μ is computed from two n-term reductions (γ_{2n+8} relative, like a projection's
 * coefficient, times |λ⟨m,a⟩|/‖m‖² ≤ λ‖a‖/‖m‖), so μ·g_main errs by γ_{2n+8}·(‖m‖ + λ‖a‖), and the
 * final sum adds γ₃ of both terms.
 */
const bound = (main: Float32Array, aux: Float32Array, lambda: number) =>
  (gamma(2 * main.length + 8) + gamma(3)) * (reference.norm(main) + 2 * lambda * reference.norm(aux))

describe("dynamic barrier, priority form: d = μ·g_main + λ·g_aux, μ = max(1 − λ⟨g_main, g_aux⟩/‖g_main‖², 0)", () => {
  it("guarantee ⟨d, g_main⟩ ≥ ‖g_main‖² (the main loss falls at least as under gradient descent)", () =>
    fc.assert(
      fc.property(edgeCasePairs(), lambdas, ([main, aux], lambda) => {
        const d = onArrays((m, a) => barrierPriorityDirection(m, a, lambda))(main, aux)
        expectAtMost("⟨d, g_main⟩ ≥ ‖g_main‖²", "‖g_main‖² − ⟨d, g_main⟩", reference.squaredNorm(main) - reference.dot(d, main), bound(main, aux, lambda) * reference.norm(main), "(error bound of d)·‖g_main‖")
      }),
    ))

  it("agreement with the float64 formula (edge cases: zero, tiny, huge, parallel, anti-parallel)", () =>
    fc.assert(
      fc.property(lambdas, (lambda) => {
        fc.assert(
          combinationProperty(
            agreesWith("the float64 barrier", ([m, a]) => reference64(m!, a!, lambda), { bound: ([m, a]) => bound(m!, a!, lambda) }),
            (gs) => onArrays((m, a) => barrierPriorityDirection(m, a, lambda))(gs[0]!, gs[1]!),
            edgeCasePairs().map(([m, a]) => [m, a]),
          ),
          { numRuns: 40 },
        )
      }),
      { numRuns: 4 },
    ))
})

/**
 * Inputs of the constrained form: (∇f, ∇q), the value term α·(q − ε) as a multiple of ‖∇q‖² (so that
 * both sides of the barrier's min are exercised: below, around and far above β‖∇q‖²), and β. The
 * value term is a float32 loss value times α in the training loop, so it is clamped to float32's
 * range (‖∇q‖² itself may not be: the rule never forms it).
 */
const constrainedInputs = fc.tuple(
  edgeCasePairs({ minLength: 2 }),
  fc.oneof(fc.double({ min: -2, max: 2, noNaN: true }), fc.double({ min: 2, max: 1e6, noNaN: true })),
  fc.constantFrom(0, 0.25, 1, 4),
)

const float32Max = 3.4e38
const clampToFloat32 = (x: number) => Math.sign(x) * Math.min(Math.abs(x), float32Max)

/** φ = min(α(q − ε), β‖∇q‖²), the paper's combined barrier, in float64. */
const barrier64 = (value: number, beta: number, q: Float32Array) => Math.min(value, beta * reference.squaredNorm(q))

/**
 * Error model of ⟨d, ∇q⟩ (d = ∇f + ν∇q formed in float32): the reductions ⟨∇f, q̂⟩ and ‖q̂‖² and the
 * final sum (γ_{2n+8} + γ₃ relative, on terms of size ‖∇f‖‖∇q‖ and |φ|, as for a projection), plus
 * the float32 rounding of the value term (relative 2⁻²⁴), plus what float32's subnormal range loses
 * absolutely (2⁻¹⁵⁰ per rounding, each scaled by what multiplies it afterwards): the value term as
 * a float32 (2⁻¹⁵⁰ in ⟨d, ∇q⟩), φ/s with s = max|∇qᵢ| (s·2⁻¹⁵⁰), the coefficient (its error times
 * ⟨q̂, ∇q⟩ = ‖∇q‖²/s ≤ ‖∇q‖₁), and each entry of ν·q̂ and of ∇f + ν·q̂ (|∇qᵢ|·2⁻¹⁵⁰ each, twice):
 * 2⁻¹⁵⁰·(1 + 4‖∇q‖₁) ≤ 2⁻¹⁴⁹·(1 + 2‖∇q‖₁). A correction below float32's smallest subnormal cannot
 * be carried by d at all; seed 1777609626 found it with ∇q = (1e30, 0, 0, 0), ∇f = 0 and φ = 1.4e-45
 * (d = 0), and seed 57360137 with ‖∇q‖₁ = 1.5 and φ = 7e-46 (the earlier bound took 2⁻¹⁴⁹ alone).
 */
const constrainedSlack = (f: Float32Array, q: Float32Array, phi: number) =>
  (gamma(2 * f.length + 8) + gamma(3)) * (3 * reference.norm(f) * reference.norm(q) + 2 * Math.abs(phi)) +
  2 ** -24 * Math.abs(phi) +
  2 ** -149 * (1 + 2 * q.reduce((total, x) => total + Math.abs(x), 0))

describe("dynamic barrier, constrained form: d = ∇f + ν∇q, ν = max((φ − ⟨∇f, ∇q⟩)/‖∇q‖², 0), φ = min(α(q − ε), β‖∇q‖²)", () => {
  const slackNote = "(γ_{2n+8} + γ₃)·(3‖∇f‖‖∇q‖ + 2|φ|) + rounding of φ + 2⁻¹⁴⁹·(1 + 2‖∇q‖₁)"
  /** The rule's d for one input, with φ and the float64 ⟨∇f, ∇q⟩; undefined where ‖∇q‖² is 0 or not finite. */
  const barrierCase = (f: Float32Array, q: Float32Array, valueScale: number, beta: number) => {
    const qq = reference.squaredNorm(q)
    if (!(qq > 0 && Number.isFinite(qq))) return undefined
    const value = clampToFloat32(valueScale * qq)
    const phi = barrier64(value, beta, q)
    const dq = reference.dot(onArrays((a, b) => barrierConstraintDirection(a, b, value, beta))(f, q), q)
    return { phi, dq, slack: constrainedSlack(f, q, phi) }
  }
  /** KKT of min ‖v − ∇f‖² s.t. ⟨v, ∇q⟩ ≥ φ: either the constraint is slack (d = ∇f) or active. */
  const closestMeetingBarrier = (f: Float32Array, q: Float32Array, valueScale: number, beta: number) => {
    const c = barrierCase(f, q, valueScale, beta)
    fc.pre(c !== undefined)
    const expected = Math.max(reference.dot(f, q), c!.phi)
    expectAtMost("⟨d, ∇q⟩ = max(⟨∇f, ∇q⟩, φ)", "|⟨d, ∇q⟩ − max(⟨∇f, ∇q⟩, φ)|", Math.abs(c!.dq - expected), c!.slack, slackNote)
  }

  it("guarantee ⟨d, ∇q⟩ ≥ φ (the constraint falls at least at the barrier's rate)", () =>
    fc.assert(
      fc.property(constrainedInputs, ([[f, q], valueScale, beta]) => {
        const c = barrierCase(f, q, valueScale, beta)
        fc.pre(c !== undefined)
        expectAtMost("⟨d, ∇q⟩ ≥ φ", "φ − ⟨d, ∇q⟩", c!.phi - c!.dq, c!.slack, slackNote)
      }),
    ))

  it("d is the closest vector to ∇f meeting the barrier: ⟨d, ∇q⟩ = max(⟨∇f, ∇q⟩, φ), so a large violation asks for no more than β‖∇q‖²", () =>
    fc.assert(fc.property(constrainedInputs, ([[f, q], valueScale, beta]) => closestMeetingBarrier(f, q, valueScale, beta))))

  it("regression (seeds 1777609626 and 57360137): a barrier below float32's subnormal resolution in d's units", () => {
    closestMeetingBarrier(new Float32Array(4), Float32Array.from([1.0000000150474662e30, 0, 0, 0]), 1.4013016795949388e-105, 0.25)
    closestMeetingBarrier(new Float32Array(9), Float32Array.from([0, 0, 0, 0, 0, -0.6116943359375, 0.4044952392578125, 0.5050048828125, 0]), 8.837472693683096e-46, 1)
  })

  it("β = ∞ drops the gradient term of the barrier (φ = α(q − ε)); ∇q = 0 leaves ∇f unchanged", () =>
    fc.assert(
      fc.property(edgeCasePairs({ minLength: 2 }), fc.double({ min: -2, max: 2, noNaN: true }), ([f, q], valueScale) => {
        const qq = reference.squaredNorm(q)
        const d0 = onArrays((a, b) => barrierConstraintDirection(a, b, 1, 1))(f, new Float32Array(q.length))
        expect(Array.from(d0)).toEqual(Array.from(f))
        fc.pre(qq > 0 && Number.isFinite(qq) && Math.abs(valueScale * qq) < float32Max)
        const value = valueScale * qq
        const d = onArrays((a, b) => barrierConstraintDirection(a, b, value, Infinity))(f, q)
        const expected = Math.max(reference.dot(f, q), value)
        expectAtMost("⟨d, ∇q⟩ = max(⟨∇f, ∇q⟩, α(q − ε))", "|⟨d, ∇q⟩ − max(⟨∇f, ∇q⟩, φ)|", Math.abs(reference.dot(d, q) - expected), constrainedSlack(f, q, value), "(γ_{2n+8} + γ₃)·(3‖∇f‖‖∇q‖ + 2|φ|) + rounding of φ")
      }),
    ))
})
