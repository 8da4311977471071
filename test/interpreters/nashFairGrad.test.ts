/**
 * Nash-MTL and FairGrad against float64 references computed here (nested bisections on the
 * optimality condition (Gw)ᵢ = wᵢ^(−1/α), independent of the rules' Newton solver):
 * - Nash-MTL solves on the raw G, as the authors' CCP (TorchJD, LibMTL): ‖d‖ = √k, d(s·J) = d(J);
 * - near-opposite sets whose Gram matrix is positive definite have a solution, and the rules find
 *   it instead of returning d = 0 (the answer for Pareto-stationary sets).
 */
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { layoutOf } from "../../src/core/paramVector.ts"
import { tf } from "../../src/core/tf.ts"
import { objective } from "../../src/dsl/objective.ts"
import { sum } from "../../src/dsl/structure.ts"
import { fairGrad } from "../../src/interpreters/fairGrad.ts"
import type { Interpreter } from "../../src/interpreters/interpreter.ts"
import { nashMtl } from "../../src/interpreters/nashMtl.ts"
import { useCpuBackend } from "../support/cpuBackend.ts"

useCpuBackend()

const directionOf = (rule: Interpreter<any>, rows: ReadonlyArray<ReadonlyArray<number>>, options: unknown = {}): Array<number> => {
  const objectives = rows.map((_, i) => objective(`t${i}`, () => tf.scalar(0)))
  const lowered = Effect.runSync(Effect.flatMap(rule.decodeOptions(options), (o) => rule.lower(sum(...objectives), o, { seed: 1 })))
  const gradients = Object.fromEntries(rows.map((row, i) => [`t${i}`, tf.tensor1d([...row])]))
  const [d] = lowered.step(gradients, lowered.init(layoutOf({ x: { shape: [rows[0]!.length] } })))
  const out = Array.from(d.dataSync())
  tf.dispose([d, ...Object.values(gradients)])
  return out
}

const dot = (a: ReadonlyArray<number>, b: ReadonlyArray<number>) => a.reduce((s, x, i) => s + x * b[i]!, 0)
const norm = (a: ReadonlyArray<number>) => Math.sqrt(dot(a, a))
const f32 = (rows: ReadonlyArray<ReadonlyArray<number>>) => rows.map((r) => r.map(Math.fround))

/** The root of an increasing function on (0, ∞), by bisection on log x (float64). */
const increasingRoot = (f: (x: number) => number): number => {
  let lo = 1e-30
  let hi = 1e30
  for (let i = 0; i < 400; i++) {
    const mid = Math.sqrt(lo * hi)
    if (f(mid) < 0) lo = mid
    else hi = mid
  }
  return Math.sqrt(lo * hi)
}

/**
 * w > 0 with (Gw)ᵢ = wᵢ^(−1/α) for two tasks: for a given w₂ the first equation has one root w₁
 * (its left side increases in w₁, its right side decreases); the second, with that w₁, increases in w₂.
 */
const reference2 = (rows: ReadonlyArray<ReadonlyArray<number>>, alpha: number): [number, number] => {
  const [a, c, b] = [dot(rows[0]!, rows[0]!), dot(rows[0]!, rows[1]!), dot(rows[1]!, rows[1]!)]
  const w1Of = (w2: number) => increasingRoot((w1) => a * w1 + c * w2 - w1 ** (-1 / alpha))
  const w2 = increasingRoot((w2) => c * w1Of(w2) + b * w2 - w2 ** (-1 / alpha))
  return [w1Of(w2), w2]
}

/** The same for g₁ = e₁, g₂ = −e₁ + δe₂, g₃ = −e₁ + δe₃ (symmetric in 2 and 3: w₂ = w₃ = v), α = 1. */
const reference3 = (rows: ReadonlyArray<ReadonlyArray<number>>): [number, number, number] => {
  const g = (i: number, j: number) => dot(rows[i]!, rows[j]!)
  const w1Of = (v: number) => increasingRoot((w1) => g(0, 0) * w1 + (g(0, 1) + g(0, 2)) * v - 1 / w1)
  const v = increasingRoot((v) => g(1, 0) * w1Of(v) + (g(1, 1) + g(1, 2)) * v - 1 / v)
  return [w1Of(v), v, v]
}

const combination = (rows: ReadonlyArray<ReadonlyArray<number>>, w: ReadonlyArray<number>) => rows[0]!.map((_, l) => rows.reduce((s, r, i) => s + w[i]! * r[l]!, 0))

const expectClose = (got: ReadonlyArray<number>, want: ReadonlyArray<number>, relative: number) => {
  const scale = norm(want)
  expect(scale).toBeGreaterThan(0)
  got.forEach((x, i) => expect(Math.abs(x - want[i]!)).toBeLessThanOrEqual(relative * scale))
}

describe("Nash-MTL's magnitude: the authors' CCP on the raw G", () => {
  it("J = 10³·[[1, 0], [0, 2]] gives d = (1, 1), ‖d‖ = √2 (the peers' answer; scalpel gave a vector ~2,000 times longer)", () => {
    expectClose(directionOf(nashMtl, [[1e3, 0], [0, 2e3]]), [1, 1], 1e-6)
  })

  it("‖d‖ = √k and d(s·J) = d(J) on random sets, against the float64 reference for two tasks", () => {
    const rows = f32([[0.3, -1.2, 2.0, 0.5], [1.1, 0.4, -0.7, 0.9]])
    const want = combination(rows, reference2(rows, 1))
    expect(Math.abs(norm(want) - Math.sqrt(2))).toBeLessThan(1e-9)
    for (const s of [1e-6, 1, 1e6]) expectClose(directionOf(nashMtl, rows.map((r) => r.map((x) => x * s))), want, 1e-5)
    const three = f32([[0.3, -1.2, 2.0, 0.5], [1.1, 0.4, -0.7, 0.9], [-0.2, 0.8, 0.1, -1.5]])
    for (const s of [1e-4, 1e4]) expect(Math.abs(norm(directionOf(nashMtl, three.map((r) => r.map((x) => x * s)))) - Math.sqrt(3))).toBeLessThan(1e-5)
  })
})

describe("a small task is a task (per-pair rounding, not relative to the largest)", () => {
  for (const r of [1e-8, 1e-10, 1e-12]) {
    it(`Nash-MTL, J = [[${r}, 0], [0, 1]]: αᵢ = 1/‖gᵢ‖, d = (1, 1) (was (0, 1): the task was taken for zero)`, () => {
      expectClose(directionOf(nashMtl, [[r, 0], [0, 1]]), [1, 1], 1e-6)
    })
    it(`FairGrad (α = 2), J = [[${r}, 0], [0, 1]]: wᵢ = ‖gᵢ‖^(−4/3), d = (r^(−1/3), 1)`, () => {
      // Orthogonal tasks: (Gw)ᵢ = ‖gᵢ‖²wᵢ = wᵢ^(−1/2), so wᵢ = ‖gᵢ‖^(−4/3) and dᵢ = ‖gᵢ‖·wᵢ = ‖gᵢ‖^(−1/3).
      const a = Math.fround(r)
      expectClose(directionOf(fairGrad, [[a, 0], [0, 1]], { alpha: 2 }), [a ** (-1 / 3), 1], 1e-6)
    })
  }
})

describe("near-opposite sets with a positive-definite Gram matrix are not Pareto-stationary", () => {
  for (const delta of [1e-2, 1e-3, 1e-4, 1e-5]) {
    // G's condition number is about 4/δ²: the float64 solve errs by about u·κ on each weight,
    // and d = Σwᵢgᵢ cancels down to δ·w, so allow 1e-5 plus 2e-15/δ² (relative to ‖d‖).
    const tolerance = 1e-5 + 2e-15 / delta ** 2
    it(`Nash-MTL, two tasks g₂ = −g₁ + ${delta}·e₂: the positive solution, not d = 0`, () => {
      const rows = f32([[1, 0, 0], [-1, delta, 0]])
      expectClose(directionOf(nashMtl, rows), combination(rows, reference2(rows, 1)), tolerance)
    })
    it(`Nash-MTL, three tasks g₂ = −g₁ + ${delta}·e₂, g₃ = −g₁ + ${delta}·e₃`, () => {
      const rows = f32([[1, 0, 0], [-1, delta, 0], [-1, 0, delta]])
      expectClose(directionOf(nashMtl, rows), combination(rows, reference3(rows)), tolerance)
    })
    for (const alpha of [0.5, 2]) {
      it(`FairGrad (α = ${alpha}), two tasks g₂ = −g₁ + ${delta}·e₂`, () => {
        const rows = f32([[1, 0, 0], [-1, delta, 0]])
        expectClose(directionOf(fairGrad, rows, { alpha }), combination(rows, reference2(rows, alpha)), tolerance)
      })
    }
  }

  it("a Pareto-stationary set (g₂ = −g₁, or a conic combination vanishing) still gives d = 0", () => {
    for (const rows of [[[1, 0], [-1, 0]], [[1, 1], [-1, 0], [0, -1]], [[1, 0, 0], [-1, 0, 0], [0, 1, 0]]]) {
      expect(directionOf(nashMtl, rows).every((x) => x === 0)).toBe(true)
      expect(directionOf(fairGrad, rows, { alpha: 2 }).every((x) => x === 0)).toBe(true)
    }
  })
})
