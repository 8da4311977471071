/**
 * What the extreme-set property tests (issue #11) share: running a Gram-based rule on a
 * {@link BlockSet} through the tensors (host or tensor-op path), and the float64 quantities the
 * guarantees are stated in.
 *
 * Guarantees are checked in float64 *coefficient space*: a rule returns weights β and d = Σβᵢgᵢ;
 * d₆₄ = Σβᵢgᵢ formed in float64 from the float32 gradients is what the guarantees are about (the
 * float32 rounding of d is a separate, stated bound). The only error the weights may carry is that
 * of the Gram matrix they were solved on: accumulated in float64 from float32 entries, each entry
 * errs by at most γ⁽⁶⁴⁾ₙ·Σ|x||y| ≤ γ⁽⁶⁴⁾ₙ‖gᵢ‖‖gⱼ‖ (Higham eq. 3.5 with u = 2⁻⁵³; the products of
 * float32 numbers are exact in float64). Tolerances below are small multiples of that, per task.
 */
import { expandBlockSet, reference, type BlockSet } from "scalpel/testing"
import { normalisedGram } from "../../src/core/gram.ts"
import { innerProductBlock, innerProductResolution } from "../../src/core/hostSweeps.ts"
import { pseudoInverseSolve, symmetricFrom, type SymmetricMatrix } from "../../src/core/smallQp.ts"
import { tf, type Tensor1D } from "../../src/core/tf.ts"

/** γₙ for float64 accumulation: n·2⁻⁵³/(1 − n·2⁻⁵³). */
export const gamma64 = (n: number): number => (n * 2 ** -53) / (1 - n * 2 ** -53)

/**
 * The bound the rules may assume for the relative error of a Gram entry of vectors of length n:
 * inner products summed in blocks of 4096 entries, then the block sums (γ₍b + ⌈n/b⌉₎, float64).
 */
export const gramResolution = (n: number): number => gamma64(Math.min(n, 4096) + Math.ceil(n / 4096))

/** The float32 unit roundoff. */
export const u32 = 2 ** -24

/** The float64 Gram matrix of the blocks (= of the full vectors: they are zero elsewhere). */
export const blockGram = (set: BlockSet): ReadonlyArray<ReadonlyArray<number>> =>
  set.blocks.map((a) => set.blocks.map((b) => reference.dot(a, b)))

/** ‖gᵢ‖ from the blocks. */
export const blockNorms = (set: BlockSet): ReadonlyArray<number> => set.blocks.map((b) => reference.norm(b))

/** Σᵢ βᵢ·blockᵢ in float64. */
export const combination64 = (set: BlockSet, beta: ArrayLike<number>): Float64Array =>
  reference.weightedSum(set.blocks.map((b, i) => [beta[i]!, b] as const))

/** Σ|βᵢ|‖gᵢ‖, the weight mass every coefficient-space error is proportional to. */
export const weightMass = (set: BlockSet, beta: ArrayLike<number>): number =>
  blockNorms(set).reduce((acc, s, i) => acc + Math.abs(beta[i]!) * s, 0)

/** Full-length tensors for a set, disposed after `body`. */
export const withTensors = <A>(set: BlockSet, body: (tasks: ReadonlyArray<Tensor1D>) => A): A => {
  const tensors = expandBlockSet(set).map((a) => tf.tensor1d(a))
  try {
    return body(tensors)
  } finally {
    tf.dispose(tensors)
  }
}

/**
 * The weights a Gram rule solves for the set's tensors (through `core/gram.ts`, as the rule does),
 * computed on a window rather than on all n entries: vectors of length (offset mod b) + blocks'
 * length holding the blocks at offset mod b (b = `innerProductBlock`), with G's per-pair resolution
 * ε taken for the full length n. The full vectors are zero outside the blocks and G is summed in
 * partial sums of b entries from index 0, so the window's Gram matrix is bit-for-bit the full one
 * (adding zeros is exact); the rule then takes every decision as it does at length n, at a cost
 * independent of n. (The properties compare the full-length direction with these weights, which
 * would expose any difference.)
 */
export const ruleWeights = <O>(
  set: BlockSet,
  weighting: (gram: SymmetricMatrix, options: O, resolution: number) => Float64Array,
  options: O,
): Float64Array => {
  const start = set.offset % innerProductBlock
  const window: BlockSet = { length: start + set.blocks[0]!.length, offset: start, blocks: set.blocks }
  return withTensors(window, (tasks) => {
    const { gram, scale } = normalisedGram(tasks)
    return scale === 0 ? new Float64Array(tasks.length) : weighting(gram, options, innerProductResolution(set.length))
  })
}

/**
 * The rule's float32 direction (a full-length array read back, then the block and a check that
 * everything outside it is exactly zero).
 */
export const ruleDirection = (set: BlockSet, direction: (tasks: ReadonlyArray<Tensor1D>) => Tensor1D): Float32Array =>
  withTensors(set, (tasks) => {
    const d = direction(tasks)
    const values = d.dataSync() as Float32Array
    d.dispose()
    const block = values.slice(set.offset, set.offset + set.blocks[0]!.length)
    let outside = 0
    for (let i = 0; i < values.length; i++) if (i < set.offset || i >= set.offset + block.length) outside += Math.abs(values[i]!)
    if (outside !== 0) throw new Error(`direction is not zero outside the block (Σ|dᵢ| = ${outside})`)
    return block
  })

/** Eigenvalues of a small symmetric matrix given as rows (float64 Jacobi), ascending. */
export const eigenvalues = (rows: ReadonlyArray<ReadonlyArray<number>>): ReadonlyArray<number> => {
  const k = rows.length
  const a = rows.map((r) => [...r])
  for (let sweep = 0; sweep < 60; sweep++) {
    let off = 0
    for (let p = 0; p < k; p++) for (let q = p + 1; q < k; q++) off += a[p]![q]! ** 2
    if (off < 1e-40) break
    for (let p = 0; p < k; p++)
      for (let q = p + 1; q < k; q++) {
        if (a[p]![q] === 0) continue
        const theta = (a[q]![q]! - a[p]![p]!) / (2 * a[p]![q]!)
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1))
        const c = 1 / Math.sqrt(t * t + 1)
        const s = t * c
        for (let r = 0; r < k; r++) {
          const [x, y] = [a[r]![p]!, a[r]![q]!]
          a[r]![p] = c * x - s * y
          a[r]![q] = s * x + c * y
        }
        for (let r = 0; r < k; r++) {
          const [x, y] = [a[p]![r]!, a[q]![r]!]
          a[p]![r] = c * x - s * y
          a[q]![r] = s * x + c * y
        }
      }
  }
  return a.map((r, i) => r[i]!).sort((x, y) => x - y)
}

/** The correlation matrix Gᵢⱼ/(‖gᵢ‖‖gⱼ‖) of the blocks (all assumed non-zero). */
export const correlation = (set: BlockSet): ReadonlyArray<ReadonlyArray<number>> => {
  const g = blockGram(set)
  return g.map((row, i) => row.map((x, j) => x / Math.sqrt(g[i]![i]! * g[j]![j]!)))
}

/** n-level Bloop's error bound for a set (see {@link bloopErrorBound}). */
export interface BloopBound {
  /** ‖d − d*‖ may reach this (first-order data term, doubled, plus the float32 combination's rounding). */
  readonly bound: number
  /** The data term alone: 2·Σⱼ λⱼ·ε′·√j·(‖gⱼ‖ + ‖xⱼ‖₁)/σⱼ. */
  readonly data: number
  /** ε′·k/σ_min², the first-order expansion's relative size: the bound is stated where it is ≤ 1e-3. */
  readonly order: number
}

/**
 * Error bound of n-level Bloop's direction d (`core/projectedCombination.ts`) against the exact
 * d* = g₀ + Σ_{j≥1} λⱼ·π_{span(r₀..r_{j−1})}(gⱼ), for references rᵢ = gᵢ (the levels themselves),
 * every reference kept. The rule solves for the projections' coefficients from the Gram matrix R
 * of the references and the products P_ja = ⟨gⱼ, r_a⟩, each entry erring by at most
 * ε·‖a‖‖b‖ (ε the inner products' resolution at the set's length). For level j let
 * Nⱼ = [r₀/‖r₀‖ … r_{j−1}/‖r_{j−1}‖], Cⱼ = NⱼᵀNⱼ, σⱼ = σ_min(Nⱼ) = √λ_min(Cⱼ) (= 1/‖Uⱼ⁻¹‖ for
 * the Cholesky factor Uⱼ of Cⱼ, whose diagonal holds the residual ratios ρᵢ: σⱼ ≤ min ρᵢ and can be
 * far smaller), and xⱼ = Cⱼ⁻¹Nⱼᵀgⱼ the coefficients of gⱼ's projection on the unit references. To
 * first order δxⱼ = Cⱼ⁻¹(δbⱼ − δCⱼxⱼ) with |δbⱼ| ≤ ε‖gⱼ‖ and |δCⱼxⱼ| ≤ ε‖xⱼ‖₁ entrywise, and
 * the direction moves by λⱼ‖NⱼCⱼ⁻¹(…)‖ ≤ λⱼ·ε·√j·(‖gⱼ‖ + ‖xⱼ‖₁)/σⱼ — at most ε·j/σⱼ² relative
 * to λⱼ‖gⱼ‖ (‖xⱼ‖₁ ≤ √j‖gⱼ‖/σⱼ). The float64 arithmetic of the small Gram–Schmidt acts like a
 * further perturbation of R of γ⁽⁶⁴⁾₂ₖ (measured: ≤ 7u₆₄ at k ≤ 4), so ε′ = ε + γ⁽⁶⁴⁾₂ₖ; the
 * factor 2 covers the second-order terms where ε′·k/σ² ≤ 1e-3. The combination d = Σc·v then
 * rounds: on the host in float64, rounded once (u₃₂‖d‖ + γ⁽⁶⁴⁾₂ₖ₊₂·mass), with float32 tensor
 * operations γ⁽³²⁾₂ₖ₊₂·mass + u₃₂‖d‖, in float64 only (`"float64"`, for coefficients applied by a
 * test) γ⁽⁶⁴⁾₂ₖ₊₂·mass; mass = ‖g₀‖ + Σⱼλⱼ(‖gⱼ‖ + ‖xⱼ‖₁) (the coefficients' mass).
 */
export const bloopErrorBound = (set: BlockSet, lambdas: ReadonlyArray<number>, combination: "host" | "tensor-op" | "float64"): BloopBound => {
  const k = set.blocks.length
  const norms = blockNorms(set)
  const eps = gramResolution(set.length) + gamma64(2 * k)
  let data = 0
  let mass = norms[0]!
  let order = 0
  for (let j = 1; j < k; j++) {
    const unit = set.blocks.slice(0, j).map((r, a) => Float64Array.from(r, (x) => x / norms[a]!))
    const c = symmetricFrom(j, (a, b) => reference.dot(unit[a]!, unit[b]!))
    const rows = Array.from({ length: j }, (_, a) => Array.from({ length: j }, (_, b) => c.values[a * j + b]!))
    const sigmaSquared = Math.max(eigenvalues(rows)[0]!, 0)
    const x = pseudoInverseSolve(c, unit.map((r) => reference.dot(r, set.blocks[j]!)), 0)
    const x1 = x.reduce((acc, v) => acc + Math.abs(v), 0)
    data += (2 * lambdas[j]! * eps * Math.sqrt(j) * (norms[j]! + x1)) / Math.sqrt(sigmaSquared)
    mass += lambdas[j]! * (norms[j]! + x1)
    order = Math.max(order, (eps * k) / sigmaSquared)
  }
  const d = reference.norm(reference.bloopLevels(set.blocks, lambdas, set.blocks.slice(0, k - 1), 0))
  const rounding =
    combination === "float64"
      ? gamma64(2 * k + 2) * mass
      : combination === "host"
        ? u32 * (d + data) + gamma64(2 * k + 2) * mass
        : (((2 * k + 2) * u32) / (1 - (2 * k + 2) * u32)) * mass + u32 * (d + data)
  return { bound: data + rounding, data, order }
}
