import fc from "fast-check"
import { describe, expect, it } from "vitest"
import {
  bestPerMethod,
  compareFronts,
  dominanceVerdict,
  dominates,
  type FrontPoint,
  frontPoints,
  hypervolume,
  paretoFront,
  recordsCsv,
} from "../../src/experiments/report.ts"
import type { RunRecord } from "../../src/experiments/sweep.ts"

const loss = fc.double({ min: 0, max: 100, noNaN: true })
const pair = fc.record({ main: loss, aux: loss })
const pairs = fc.array(pair, { minLength: 1, maxLength: 30 })

const point = (method: string, lambda: number, main: number, aux: number): FrontPoint => ({
  method,
  lambda,
  main,
  aux,
  mainStd: 0,
  auxStd: 0,
  seeds: 1,
})

const record = (method: string, lambda: number, seed: number, main: number, aux: number): RunRecord => ({
  method,
  lambda,
  seed,
  mainTrain: main,
  auxTrain: aux,
  mainTest: main + 1,
  heldOut: true,
  auxTest: aux,
  metrics: { "accuracy:test": 1 / (1 + main) },
  wallTimeMs: 1,
  backend: "cpu",
})

describe("Pareto fronts", () => {
  it("non-domination: no point of the front is dominated by any point, and every point left out is", () => {
    fc.assert(
      fc.property(pairs, (points) => {
        const front = paretoFront(points)
        for (const p of front) expect(points.some((q) => dominates(q, p))).toBe(false)
        for (const p of points.filter((x) => !front.includes(x))) expect(points.some((q) => dominates(q, p))).toBe(true)
        expect(front.length).toBeGreaterThan(0)
      }),
    )
  })

  it("dominance is irreflexive and antisymmetric", () => {
    fc.assert(
      fc.property(pair, pair, (a, b) => {
        expect(dominates(a, a)).toBe(false)
        expect(dominates(a, b) && dominates(b, a)).toBe(false)
      }),
    )
  })

  it("hypervolume is monotone: adding a point never shrinks the dominated area", () => {
    const reference = { main: 101, aux: 101 }
    fc.assert(
      fc.property(pairs, pair, (points, extra) => {
        const before = hypervolume(points, reference)
        const after = hypervolume([...points, extra], reference)
        // Areas are sums of at most 31 products of doubles ≤ 101²: allow a few ulps of the total.
        expect(after).toBeGreaterThanOrEqual(before - 64 * Number.EPSILON * 101 * 101)
      }),
    )
  })

  it("hypervolume of one point is the rectangle it spans with the reference", () => {
    fc.assert(
      fc.property(pair, (p) => {
        expect(hypervolume([p], { main: 200, aux: 200 })).toBeCloseTo((200 - p.aux) * (200 - p.main), 6)
      }),
    )
  })
})

describe("the dominance verdict is computed from the numbers", () => {
  it("says Bloop dominates when every other point is a Bloop front point shifted up and right", () => {
    fc.assert(
      fc.property(pairs, fc.double({ min: 0.01, max: 10, noNaN: true }), (points, shift) => {
        // On a front no point dominates another, so a shifted copy cannot dominate any of them.
        const base = paretoFront(points)
        const bloop = base.map((p, i) => point("bloop", i, p.main, p.aux))
        const other = base.map((p, i) => point("weighted-sum", i, p.main + shift, p.aux + shift))
        const [c] = compareFronts([...bloop, ...other], "bloop")
        expect(c!.coveredByReference).toBe(other.length)
        expect(c!.coversReference).toBe(0)
        expect(dominanceVerdict([...bloop, ...other], "train")).toMatch(/bloop's front dominates that of weighted-sum/)
      }),
    )
  })

  it("says Bloop's front is dominated in the converse case, and neither when the fronts cross", () => {
    const good = [point("pcgrad", 1, 1, 3), point("pcgrad", 2, 2, 2)]
    const bad = [point("bloop", 1, 2, 4), point("bloop", 2, 3, 3)]
    expect(dominanceVerdict([...bad, ...good], "test")).toMatch(/^On held-out losses, bloop's front is dominated by that of pcgrad/)
    const crossing = [point("bloop", 1, 1, 5), point("bloop", 2, 5, 1), point("pcgrad", 1, 3, 3)]
    expect(dominanceVerdict(crossing, "train")).toMatch(/neither front dominates for pcgrad \(bloop dominates 0 of its 1 points, it dominates 0 of bloop's 2\)/)
  })

  it("reports a missing Bloop instead of inventing a comparison", () => {
    expect(dominanceVerdict([point("pcgrad", 1, 1, 1)], "train")).toMatch(/bloop was not run/)
  })
})

describe("aggregation over seeds", () => {
  const records = [record("bloop", 0.1, 1, 1, 4), record("bloop", 0.1, 2, 3, 6), record("bloop", 1, 1, 5, 1), record("pcgrad", 0.1, 1, 2, 2)]

  it("front points are the means over seeds, with the sample standard deviation", () => {
    const points = frontPoints(records, "train")
    const first = points.find((p) => p.method === "bloop" && p.lambda === 0.1)!
    expect(first.main).toBe(2)
    expect(first.aux).toBe(5)
    expect(first.mainStd).toBeCloseTo(Math.SQRT2, 12)
    expect(first.seeds).toBe(2)
    expect(points.map((p) => `${p.method}@${p.lambda}`)).toEqual(["bloop@0.1", "bloop@1", "pcgrad@0.1"])
  })

  it("the best row per method is the λ with the lowest mean held-out main loss", () => {
    const best = bestPerMethod(records)
    expect(best.map((b) => [b.method, b.lambda])).toEqual([
      ["bloop", 0.1],
      ["pcgrad", 0.1],
    ])
    expect(best[0]!.mainTest).toBe(3)
  })

  it("the CSV has a header and one row per run", () => {
    const lines = recordsCsv(records).trimEnd().split("\n")
    expect(lines).toHaveLength(records.length + 1)
    expect(lines[0]).toContain("accuracy:test")
  })
})
