/**
 * A small seeded pseudo-random generator with explicit, serialisable state (a 32-bit integer), so
 * that rules such as PCGrad can checkpoint their randomness and resume it exactly.
 *
 * Algorithm: mulberry32 (Tommy Ettinger, public domain), a 32-bit state generator with full period
 * 2³²; ample for shuffling task orders and drawing mini-batch indices.
 */

/** Generator state: an unsigned 32-bit integer. */
export type RandomState = number

/** Derive an initial state from a seed (any finite number). */
export const seedState = (seed: number): RandomState => (Math.imul(Math.trunc(seed) ^ 0x9e3779b9, 0x85ebca6b) >>> 0)

/** Next uniform float in [0, 1) and the next state. */
export const nextFloat = (state: RandomState): readonly [number, RandomState] => {
  const next = (state + 0x6d2b79f5) >>> 0
  let t = next
  t = Math.imul(t ^ (t >>> 15), t | 1)
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
  return [((t ^ (t >>> 14)) >>> 0) / 4294967296, next]
}

/**
 * The float in [0, 1) that the (i + 1)-th successive {@link nextFloat} call from `state` gives:
 * mulberry32's state only advances by a constant, so draw i is computed from i directly (for
 * coordinate-wise draws without an array or a tuple per draw).
 */
export const uniformAt = (state: RandomState, i: number): number => {
  let t = (state + Math.imul(i + 1, 0x6d2b79f5)) >>> 0
  t = Math.imul(t ^ (t >>> 15), t | 1)
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

/** `out` filled with {@link uniformAt}(state, i) for i = 0, 1, …: successive {@link nextFloat} draws. */
export const fillUniform = (state: RandomState, out: Float32Array | Float64Array): void => {
  for (let i = 0; i < out.length; i++) out[i] = uniformAt(state, i)
}

/** Uniform integer in [0, n). */
export const nextInt = (state: RandomState, n: number): readonly [number, RandomState] => {
  const [u, s] = nextFloat(state)
  return [Math.floor(u * n), s]
}

/** A uniformly random permutation of 0..n−1 (Fisher–Yates) and the next state. */
export const permutation = (state: RandomState, n: number): readonly [ReadonlyArray<number>, RandomState] => {
  const order = Array.from({ length: n }, (_, i) => i)
  let s = state
  for (let i = n - 1; i > 0; i--) {
    const [j, s2] = nextInt(s, i + 1)
    s = s2
    const tmp = order[i]!
    order[i] = order[j]!
    order[j] = tmp
  }
  return [order, s]
}

/** `count` indices drawn uniformly with replacement from [0, n). */
export const sampleIndices = (state: RandomState, n: number, count: number): readonly [Int32Array, RandomState] => {
  const out = new Int32Array(count)
  let s = state
  for (let i = 0; i < count; i++) {
    const [j, s2] = nextInt(s, n)
    out[i] = j
    s = s2
  }
  return [out, s]
}
