/**
 * fast-check arbitraries for gradient surgery, producing plain `Float32Array`s (not tensors) so
 * that shrinking is cheap and counterexamples print as numbers.
 *
 * Entries are drawn on a grid: k/2¹⁶ for integers |k| ≤ 2¹⁶, times a scale. Grid values are exact
 * in float32, shrink towards 0, and stay clear of subnormal numbers even at the tiny scale
 * (1e-30·2⁻¹⁶ ≈ 1.5e-35 > 1.2e-38), so that scaling a vector by a power of two in [2⁻⁸, 2⁸] is
 * exact and tolerances need not account for underflow of the inputs.
 */
import fc from "fast-check"
import { layoutOf, type Layout } from "../core/paramVector.ts"

/** Bounds on the length of generated vectors (defaults 1 and 16). */
export interface LengthRange {
  readonly minLength?: number
  readonly maxLength?: number
}

/** An interval of cosines, within [−1, 1]. */
export interface CosineRange {
  readonly min: number
  readonly max: number
}

/** Scale of "tiny" vectors: ‖v‖² underflows float32 (1e-60 < 1.4e-45) while entries stay normal. */
export const tinyScale = 1e-30
/** Scale of "huge" vectors: ‖v‖² overflows float32 (1e60 > 3.4e38) while entries stay finite. */
export const hugeScale = 1e30

const gridSteps = 2 ** 16
const gridEntry = fc.integer({ min: -gridSteps, max: gridSteps })

const onGrid = (entries: ReadonlyArray<number>, scale: number): Float32Array =>
  Float32Array.from(entries, (k) => (k / gridSteps) * scale)

const lengthOf = (range: LengthRange, floor = 1): fc.Arbitrary<number> =>
  fc.integer({ min: Math.max(floor, range.minLength ?? 1), max: Math.max(floor, range.maxLength ?? 16) })

/** Vectors of exactly `length` entries with |entries| ≤ `scale` (default 1). */
export const vectorOfLength = (length: number, options: { readonly scale?: number } = {}): fc.Arbitrary<Float32Array> =>
  fc.array(gridEntry, { minLength: length, maxLength: length }).map((e) => onGrid(e, options.scale ?? 1))

/** Non-zero vectors of exactly `length` entries (a zero draw becomes a multiple of e₀). */
export const nonZeroVectorOfLength = (length: number, options: { readonly scale?: number } = {}): fc.Arbitrary<Float32Array> =>
  fc
    .array(gridEntry, { minLength: length, maxLength: length })
    .map((e) => onGrid(e.every((k) => k === 0) ? e.map((_, i) => (i === 0 ? gridSteps : 0)) : e, options.scale ?? 1))

/** Vectors whose length lies in `range`, entries in [−scale, scale]. */
export const vector = (options: LengthRange & { readonly scale?: number } = {}): fc.Arbitrary<Float32Array> =>
  lengthOf(options).chain((n) => vectorOfLength(n, options))

/** Degenerate vectors of a given length: zero, tiny, huge, one-hot, constant. */
export const degenerateVectorOfLength = (length: number): fc.Arbitrary<Float32Array> =>
  fc.oneof(
    fc.constant(new Float32Array(length)),
    nonZeroVectorOfLength(length, { scale: tinyScale }),
    nonZeroVectorOfLength(length, { scale: hugeScale }),
    fc
      .tuple(fc.integer({ min: 0, max: length - 1 }), fc.constantFrom(1, -1, 2 ** -8, 2 ** 8))
      .map(([i, c]) => Float32Array.from({ length }, (_, j) => (j === i ? c : 0))),
    fc.constantFrom(1, -0.5, 3).map((c) => new Float32Array(length).fill(c)),
  )

/**
 * The default mix for a given length: mostly ordinary vectors, with degenerate ones (zero, tiny,
 * huge, one-hot, constant) and power-of-two rescalings often enough that each appears in a
 * 100-run property.
 */
export const edgeCaseVectorOfLength = (length: number): fc.Arbitrary<Float32Array> =>
  fc.oneof(
    { weight: 5, arbitrary: vectorOfLength(length) },
    { weight: 1, arbitrary: vectorOfLength(length, { scale: 2 ** 10 }) },
    { weight: 3, arbitrary: degenerateVectorOfLength(length) },
  )

/** {@link edgeCaseVectorOfLength} with a length drawn from `range`: the kit's default vectors. */
export const edgeCaseVectors = (range: LengthRange = {}): fc.Arbitrary<Float32Array> =>
  lengthOf(range).chain(edgeCaseVectorOfLength)

// ---------------------------------------------------------------------------------------------
// Pairs and sets with controlled conflict, built geometrically in float64 then rounded to float32.

const norm64 = (v: ArrayLike<number>): number => Math.sqrt(Array.from(v).reduce((a, x) => a + x * x, 0))

/**
 * A unit vector orthogonal to the unit vector `uHat`, from the raw direction `w` (Gram–Schmidt in
 * float64). When w is (nearly) parallel to uHat, the basis vector e_k with the smallest |ûₖ| is
 * used instead; its residual has squared norm 1 − ûₖ² ≥ 1 − 1/n ≥ 1/2 for n ≥ 2.
 */
const orthogonalUnit = (uHat: ReadonlyArray<number>, w: ArrayLike<number>): Array<number> => {
  const residualOf = (x: ArrayLike<number>) => {
    const c = uHat.reduce((a, ui, i) => a + ui * x[i]!, 0)
    return uHat.map((ui, i) => x[i]! - c * ui)
  }
  let r = residualOf(w)
  if (norm64(r) <= 1e-3 * norm64(w) || norm64(r) === 0) {
    const k = uHat.reduce((best, ui, i) => (Math.abs(ui) < Math.abs(uHat[best]!) ? i : best), 0)
    r = residualOf(uHat.map((_, i) => (i === k ? 1 : 0)))
  }
  const rn = norm64(r)
  return r.map((x) => x / rn)
}

/** v with cos(v, anchor) = `cosine` and ‖v‖ = `length`, in float64. */
const withCosine = (anchor: ArrayLike<number>, w: ArrayLike<number>, cosine: number, norm: number): Float32Array => {
  const an = norm64(anchor)
  const aHat = Array.from(anchor, (x) => x / an)
  const o = orthogonalUnit(aHat, w)
  const s = Math.sqrt(Math.max(0, 1 - cosine * cosine))
  return Float32Array.from(aHat, (a, i) => norm * (cosine * a + s * o[i]!))
}

const cosineIn = (range: CosineRange) =>
  fc.double({ min: Math.max(-1, range.min), max: Math.min(1, range.max), noNaN: true })

const relativeNorm = fc.integer({ min: -4, max: 4 }).map((k) => 2 ** k)

/**
 * Pairs [v, u] of length n ≥ 2 with cos(v, u) in `cosine` (before rounding to float32, which moves
 * the cosine by O(2⁻²⁴)) and ‖v‖/‖u‖ a power of two in [2⁻⁴, 2⁴].
 */
export const vectorPairWithCosineOfLength = (length: number, cosine: CosineRange): fc.Arbitrary<readonly [Float32Array, Float32Array]> =>
  fc
    .tuple(nonZeroVectorOfLength(length), vectorOfLength(length), cosineIn(cosine), relativeNorm)
    .map(([u, w, c, r]) => [withCosine(u, w, c, r * norm64(u)), u] as const)

/** {@link vectorPairWithCosineOfLength} with the length drawn from `range` (at least 2). */
export const vectorPairWithCosine = (cosine: CosineRange, range: LengthRange = {}): fc.Arbitrary<readonly [Float32Array, Float32Array]> =>
  lengthOf(range, 2).chain((n) => vectorPairWithCosineOfLength(n, cosine))

/**
 * Degenerate pairs [v, u]: a zero on either side or both, tiny and huge vectors (also mixed),
 * exactly parallel and anti-parallel (u = c·v with c = ±2ᵏ, exact in float32), orthogonal, and
 * duplicates.
 */
export const degeneratePairOfLength = (length: number): fc.Arbitrary<readonly [Float32Array, Float32Array]> => {
  const any = vectorOfLength(length)
  const nonZero = nonZeroVectorOfLength(length)
  const zero = fc.constant(new Float32Array(length))
  const tiny = nonZeroVectorOfLength(length, { scale: tinyScale })
  const huge = nonZeroVectorOfLength(length, { scale: hugeScale })
  const powerOfTwo = fc.integer({ min: -4, max: 4 }).map((k) => 2 ** k)
  const pairs: Array<fc.Arbitrary<readonly [Float32Array, Float32Array]>> = [
    fc.tuple(any, zero),
    fc.tuple(zero, nonZero),
    fc.tuple(zero, zero),
    fc.tuple(tiny, tiny),
    fc.tuple(huge, huge),
    fc.tuple(tiny, huge),
    fc.tuple(huge, tiny),
    fc.tuple(nonZero, powerOfTwo).map(([v, c]) => [v, v.map((x) => c * x)] as const),
    fc.tuple(nonZero, powerOfTwo).map(([v, c]) => [v, v.map((x) => -c * x)] as const),
    nonZero.map((v) => [v, v.slice()] as const),
  ]
  if (length >= 2) pairs.push(vectorPairWithCosineOfLength(length, { min: 0, max: 0 }))
  return fc.oneof(...pairs)
}

/**
 * The default pairs for a given length: independent edge-case vectors, pairs with a cosine drawn
 * over [−1, 1] (so that conflicting, near-parallel and near-anti-parallel pairs all occur), and
 * degenerate pairs.
 */
export const edgeCasePairOfLength = (length: number): fc.Arbitrary<readonly [Float32Array, Float32Array]> =>
  fc.oneof(
    { weight: 3, arbitrary: fc.tuple(edgeCaseVectorOfLength(length), edgeCaseVectorOfLength(length)) },
    { weight: length >= 2 ? 2 : 0, arbitrary: length >= 2 ? vectorPairWithCosineOfLength(length, { min: -1, max: 1 }) : fc.tuple(vectorOfLength(length), vectorOfLength(length)) },
    { weight: 1, arbitrary: length >= 2 ? vectorPairWithCosineOfLength(length, { min: 0.999, max: 1 }) : fc.tuple(vectorOfLength(length), vectorOfLength(length)) },
    { weight: 2, arbitrary: degeneratePairOfLength(length) },
  )

/** {@link edgeCasePairOfLength} with the length drawn from `range`. */
export const edgeCasePairs = (range: LengthRange = {}): fc.Arbitrary<readonly [Float32Array, Float32Array]> =>
  lengthOf(range).chain(edgeCasePairOfLength)

/** Number of vectors in a set. */
export interface CountRange {
  readonly minCount?: number
  readonly maxCount?: number
}

/**
 * Sets of `count` vectors of length n whose cosine with the first vector (the anchor) lies in
 * `cosine`. With cosine ≥ 0.75 > cos 45° every pair makes an angle below 90°, so the set is
 * non-conflicting (⟨gᵢ, gⱼ⟩ > 0 for all pairs); with cosine ≤ 0 every vector conflicts with the
 * anchor.
 */
export const vectorSetWithCosineOfLength = (length: number, count: number, cosine: CosineRange): fc.Arbitrary<ReadonlyArray<Float32Array>> =>
  fc
    .tuple(
      nonZeroVectorOfLength(length),
      fc.array(fc.tuple(vectorOfLength(length), cosineIn(cosine), relativeNorm), { minLength: count - 1, maxLength: count - 1 }),
    )
    .map(([anchor, others]) => [anchor, ...others.map(([w, c, r]) => withCosine(anchor, w, c, r * norm64(anchor)))])

/** {@link vectorSetWithCosineOfLength} with length and count drawn from their ranges. */
export const vectorSetWithCosine = (cosine: CosineRange, options: LengthRange & CountRange = {}): fc.Arbitrary<ReadonlyArray<Float32Array>> =>
  fc
    .tuple(lengthOf(options, 2), fc.integer({ min: options.minCount ?? 2, max: options.maxCount ?? 4 }))
    .chain(([n, k]) => vectorSetWithCosineOfLength(n, k, cosine))

/**
 * k gradients of the same length n: independent edge-case vectors, or a set-level degeneracy
 * (all duplicates, one zero gradient, a parallel or anti-parallel pair inside the set).
 */
export const gradientSetOfLength = (length: number, count: number): fc.Arbitrary<ReadonlyArray<Float32Array>> => {
  const independent = fc.array(edgeCaseVectorOfLength(length), { minLength: count, maxLength: count })
  const degenerate = fc.tuple(independent, fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: count - 1 })).map(([gs, kind, i]) => {
    const j = (i + 1) % count
    const out = gs.map((g) => g.slice())
    if (kind === 0) return out.map(() => gs[0]!.slice())
    if (kind === 1) out[i] = new Float32Array(length)
    if (kind === 2) out[j] = gs[i]!.map((x) => 2 * x)
    if (kind === 3) out[j] = gs[i]!.map((x) => -0.5 * x)
    return out
  })
  return fc.oneof({ weight: 3, arbitrary: independent }, { weight: 1, arbitrary: degenerate })
}

/** {@link gradientSetOfLength} with length and count drawn from their ranges (count 2–4 by default). */
export const gradientSets = (options: LengthRange & CountRange = {}): fc.Arbitrary<ReadonlyArray<Float32Array>> =>
  fc
    .tuple(lengthOf(options), fc.integer({ min: options.minCount ?? 2, max: options.maxCount ?? 4 }))
    .chain(([n, k]) => gradientSetOfLength(n, k))

/**
 * Shapes of 1–`maxVariables` parameter tensors (rank 0–3, dimensions 1–4) with at most `maxSize`
 * scalars in total: scalars, vectors, matrices and rank-3 kernels, as a model's variables come.
 */
export const parameterShapes = (
  options: { readonly maxVariables?: number; readonly maxSize?: number } = {},
): fc.Arbitrary<ReadonlyArray<ReadonlyArray<number>>> => {
  const maxSize = options.maxSize ?? 24
  return fc
    .array(fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 0, maxLength: 3 }), {
      minLength: 1,
      maxLength: options.maxVariables ?? 3,
    })
    .filter((shapes) => shapes.reduce((total, s) => total + s.reduce((a, b) => a * b, 1), 0) <= maxSize)
}

/** The layout of variables `v0, v1, ...` with the given shapes (as the training loop would build it). */
export const layoutOfShapes = (shapes: ReadonlyArray<ReadonlyArray<number>>): Layout =>
  layoutOf(Object.fromEntries(shapes.map((shape, i) => [`v${i}`, { shape }] as const)))

// ---------------------------------------------------------------------------------------------
// Sets at real model sizes and extreme scales (issue #11). A rule sees its task gradients only
// through their inner products, so a set of k gradients that are zero outside one small dense block
// of b entries behaves like any set with the same Gram matrix — while its length n can be 2²³ or
// more at the cost of the block. Rounding bounds grow with n (γₙ), which is what these sets probe:
// a decision taken relative to n rather than to what was computed shows up at large n.

/**
 * k vectors of length `length` that are zero outside the block [offset, offset + b): `blocks[i]` is
 * vector i's block (all blocks of one length b ≤ length). See {@link expandBlockSet}.
 */
export interface BlockSet {
  readonly length: number
  readonly offset: number
  readonly blocks: ReadonlyArray<Float32Array>
}

/** The full vectors of a {@link BlockSet} (allocates k·length floats: 32 MB per vector at 2²³). */
export const expandBlockSet = (set: BlockSet): ReadonlyArray<Float32Array> =>
  set.blocks.map((block) => {
    const full = new Float32Array(set.length)
    full.set(block, set.offset)
    return full
  })

/** The geometry of a generated extreme set (what the generator was asked for, before rounding). */
export type ExtremeKind = "spread" | "near-parallel" | "near-opposite" | "rank-deficient" | "orthogonal"

/** Options of {@link extremeBlockSets}. */
export interface ExtremeSetOptions extends CountRange {
  /** Largest vector length n (default 2²³; lengths are drawn log-uniformly, the extremes often). */
  readonly maxLength?: number
  /** Smallest vector length (default: the block length). */
  readonly minLength?: number
  /** log₁₀ of the largest ratio of task norms within a set (default 20: norms from 1e-10 to 1e10). */
  readonly normDecades?: number
  /** Share of lengths at the large end (see {@link vectorLengths}; default 1/4). */
  readonly largeShare?: number
  /** Geometries to draw from (default all). */
  readonly kinds?: ReadonlyArray<ExtremeKind>
  /** log₁₀ range of ε for the near-parallel and near-opposite kinds (default [−8, −1]). */
  readonly nearness?: { readonly min: number; readonly max: number }
}

/** A block set with the geometry it was drawn for and the norms it was scaled to (float64, before rounding). */
export interface ExtremeSet extends BlockSet {
  readonly kind: ExtremeKind
  readonly norms: ReadonlyArray<number>
}

const gaussianish = fc.integer({ min: -gridSteps, max: gridSteps }).map((k) => k / gridSteps)

const unit64 = (v: ReadonlyArray<number>): Array<number> => {
  const n = norm64(v)
  return n > 0 ? v.map((x) => x / n) : v.map((_, i) => (i === 0 ? 1 : 0))
}

/** A raw direction of length b, never zero. */
const direction = (b: number) => fc.array(gaussianish, { minLength: b, maxLength: b }).map(unit64)

/**
 * Unit directions (float64) for k tasks in a block of b ≥ 2 entries, by kind:
 * - spread: independent random directions;
 * - near-parallel / near-opposite: task 1 is ±(task 0 + ε·w) with ε = 10^[−8, −1] (normalised), the
 *   rest random — cosines from 1 − 5e-17 to 0.995 (±);
 * - rank-deficient: the last task is a combination of the first two (or a duplicate), or there are
 *   more tasks than block entries;
 * - orthogonal: distinct one-hot vectors (exact values for closed forms; needs k ≤ b).
 */
const directionsOf = (
  kind: ExtremeKind,
  k: number,
  b: number,
  nearness: { readonly min: number; readonly max: number },
): fc.Arbitrary<ReadonlyArray<ReadonlyArray<number>>> => {
  const randoms = fc.array(direction(b), { minLength: k, maxLength: k })
  switch (kind) {
    case "spread":
      return randoms
    case "near-parallel":
    case "near-opposite":
      return fc.tuple(randoms, fc.double({ min: nearness.min, max: nearness.max, noNaN: true })).map(([ds, e]) => {
        const eps = 10 ** e
        const sign = kind === "near-parallel" ? 1 : -1
        const near = unit64(orthogonalUnit(ds[0]!, ds[1]!).map((o, i) => sign * (ds[0]![i]! + eps * o)))
        return [ds[0]!, near, ...ds.slice(2)]
      })
    case "rank-deficient":
      return fc
        .tuple(randoms, fc.integer({ min: -8, max: 8 }), fc.integer({ min: -8, max: 8 }))
        .map(([ds, a, c]) => {
          const last = k >= 3 ? unit64(ds[0]!.map((x, i) => (a / 4) * x + ((c === 0 ? 1 : c) / 4) * ds[1]![i]!)) : ds[0]!.slice()
          return [...ds.slice(0, k - 1), last]
        })
    case "orthogonal":
      return fc.shuffledSubarray(
        Array.from({ length: b }, (_, i) => i),
        { minLength: k, maxLength: k },
      ).map((axes) => axes.map((axis) => Array.from({ length: b }, (_, i) => (i === axis ? 1 : 0))))
  }
}

/**
 * Task norms for k tasks: all equal, powers of two, or 10^e with e spread over `decades` (centred
 * on 0; with probability ½ the set contains both extremes 10^(±decades/2)).
 */
const normsOf = (k: number, decades: number): fc.Arbitrary<ReadonlyArray<number>> => {
  const half = decades / 2
  const exponent = fc.double({ min: -half, max: half, noNaN: true })
  return fc.oneof(
    { weight: 1, arbitrary: fc.constant(Array.from({ length: k }, () => 1)) },
    { weight: 1, arbitrary: fc.array(fc.integer({ min: -6, max: 6 }).map((e) => 2 ** e), { minLength: k, maxLength: k }) },
    { weight: 2, arbitrary: fc.array(exponent.map((e) => 10 ** e), { minLength: k, maxLength: k }) },
    {
      weight: 2,
      arbitrary: fc
        .tuple(fc.array(exponent, { minLength: k, maxLength: k }), fc.shuffledSubarray([...Array(k).keys()], { minLength: 2, maxLength: 2 }))
        .map(([es, [lo, hi]]) => es.map((e, i) => 10 ** (i === lo ? -half : i === hi ? half : e))),
    },
  )
}

/** Options of {@link vectorLengths}. */
export interface VectorLengthOptions {
  readonly minLength: number
  readonly maxLength: number
  /**
   * Share of draws at the large end, half of them exactly `maxLength` and half in
   * [maxLength/2, maxLength] (default 1/4). The rest are log-uniform, so a property's cost is
   * about runs·(0.07 + 0.9·largeShare) draws at `maxLength`: lower it to reach 2²³ in a few seconds.
   */
  readonly largeShare?: number
}

/**
 * Vector lengths: log-uniform over [minLength, maxLength], with the largest lengths (≥ maxLength/2,
 * half of them maxLength itself) drawn a `largeShare` of the time.
 */
export const vectorLengths = (options: VectorLengthOptions): fc.Arbitrary<number> => {
  const { minLength, maxLength } = options
  const large = Math.min(1, Math.max(0, options.largeShare ?? 1 / 4))
  const logUniform = fc.double({ min: Math.log2(minLength), max: Math.log2(maxLength), noNaN: true }).map((e) => Math.min(maxLength, Math.max(minLength, Math.round(2 ** e))))
  // fast-check weights are integers: shares in 1/1024.
  const weight = Math.round(1024 * large)
  return fc.oneof(
    { weight: 2 * (1024 - weight), arbitrary: logUniform },
    { weight, arbitrary: fc.constant(maxLength) },
    { weight, arbitrary: fc.integer({ min: Math.max(minLength, Math.floor(maxLength / 2)), max: maxLength }) },
  )
}

/**
 * Sets of k task gradients (count 2–4 by default) with the failure-prone geometries of Gram-based
 * rules — near-parallel, near-opposite, rank-deficient, orthogonal or spread directions — scaled to
 * norms 1e-10 … 1e10 apart within one set, in a block of 2–6 entries embedded at a random offset in
 * vectors of up to 2²³ entries (see {@link BlockSet}). Directions and norms are built in float64,
 * then rounded to float32 (which moves the geometry by O(2⁻²⁴): properties must hold for the
 * rounded vectors as given).
 */
export const extremeBlockSets = (options: ExtremeSetOptions = {}): fc.Arbitrary<ExtremeSet> => {
  const kinds = options.kinds ?? (["spread", "near-parallel", "near-opposite", "rank-deficient", "orthogonal"] as const)
  const maxLength = options.maxLength ?? 2 ** 23
  return fc
    .tuple(
      fc.integer({ min: options.minCount ?? 2, max: options.maxCount ?? 4 }),
      fc.integer({ min: 2, max: 6 }),
      fc.constantFrom(...kinds),
    )
    .chain(([k, b0, kind]) => {
      const b = kind === "orthogonal" ? Math.max(b0, k) : b0
      return fc
        .tuple(directionsOf(kind, k, b, options.nearness ?? { min: -8, max: -1 }), normsOf(k, options.normDecades ?? 20), vectorLengths({ minLength: Math.max(b, options.minLength ?? b), maxLength: Math.max(b, maxLength), largeShare: options.largeShare }))
        .chain(([directions, norms, n]) =>
          fc.integer({ min: 0, max: n - b }).map(
            (offset): ExtremeSet => ({
              kind,
              norms,
              length: n,
              offset,
              blocks: directions.map((d, i) => Float32Array.from(d, (x) => x * norms[i]!)),
            }),
          ),
        )
    })
}

// ---------------------------------------------------------------------------------------------
// The shapes that found the disagreements with TorchJD and LibMTL (issue #23): near-opposite sets
// whose Gram matrix is nonetheless positive definite, tasks at norm ratios 1e8–1e12, and zero rows
// beside conflicting ones (for the tensor-op path, `checkInterpreter`'s `tensorOpPath`).

/** A seeded float64 direction of length n with entries from a few grid draws (shrinks to e₀). */
const seededUnit = (seed: number, n: number): Array<number> => {
  let s = (seed >>> 0) || 1
  const next = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    return s / 4294967296 - 0.5
  }
  const v = Array.from({ length: n }, (_, i) => (seed === 0 ? (i === 0 ? 1 : 0) : next()))
  const m = norm64(v)
  return m > 0 ? v.map((x) => x / m) : v.map((_, i) => (i === 0 ? 1 : 0))
}

/**
 * k ≥ 2 gradients of length n ≥ k: g₁ = u and gᵢ = −rᵢ·u + δᵢ·oᵢ (i ≥ 2), with u, o₂, …, o_k
 * orthonormal (float64, then rounded to float32), rᵢ ∈ [½, 2] and δᵢ = 10^(−e), e ∈ [2, 5]: every
 * gᵢ is within a few degrees of −g₁, yet the rows are linearly independent, so G is positive
 * definite and no convex combination vanishes — not Pareto-stationary, although it looks so. A
 * rule that answers d = 0 here (the answer for stationary sets) has mistaken one for the other.
 * Everything is scaled by 10^s, s ∈ [−6, 6].
 */
export const nearOppositeSetOfLength = (length: number, count: number): fc.Arbitrary<ReadonlyArray<Float32Array>> => {
  const n = Math.max(length, 1)
  const k = Math.min(count, n)
  return fc
    .tuple(
      fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      fc.array(fc.tuple(fc.integer({ min: -1, max: 1 }), fc.integer({ min: 2, max: 5 })), { minLength: count, maxLength: count }),
      fc.integer({ min: -6, max: 6 }),
    )
    .map(([seed, shapes, exponent]) => {
      const basis: Array<Array<number>> = []
      for (let i = 0; basis.length < k; i++) {
        let v = seededUnit(seed + 7919 * i, n)
        for (let pass = 0; pass < 2; pass++) {
          for (const b of basis) {
            const c = b.reduce((acc, bj, j) => acc + bj * v[j]!, 0)
            v = v.map((x, j) => x - c * b[j]!)
          }
        }
        const m = norm64(v)
        if (m > 1e-3) basis.push(v.map((x) => x / m))
        else if (i > 4 * n) basis.push(Array.from({ length: n }, (_, j) => (j === basis.length ? 1 : 0)))
      }
      const scale = 10 ** exponent
      return Array.from({ length: count }, (_, i) => {
        if (i === 0) return Float32Array.from(basis[0]!, (x) => x * scale)
        if (i >= k) return new Float32Array(n) // more tasks than dimensions: the extra ones are zero
        const [r, e] = shapes[i]!
        const ratio = 2 ** r
        const delta = 10 ** -e
        return Float32Array.from(basis[0]!, (x, j) => scale * (-ratio * x + delta * basis[i]![j]!))
      })
    })
}

/**
 * k gradients of length n, random directions (seeded), where at least one task's norm is 10^(−e),
 * e ∈ [6, 12], times the largest's and the others' lie anywhere in between: the norm ratios at
 * which a decision taken relative to the largest task (instead of to each task's own rounding)
 * drops a task that is small but exact — below √ε of the largest (1e-8 … 1e-12: ConFIG, Nash-MTL),
 * or an eigenvalue 1e-12 … 1e-14 of the largest (1e-6, 1e-7: Aligned-MTL's rank at large n).
 */
export const widelyScaledSetOfLength = (length: number, count: number): fc.Arbitrary<ReadonlyArray<Float32Array>> =>
  fc
    .tuple(
      fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      fc.integer({ min: 6, max: 12 }),
      fc.array(fc.integer({ min: 0, max: 12 }), { minLength: count, maxLength: count }),
      fc.integer({ min: 0, max: count - 1 }),
    )
    .map(([seed, smallest, exponents, small]) =>
      Array.from({ length: count }, (_, i) => {
        const e = i === small ? smallest : i === (small + 1) % count ? 0 : Math.min(exponents[i]!, smallest)
        return Float32Array.from(seededUnit(seed + 104729 * (i + 1), length), (x) => x * 10 ** -e)
      }),
    )

/**
 * k ≥ 2 gradients of length n where 1 … k − 1 of them are exactly zero and the others are random
 * (often conflicting) directions of norms within 10² of each other: a zero gradient's weight does
 * not change d, so a rule may leave it at any value, and on the tensor-op path (float32 weights)
 * a huge one becomes ∞·0 = NaN.
 */
export const setWithZeroRowsOfLength = (length: number, count: number): fc.Arbitrary<ReadonlyArray<Float32Array>> =>
  fc
    .tuple(
      fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      fc.array(fc.boolean(), { minLength: count, maxLength: count }),
      fc.array(fc.integer({ min: -1, max: 1 }), { minLength: count, maxLength: count }),
    )
    .map(([seed, zero, exponents]) => {
      const zeros = zero.map((z, i) => z && i !== count - 1) // the last gradient is never zero
      if (!zeros.some((z) => z) && count > 1) zeros[0] = true
      return Array.from({ length: count }, (_, i) =>
        zeros[i] ? new Float32Array(length) : Float32Array.from(seededUnit(seed + 15485863 * (i + 1), length), (x) => x * 10 ** exponents[i]!),
      )
    })

/**
 * The three shapes above, mixed (for `checkInterpreter`'s `gradients`): near-opposite sets with a
 * positive-definite Gram matrix, tasks at norm ratios 1e6–1e12, and zero rows beside conflicting ones.
 */
export const peerDisagreementSetOfLength = (length: number, count: number): fc.Arbitrary<ReadonlyArray<Float32Array>> =>
  fc.oneof(nearOppositeSetOfLength(length, count), widelyScaledSetOfLength(length, count), setWithZeroRowsOfLength(length, count))
