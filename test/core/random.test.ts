import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { fillUniform, nextFloat, nextInt, permutation, sampleIndices, seedState } from "../../src/core/random.ts"

const states = fc.integer({ min: 0, max: 2 ** 32 - 1 })

describe("seeded random generator (mulberry32 with explicit state)", () => {
  it("permutation(n) is a permutation of 0..n−1", () =>
    fc.assert(
      fc.property(states, fc.integer({ min: 0, max: 50 }), (s, n) => {
        const [order] = permutation(s, n)
        expect([...order].sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i))
      }),
    ))

  it("determinism: the same state gives the same permutation, indices and next state", () =>
    fc.assert(
      fc.property(states, fc.integer({ min: 1, max: 50 }), (s, n) => {
        expect(permutation(s, n)).toEqual(permutation(s, n))
        const [a, sa] = sampleIndices(s, n, 10)
        const [b, sb] = sampleIndices(s, n, 10)
        expect(Array.from(a)).toEqual(Array.from(b))
        expect(sa).toBe(sb)
      }),
    ))

  it("draws stay in range: nextFloat ∈ [0, 1), nextInt(n) ∈ [0, n), sampleIndices ∈ [0, n)", () =>
    fc.assert(
      fc.property(states, fc.integer({ min: 1, max: 1000 }), (s, n) => {
        const [u] = nextFloat(s)
        expect(u >= 0 && u < 1).toBe(true)
        const [k] = nextInt(s, n)
        expect(Number.isInteger(k) && k >= 0 && k < n).toBe(true)
        const [indices] = sampleIndices(s, n, 20)
        expect(indices.every((i) => i >= 0 && i < n)).toBe(true)
      }),
    ))

  it("fillUniform gives the draws of successive nextFloat calls (state wrapping past 2³² included)", () =>
    fc.assert(
      fc.property(fc.oneof(states, fc.integer({ min: 2 ** 32 - 40, max: 2 ** 32 - 1 })), fc.integer({ min: 0, max: 40 }), (s, n) => {
        const filled = new Float64Array(n)
        fillUniform(s, filled)
        let state = s
        const drawn = Array.from({ length: n }, () => {
          const [u, next] = nextFloat(state)
          state = next
          return u
        })
        expect(Array.from(filled)).toEqual(drawn)
      }),
    ))

  it("distinct 32-bit seeds give distinct states (seedState is injective: xor, then an odd multiplier)", () =>
    fc.assert(
      fc.property(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), (a, b) => {
        fc.pre(a !== b)
        expect(seedState(a)).not.toBe(seedState(b))
      }),
    ))

  it("the 6 permutations of 3 elements are equally likely (chi-square over 6000 draws)", () => {
    const counts = new Map<string, number>()
    let s = seedState(12345)
    for (let i = 0; i < 6000; i++) {
      const [order, next] = permutation(s, 3)
      s = next
      counts.set(order.join(""), (counts.get(order.join("")) ?? 0) + 1)
    }
    expect(counts.size).toBe(6)
    const chiSquare = [...counts.values()].reduce((acc, c) => acc + (c - 1000) ** 2 / 1000, 0)
    // 5 degrees of freedom: P(χ² > 20.5) ≈ 0.001, so a fair generator fails this 1 time in 1000.
    expect(chiSquare).toBeLessThan(20.5)
  })
})
