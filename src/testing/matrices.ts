/**
 * Gradient matrices for property tests, in the manner of TorchJD's test samplers: k task
 * gradients of length n (the rows of J) with a chosen rank built from random orthonormal factors,
 * strongly and weakly stationary sets (some non-negative combination of the rows vanishes), zero
 * matrices, and small-integer matrices (readable counterexamples once shrunk) — every one of them
 * rescaled by 10ᵉ, e ∈ [−10, 15] by default. Shapes from 1×1 to 20×100 by default.
 *
 * Matrices are drawn from integer seeds (a seeded float64 generator, then rounded to float32), so
 * that fast-check shrinks the shape, the rank and the exponent towards small, plain cases.
 */
import fc from "fast-check"

/** Ranges of the generated matrices. */
export interface MatrixRange {
  /** Number of rows k (tasks): default 1–20. */
  readonly minRows?: number
  readonly maxRows?: number
  /** Number of columns n (parameters): default 1–100. */
  readonly minColumns?: number
  readonly maxColumns?: number
  /** Decimal exponent e of the overall scale 10ᵉ: default −10…15. */
  readonly minExponent?: number
  readonly maxExponent?: number
}

/** A matrix as its rows (float32). */
export type Rows = ReadonlyArray<Float32Array>

/** A seeded standard-normal generator (mulberry32 + Box–Muller), for reproducible constructions. */
const gaussians = (seed: number) => {
  let state = seed >>> 0
  const uniform = () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296
  }
  return () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform())
}

/** r orthonormal vectors of length n (Gram–Schmidt on Gaussian draws, in float64); r ≤ n. */
export const orthonormalVectors = (seed: number, n: number, r: number): Array<Float64Array> => {
  const next = gaussians(seed)
  const basis: Array<Float64Array> = []
  while (basis.length < r) {
    const v = Float64Array.from({ length: n }, next)
    for (let pass = 0; pass < 2; pass++) {
      for (const b of basis) {
        let c = 0
        for (let i = 0; i < n; i++) c += v[i]! * b[i]!
        for (let i = 0; i < n; i++) v[i]! -= c * b[i]!
      }
    }
    const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0))
    if (norm > 1e-6) basis.push(v.map((x) => x / norm))
  }
  return basis
}

/**
 * J = U·diag(σ)·Vᵀ with U (k×r) and V (n×r) random orthonormal factors and singular values σ in
 * [1/10, 1] (so the rank is exactly r), in float64.
 */
export const matrixOfRank64 = (seed: number, k: number, n: number, r: number): Array<Float64Array> => {
  const rank = Math.min(r, k, n)
  const u = orthonormalVectors(seed, k, rank) // columns of U, as vectors of length k
  const v = orthonormalVectors(seed ^ 0x5bd1e995, n, rank)
  const next = gaussians(seed ^ 0x27d4eb2f)
  const sigma = Array.from({ length: rank }, () => 0.1 + 0.9 * Math.abs(Math.tanh(next())))
  return Array.from({ length: k }, (_, i) => {
    const row = new Float64Array(n)
    for (let p = 0; p < rank; p++) for (let j = 0; j < n; j++) row[j]! += u[p]![i]! * sigma[p]! * v[p]![j]!
    return row
  })
}

/**
 * Rows with vᵀJ = 0 for a weight vector v ≥ 0 (J = A − v(vᵀA)/‖v‖² for a random A of rank
 * min(r, k − 1)): `strong` makes every vᵢ > 0 (0 is in the relative interior of the rows' convex
 * hull, up to scaling), otherwise some vᵢ are 0 (weakly stationary).
 */
export const stationaryMatrix64 = (seed: number, k: number, n: number, r: number, strong: boolean): Array<Float64Array> => {
  const a = matrixOfRank64(seed, k, n, Math.max(1, Math.min(r, k - 1)))
  const next = gaussians(seed ^ 0x165667b1)
  const v = Float64Array.from({ length: k }, (_, i) => (strong || i % 2 === 0 || k === 1 ? 0.2 + Math.abs(next()) : 0))
  const vv = v.reduce((s, x) => s + x * x, 0)
  const vA = new Float64Array(n)
  a.forEach((row, i) => row.forEach((x, j) => (vA[j]! += v[i]! * x)))
  return a.map((row, i) => row.map((x, j) => x - (v[i]! * vA[j]!) / vv))
}

const toRows = (rows: ReadonlyArray<ArrayLike<number>>, scale: number): Rows => rows.map((r) => Float32Array.from(r, (x) => x * scale))

const exponent = (range: MatrixRange) => fc.integer({ min: range.minExponent ?? -10, max: range.maxExponent ?? 15 })

/**
 * Matrices of a given shape: small integers in [−3, 3] first (what shrinking lands on), then
 * controlled rank, strongly and weakly stationary, and zero matrices, each times 10ᵉ.
 */
export const matrixOfShape = (k: number, n: number, range: MatrixRange = {}): fc.Arbitrary<Rows> => {
  const seed = fc.integer({ min: 0, max: 2 ** 31 - 1 })
  const rank = fc.integer({ min: 0, max: Math.min(k, n) })
  const scale = exponent(range).map((e) => 10 ** e)
  return fc.oneof(
    { withCrossShrink: true },
    { weight: 3, arbitrary: fc.array(fc.array(fc.integer({ min: -3, max: 3 }), { minLength: n, maxLength: n }), { minLength: k, maxLength: k }).map((rows) => toRows(rows, 1)) },
    { weight: 4, arbitrary: fc.tuple(seed, rank, scale).map(([s, r, c]) => toRows(matrixOfRank64(s, k, n, r), c)) },
    { weight: 2, arbitrary: fc.tuple(seed, rank, scale).map(([s, r, c]) => toRows(stationaryMatrix64(s, k, n, r, true), c)) },
    { weight: 2, arbitrary: fc.tuple(seed, rank, scale).map(([s, r, c]) => toRows(stationaryMatrix64(s, k, n, r, false), c)) },
    { weight: 1, arbitrary: fc.constant(toRows(Array.from({ length: k }, () => new Float64Array(n)), 1)) },
  )
}

/** A shape (k, n) within `range`. */
export const matrixShapes = (range: MatrixRange = {}): fc.Arbitrary<readonly [number, number]> =>
  fc.tuple(fc.integer({ min: range.minRows ?? 1, max: range.maxRows ?? 20 }), fc.integer({ min: range.minColumns ?? 1, max: range.maxColumns ?? 100 }))

/** Matrices of any shape within `range` (see {@link matrixOfShape}). */
export const matrices = (range: MatrixRange = {}): fc.Arbitrary<Rows> =>
  matrixShapes(range).chain(([k, n]) => matrixOfShape(k, n, range))
