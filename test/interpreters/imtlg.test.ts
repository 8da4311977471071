import fc from "fast-check"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { symmetricFrom, symmetricEigen } from "../../src/core/smallQp.ts"
import { imtlg, imtlgDirection, imtlgWeights } from "../../src/interpreters/imtlg.ts"
import { checkInterpreter, expectAtMost, gamma, onArrays, permutationInvariant, reference, vectorSetWithCosine } from "scalpel/testing"
import { useCpuBackend } from "../support/cpuBackend.ts"
import { gram64, largestNorm, solverSlack } from "../support/gram.ts"

useCpuBackend()

const direction = onArrays((...g) => imtlgDirection(g))

const normalisedGram64 = (gs: ReadonlyArray<Float32Array>) => {
  const G = gram64(gs)
  const M2 = Math.max(...G.map((r, i) => r[i]!))
  return symmetricFrom(gs.length, (i, j) => G[i]![j]! / M2)
}

/** κ(G) = λ_max/λ_min of the normalised Gram matrix (float64). */
const conditionNumber = (gs: ReadonlyArray<Float32Array>): number => {
  const { values } = symmetricEigen(normalisedGram64(gs))
  const sorted = Array.from(values).sort((a, b) => a - b)
  return sorted[sorted.length - 1]! / Math.max(sorted[0]!, Number.MIN_VALUE)
}

/**
 * Linearly independent sets (k ≤ n) whose Gram matrix is well enough conditioned (κ ≤ 10⁴) for the
 * equal-projection system to be solvable in float32 at all.
 */
const independentSets = fc
  .integer({ min: 2, max: 4 })
  .chain((k) => vectorSetWithCosine({ min: -0.9, max: 0.9 }, { minLength: k, maxLength: k + 4, minCount: k, maxCount: k }))
  .filter((gs) => conditionNumber(gs) <= 1e4)

/**
 * Error bound for the projections ⟨d, gᵢ/‖gᵢ‖⟩: G errs by γ_{n+4}·M² per entry, which moves the
 * solution of Gα = c·n by a relative κ(G)·k·γ_{n+4} (perturbation of a linear system, Higham
 * Thm. 7.2); d then errs by that times Σ|αᵢ|‖gᵢ‖ plus the combination's γ_{k+2}·Σ|αᵢ|‖gᵢ‖.
 */
const projectionTolerance = (gs: ReadonlyArray<Float32Array>): number => {
  const alpha = imtlgWeights(normalisedGram64(gs))
  const mass = Array.from(alpha).reduce((acc, a, i) => acc + Math.abs(a) * reference.norm(gs[i]!), 0)
  const n = gs[0]!.length
  return 2 * (conditionNumber(gs) * gs.length * gamma(n + 4) + gamma(gs.length + 2) + solverSlack) * mass
}

describe("IMTL-G: d = Σαᵢgᵢ, Σα = 1, with equal projections on every task direction", () => {
  it("equal projections ⟨d, gᵢ/‖gᵢ‖⟩ = ⟨d, gⱼ/‖gⱼ‖⟩ (independent gradients)", () =>
    fc.assert(
      fc.property(independentSets, (gs) => {
        const d = direction(...gs)
        const p = gs.map((g) => reference.dot(d, g) / reference.norm(g))
        expectAtMost("equal projections", "max pᵢ − min pᵢ", Math.max(...p) - Math.min(...p), 2 * projectionTolerance(gs), "2·(κ-scaled error bound)")
      }),
    ))

  it("|Σα| = 1 and the common projection is positive (α = G⁺n/|1ᵀG⁺n|; d = 0 only when 1ᵀG⁺n is unresolved) (float64)", () =>
    fc.assert(
      fc.property(independentSets, (gs) => {
        const G = normalisedGram64(gs)
        const alpha = imtlgWeights(G)
        const mass = alpha.reduce((a, b) => a + Math.abs(b), 0)
        fc.pre(mass > 0)
        const d = reference.weightedSum(Array.from(alpha, (a, i) => [a, gs[i]!] as const))
        // Normalising by the total is exact up to float64 cancellation: k·2⁻⁵³·Σ|αᵢ|.
        expect(Math.abs(Math.abs(alpha.reduce((a, b) => a + b, 0)) - 1)).toBeLessThanOrEqual(4 * alpha.length * 2 ** -53 * mass)
        expect(reference.dot(d, gs[0]!)).toBeGreaterThan(0)
      }),
    ))

  it("two gradients of equal norm: d is their mean (the bisector)", () =>
    fc.assert(
      fc.property(vectorSetWithCosine({ min: -0.9, max: 0.9 }, { minCount: 2, maxCount: 2 }), ([a, b]) => {
        const bScaled = Float32Array.from(b!, (x) => (x * reference.norm(a!)) / reference.norm(b!))
        const mean = reference.scale(reference.add(a!, bScaled), 0.5)
        expectAtMost("bisector", "‖d − mean‖", reference.distance(direction(a!, bScaled), mean), 2 * projectionTolerance([a!, bScaled]) + gamma(4) * largestNorm([a!, bScaled]), "error bound")
      }),
    ))

  it("as an interpreter: permutation invariance, leak-free (checkInterpreter)", async () => {
    const report = await Effect.runPromise(
      checkInterpreter(imtlg, {
        objectives: ["a", "b"],
        properties: [permutationInvariant({ bound: (gs) => projectionTolerance(gs) })],
        gradients: (n) => vectorSetWithCosine({ min: -0.9, max: 0.9 }, { minLength: n, maxLength: n, minCount: 2, maxCount: 2 }),
        shapes: fc.constantFrom([[4]], [[2, 2], [3]]),
        numRuns: 50,
      }),
    )
    expect(report.properties).toHaveLength(1)
  })
})
