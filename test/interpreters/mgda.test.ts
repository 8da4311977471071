import fc from "fast-check"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { gramMatrix64, innerProductResolution } from "../../src/core/hostSweeps.ts"
import { minNormInHull, nonNegativeQuadratic, symmetricFrom, twoPointMinNorm, quadraticForm, matVec } from "../../src/core/smallQp.ts"
import { mgda, mgdaDirection } from "../../src/interpreters/mgda.ts"
import { checkInterpreter, expectAtMost, gamma, gradientSets, onArrays, permutationInvariant, positivelyHomogeneous, reference, vectorSetWithCosine } from "scalpel/testing"
import { useCpuBackend } from "../support/cpuBackend.ts"
import { eigenvalues } from "../support/extremeSets.ts"
import { gram64, gramRuleTolerance, largestNorm } from "../support/gram.ts"

useCpuBackend()

const direction = onArrays((...g) => mgdaDirection(g))

/**
 * Entries of the random vectors: 0 or a double of magnitude 1e-150 … 1, so that every product in
 * the Gram matrix is 0 or a normal float64 (the solvers' stated domain, smallQp.ts; Gram matrices
 * of float32 gradients always are). Plain `fc.double` also draws 1e-160 and gave subnormal entries.
 */
const entry = fc.oneof(
  fc.constant(0),
  fc.tuple(fc.double({ min: -150, max: 0, noNaN: true }), fc.boolean()).map(([e, negative]) => (negative ? -1 : 1) * 10 ** e),
  fc.double({ min: -1, max: 1, noNaN: true }).map((x) => (Math.abs(x) < 1e-150 ? 0 : x)),
)

/** Float64 Gram matrices of random float64 vectors, k in 1..6 (PSD up to their rounding). */
const psdMatrices = fc
  .tuple(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 6 }))
  .chain(([k, n]) => fc.array(fc.array(entry, { minLength: n, maxLength: n }), { minLength: k, maxLength: k }))
  .map((vs) => {
    const g = gram64(vs)
    return symmetricFrom(vs.length, (i, j) => g[i]![j]!)
  })

/**
 * Gram matrices as the rules build them: k ≤ 6 float32 vectors of n ≤ 6 entries (0, ±2⁻⁶⁰ … 1),
 * accumulated in float64 (`gramMatrix64`). The first `distinct` vectors are random or near copies
 * s·b + 2⁻ᵉ·r of the one before (e ≤ 24: residual ratios down to about 1e-7, condition numbers up
 * to 1e14); up to three exact copies ±2ᵉ·b (|e| ≤ 30, no underflow) follow, so H is often singular.
 * The exact Gram matrix of float32 vectors is positive semi-definite; G errs from it by at most
 * ε‖gᵢ‖‖gⱼ‖ per entry (ε = `innerProductResolution(n)`). Random float64 vectors with entries down
 * to 1e-150 (the generator above) give matrices the rules never see, indefinite by rounding.
 */
const entry32 = fc.oneof(
  fc.constant(0),
  fc.tuple(fc.double({ min: -60, max: 0, noNaN: true }), fc.boolean()).map(([e, negative]) => Math.fround((negative ? -1 : 1) * 2 ** e)),
  fc.float({ min: -1, max: 1, noNaN: true }).map((x) => (Math.abs(x) < 2 ** -60 ? 0 : x)),
)
const powerOfTwo = fc.tuple(fc.integer({ min: -30, max: 30 }), fc.boolean()).map(([e, negative]) => (negative ? -1 : 1) * 2 ** e)
const float32Grams = fc
  .tuple(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 0, max: 3 }))
  .chain(([n, count, copies]) => {
    const vector = fc.array(entry32, { minLength: n, maxLength: n })
    const distinct = Math.min(count, n)
    return fc.tuple(
      vector,
      fc.array(fc.tuple(fc.boolean(), powerOfTwo, fc.integer({ min: 1, max: 24 }), vector), { minLength: distinct - 1, maxLength: distinct - 1 }),
      fc.array(fc.tuple(fc.nat(), powerOfTwo), { minLength: copies, maxLength: copies }),
    )
  })
  .map(([first, rest, copies]) => {
    const base = rest.reduce<ReadonlyArray<ReadonlyArray<number>>>(
      (acc, [near, s, e, r]) => [...acc, near ? acc[acc.length - 1]!.map((x, i) => Math.fround(s * x + 2 ** -e * r[i]!)) : r],
      [first],
    )
    const vectors = [...base, ...copies.map(([i, s]) => base[i % base.length]!.map((x) => s * x))].slice(0, 6).map((v) => Float32Array.from(v))
    return { vectors, distinct: base.length }
  })
/** Coefficients y of f = H·y: 0 or normal doubles in [−1, 1] (the solver's domain: no subnormal f). */
const coefficient = fc.double({ min: -1, max: 1, noNaN: true }).map((v) => (Math.abs(v) < 1e-8 ? 0 : v))

/** argmin over the simplex by enumerating supports (float64 reference; exponential, fine for k ≤ 6). */
const bruteForceMinNorm = (G: ReadonlyArray<ReadonlyArray<number>>): number => {
  const k = G.length
  let best = Infinity
  for (let mask = 1; mask < 1 << k; mask++) {
    const s = [...Array(k).keys()].filter((i) => mask & (1 << i))
    // Affine minimiser on the support: solve [G_S 1; 1ᵀ 0][α; μ] = [0; 1] by Gaussian elimination.
    const m = s.length + 1
    const A = Array.from({ length: m }, (_, r) => Array.from({ length: m + 1 }, (_, c) => (r < s.length && c < s.length ? G[s[r]!]![s[c]!]! : r === s.length && c === s.length ? 0 : c === m ? (r === s.length ? 1 : 0) : 1)))
    let singular = false
    for (let c = 0; c < m; c++) {
      let p = c
      for (let r = c + 1; r < m; r++) if (Math.abs(A[r]![c]!) > Math.abs(A[p]![c]!)) p = r
      if (Math.abs(A[p]![c]!) < 1e-12) { singular = true; break }
      ;[A[c], A[p]] = [A[p]!, A[c]!]
      for (let r = 0; r < m; r++) if (r !== c) { const f = A[r]![c]! / A[c]![c]!; for (let cc = c; cc <= m; cc++) A[r]![cc]! -= f * A[c]![cc]! }
    }
    if (singular) continue
    const alpha = s.map((_, i) => A[i]![m]! / A[i]![i]!)
    if (alpha.some((a) => a < -1e-12)) continue
    let value = 0
    s.forEach((i, a) => s.forEach((j, b) => (value += alpha[a]! * alpha[b]! * G[i]![j]!)))
    best = Math.min(best, value)
  }
  return best
}

describe("small exact solvers (float64)", () => {
  it("Lawson–Hanson meets the KKT conditions of min ½xᵀHx − fᵀx, x ≥ 0, on Gram matrices of float32 vectors, to (1e-13 + 4ε)·‖gᵢ‖Σⱼ‖gⱼ‖(xⱼ + |yⱼ|)", () =>
    fc.assert(
      // f = H·y keeps the problem bounded below (f in the range of H), as in every use by the rules.
      fc.property(float32Grams, fc.array(coefficient, { minLength: 6, maxLength: 6 }), ({ vectors, distinct }, y6) => {
        const k = vectors.length
        const eps = innerProductResolution(vectors[0]!.length)
        const G = gramMatrix64(vectors)
        const norms = Array.from({ length: k }, (_, i) => Math.sqrt(G[i * k + i]!))
        // The distinct directions must be resolved by G (λ_min of their correlation matrix above
        // 10³·k·ε, as for the rules' guarantees); exact copies make H singular, which is covered.
        const directions = [...Array(distinct).keys()].filter((i) => norms[i]! > 0)
        if (directions.length > 0) fc.pre(eigenvalues(directions.map((i) => directions.map((j) => G[i * k + j]! / (norms[i]! * norms[j]!))))[0]! > 1e3 * k * eps)
        const H = symmetricFrom(k, (i, j) => G[i * k + j]!)
        const f = matVec(H, y6.slice(0, k))
        const x = nonNegativeQuadratic(H, f)
        const w = matVec(H, x).map((hx, i) => f[i]! - hx)
        for (let i = 0; i < k; i++) {
          expect(x[i]).toBeGreaterThanOrEqual(0)
          // The solver's tolerance (1e-13 of its row's terms |fᵢ| + Σⱼ|Hᵢⱼxⱼ|) and the rounding of w
          // computed from G, both at most their factor times ‖gᵢ‖Σⱼ‖gⱼ‖(xⱼ + |yⱼ|) — the scale on
          // which G's own rounding (ε‖gᵢ‖‖gⱼ‖ per entry) moves wᵢ.
          const scale = norms[i]! * norms.reduce((acc, s, j) => acc + s * (x[j]! + Math.abs(y6[j]!)), 0)
          const tolerance = (1e-13 + 4 * eps) * scale
          expectAtMost("dual feasibility", `w${i}`, w[i]!, tolerance, "(1e-13 + 4ε)·‖gᵢ‖Σ‖gⱼ‖(xⱼ + |yⱼ|)")
          if (x[i]! > 0) expectAtMost("complementarity", `|w${i}|`, Math.abs(w[i]!), tolerance, "(1e-13 + 4ε)·‖gᵢ‖Σ‖gⱼ‖(xⱼ + |yⱼ|)")
        }
      }),
    ))

  it("Lawson–Hanson: a coordinate that cannot enter (a zero column with a subnormal f entry) does not stop the others", () => {
    // Found by the KKT property when it drew float64 Gram matrices (seed 2 of a search): H's only
    // non-zero entries are H₀₂ = H₂₀ = 5e-324 and H₂₂ = 0.25, f = (5e-324, 0, 0.125, 0, 0). Coordinate 0 has the largest
    // scaled gradient but no column to move along; the solver kept choosing it and returned x = 0,
    // where x₂ = 0.5 is the minimiser.
    const values = new Array<number>(25).fill(0)
    values[2] = values[10] = 5e-324
    values[12] = 0.25
    const H = symmetricFrom(5, (i, j) => values[i * 5 + j]!)
    const x = nonNegativeQuadratic(H, [5e-324, 0, 0.125, 0, 0])
    expect(x[2]).toBeCloseTo(0.5, 12)
    const w = matVec(H, x).map((hx, i) => [5e-324, 0, 0.125, 0, 0][i]! - hx)
    expect(Math.max(...w)).toBeLessThanOrEqual(1e-15)
  })

  it("regression (SCALPEL_FC_SEED=-107139935): near-parallel columns (1 + 1.4e-7, −2.5e-8), the minimum to 1e-12, not 5e-9 above", () => {
    const values = Float64Array.from([2, 1, 0, 1, -1, 0, 1, 1.0000000000000193, 1.0000001371273208, 1, -2.500001572426761e-8, -2.500001572426761e-8, 0, 1.0000001371273208, 4, 1, 1, 0, 1, 1, 1, 2, 0, 0, -1, -2.500001572426761e-8, 1, 0, 2, 1, 0, -2.500001572426761e-8, 0, 0, 1, 1])
    const G = { size: 6, values }
    const rows = Array.from({ length: 6 }, (_, i) => Array.from(values.slice(i * 6, i * 6 + 6)))
    const alpha = minNormInHull(G)
    expect(Math.abs(alpha.reduce((a, b) => a + b, 0) - 1)).toBeLessThanOrEqual(1e-12)
    expect(quadraticForm(G, alpha)).toBeLessThanOrEqual(bruteForceMinNorm(rows) + 1e-12)
  })

  it("minNormInHull reaches the minimum found by enumerating supports", () =>
    fc.assert(
      fc.property(psdMatrices, (G) => {
        const rows = Array.from({ length: G.size }, (_, i) => Array.from({ length: G.size }, (_, j) => G.values[i * G.size + j]!))
        const alpha = minNormInHull(G)
        expect(alpha.every((a) => a >= 0)).toBe(true)
        expect(Math.abs(alpha.reduce((a, b) => a + b, 0) - 1)).toBeLessThanOrEqual(1e-12)
        expect(quadraticForm(G, alpha)).toBeLessThanOrEqual(bruteForceMinNorm(rows) + 1e-9 * (1 + Math.max(...G.values)))
      }),
    ))

  /**
   * The closed form is exact up to the rounding of its few operations, so it may never be worse than
   * the active-set solve by more than the rounding of evaluating q(α) = αᵀGα (four terms of at most
   * max|G|: 8ε(1 + max|G|)). The converse holds to the tight 1e-12 only when the lifted columns
   * hᵢ = (pᵢ, 1) are resolved — λ_min of their correlation matrix C above 10³·k·ε, the limit
   * `nonNegativeQuadratic` states. Otherwise the pseudo-inverse takes the two columns as parallel
   * and returns a point of the segment that need not be its end: by convexity, for any α in the
   * simplex, q(α) − q* ≤ 2·maxᵢ(q(α) − (Gα)ᵢ) (q(α*) ≥ q(α) + 2⟨Gα, α* − α⟩ ≥ q(α) − 2·maxᵢ(q(α) − (Gα)ᵢ)),
   * so the gap is bounded by the point's own KKT residual. Seed −888779721 found such a pair:
   * G = [[1, 1 − 2e-12], [1 − 2e-12, 1 − 4e-12]], p₂ = (1 − 2e-12)·p₁, whose lifted columns are
   * parallel to 1e-24; the solve returned the midpoint (q = 1 − 2e-12) and the closed form p₂
   * (q = 1 − 4e-12), a gap of 2e-12 = 2·(q(α) − (Gα)₂), as the bound says.
   */
  const agreesWithClosedForm = (two: ReturnType<typeof symmetricFrom>) => {
    const lifted = symmetricFrom(2, (i, j) => two.values[i * 2 + j]! + 1)
    const u = nonNegativeQuadratic(lifted, [1, 1])
    const s = u[0]! + u[1]!
    const viaQp = Float64Array.from([u[0]! / s, u[1]! / s])
    const closed = twoPointMinNorm(two)
    const scale = 1 + Math.max(...two.values.map(Math.abs))
    const qQp = quadraticForm(two, viaQp)
    const qClosed = quadraticForm(two, closed)
    expect(qClosed - qQp, "the closed form is not worse than the active-set solve").toBeLessThanOrEqual(8 * Number.EPSILON * scale)
    const c = lifted.values[1]! / Math.sqrt(lifted.values[0]! * lifted.values[3]!)
    const resolved = 1 - Math.abs(c) > 1e3 * 2 * Number.EPSILON
    if (resolved) expect(qQp - qClosed).toBeLessThanOrEqual(1e-12 * scale)
    else {
      const kktResidual = Math.max(...matVec(two, viaQp).map((gi) => qQp - gi), 0)
      expect(qQp - qClosed, "unresolved columns: the gap is bounded by the solve's KKT residual").toBeLessThanOrEqual(2 * kktResidual + 8 * Number.EPSILON * scale)
    }
  }

  it("for two points the active-set solve agrees with the closed form", () =>
    fc.assert(
      fc.property(psdMatrices.filter((G) => G.size >= 2), (G) => agreesWithClosedForm(symmetricFrom(2, (i, j) => G.values[i * G.size + j]!))),
    ))

  it("regression (seed −888779721): two points parallel to 1e-12, the closed form's end point p₂ against the solve's midpoint", () => {
    const v = [1, 0.9999999999979997, 0.9999999999979997, 0.9999999999959994]
    const two = symmetricFrom(2, (i, j) => v[i * 2 + j]!)
    expect(twoPointMinNorm(two)[1]).toBe(1)
    agreesWithClosedForm(two)
  })
})

describe("MGDA d = argmin{‖v‖ : v ∈ conv(g₁..g_k)}", () => {
  const guarantee = (gs: ReadonlyArray<Float32Array>) => {
    const d = direction(...gs)
    const M = largestNorm(gs)
    const tol = gramRuleTolerance(gs[0]!.length, gs.length, M)
    const dd = reference.squaredNorm(d)
    gs.forEach((g, i) => expectAtMost("MGDA ⟨d, gᵢ⟩ ≥ ‖d‖²", `‖d‖² − ⟨d, g${i}⟩`, dd - reference.dot(d, g), tol, "gramRuleTolerance"))
  }

  it("guarantee ⟨d, gᵢ⟩ ≥ ‖d‖² for every task (edge-case gradient sets, k = 1..5)", () =>
    fc.assert(fc.property(gradientSets({ maxCount: 5 }), guarantee)))

  it("guarantee on strongly conflicting sets (every gradient at ≥ 90° from the first)", () =>
    fc.assert(fc.property(vectorSetWithCosine({ min: -1, max: 0 }, { maxCount: 5 }), guarantee)))

  it("guarantee on a near-duplicate pair of gradients (a random counterexample when G was accumulated in float32)", () =>
    guarantee([
      Float32Array.from([-0.7427825927734375, 0, -0.0000457763671875]),
      Float32Array.from([0.0000035000364277948393, 0.7406082153320312, -0.05679275467991829]),
      Float32Array.from([-0.00002288818359375, 0, 0.37139129638671875]),
      Float32Array.from([1.2270900962008113e-9, 0.7427825927734375, -0.00001991117278521415]),
      Float32Array.from([-0.00002288818359375, -0.00008772677392698824, 0.37139129638671875]),
    ]))

  it("d is the minimum-norm point: no convex combination is shorter (float64 enumeration)", () =>
    fc.assert(
      fc.property(gradientSets({ maxCount: 4, maxLength: 6 }), (gs) => {
        const d = direction(...gs)
        const M = largestNorm(gs)
        expectAtMost("minimum norm", "‖d‖² − min_Δ αᵀGα", reference.squaredNorm(d) - bruteForceMinNorm(gram64(gs)), gramRuleTolerance(gs[0]!.length, gs.length, M), "gramRuleTolerance")
      }),
    ))

  it("d = 0 when the hull contains 0 (g and −g)", () => {
    const g = Float32Array.from([1, -2, 0.5])
    expect(reference.norm(direction(g, g.map((x) => -x)))).toBe(0)
  })

  it("a single task gives its gradient", () =>
    fc.assert(
      fc.property(gradientSets({ minCount: 1, maxCount: 1 }), ([g]) => {
        // α = 1 exactly; only the float32 combination rounds: γ₃‖g‖.
        expect(reference.distance(direction(g!), g!)).toBeLessThanOrEqual(gamma(3) * reference.norm(g!))
      }),
    ))

  it("as an interpreter: permutation invariance and positive homogeneity, leak-free (checkInterpreter)", async () => {
    // For the min-norm point d* and any p in the hull, ‖p − d*‖² ≤ ‖p‖² − ‖d*‖² (⟨p − d*, d*⟩ ≥ 0), so a
    // computed d whose squared norm is within `tol` of optimal lies within √tol of d*.
    const bound = (gs: ReadonlyArray<Float32Array>) => Math.sqrt(gramRuleTolerance(gs[0]!.length, gs.length, largestNorm(gs)))
    const report = await Effect.runPromise(
      checkInterpreter(mgda, {
        objectives: ["a", "b", "c"],
        properties: [permutationInvariant({ bound }), positivelyHomogeneous({ bound })],
        // Sets in general position: with exact ties (duplicates) the minimiser α is not unique,
        // though d is; permutations may then pick another α with the same d up to rounding.
        gradients: (n) => vectorSetWithCosine({ min: -1, max: 1 }, { minLength: n, maxLength: n, minCount: 3, maxCount: 3 }),
        shapes: fc.constantFrom([[4]], [[2, 2], [3]], [[6]]),
        numRuns: 50,
      }),
    )
    expect(report.properties).toHaveLength(2)
  })
})
