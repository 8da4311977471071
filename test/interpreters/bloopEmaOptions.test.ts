/**
 * Bloop's two EMA options (docs/experiments.md, "EMA ablation"): when ĝ is updated (after the
 * direction, the paper's Algorithm 1; before it, the authors' code) and how it starts (the first
 * main gradient; zeros). Each case is checked against the direction written out by hand.
 */
import { Effect, Either } from "effect"
import { describe, expect, it } from "vitest"
import { layoutOf } from "../../src/core/paramVector.ts"
import { objective } from "../../src/dsl/objective.ts"
import { hierarchy, prioritize } from "../../src/dsl/structure.ts"
import { bloop, bloopNoEma } from "../../src/interpreters/bloop.ts"
import { runRule } from "../../src/testing/checkInterpreter.ts"
import { useCpuBackend } from "../support/cpuBackend.ts"

useCpuBackend()

const lambda = 2
const rho = 0.25
const main = objective("main", () => { throw new Error("gradients are supplied") })
const aux = objective("aux", () => { throw new Error("gradients are supplied") })
const structure = prioritize(main, aux, { lambda })
const layout = layoutOf({ w: { shape: [3] } })

const dot = (a: ReadonlyArray<number>, b: ReadonlyArray<number>) => a.reduce((s, x, i) => s + x * b[i]!, 0)
/** π(v; u) = v − (⟨v,u⟩/‖u‖²)·u, and v itself for u = 0. */
const project = (v: ReadonlyArray<number>, u: ReadonlyArray<number>) => {
  const uu = dot(u, u)
  return uu === 0 ? [...v] : v.map((x, i) => x - (dot(v, u) / uu) * u[i]!)
}
const ema = (e: ReadonlyArray<number>, g: ReadonlyArray<number>) => e.map((x, i) => (1 - rho) * x + rho * g[i]!)
const bloopStep = (m: ReadonlyArray<number>, a: ReadonlyArray<number>, reference: ReadonlyArray<number>) =>
  m.map((x, i) => x + lambda * project(a, reference)[i]!)

// Three steps of (g_main, g_aux) whose main gradients point in different directions.
const steps: ReadonlyArray<readonly [ReadonlyArray<number>, ReadonlyArray<number>]> = [
  [[1, 0, 0], [1, 1, 1]],
  [[0, 1, 0], [2, -1, 1]],
  [[1, 1, 1], [0, 3, -1]],
]

/** The initial parameters θ₀ the rule's `init` is given (what `emaInit: "parameters"` copies). */
const theta0 = [0.5, -2, 3]

const directions = (options: Record<string, unknown>, interpreter = bloop) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const decoded = yield* interpreter.decodeOptions({ rho, ...options })
      const rule = yield* interpreter.lower(structure, decoded, { seed: 0 })
      return runRule(rule, layout, steps.map(([m, a]) => [Float32Array.from(m), Float32Array.from(a)]), Float32Array.from(theta0)).map((d) => [...d])
    }),
  )

/** The expected directions, given how ĝ starts and when it is updated. */
const expected = (order: "after" | "before", init: "first" | "zeros" | "parameters") => {
  let average: ReadonlyArray<number> = init === "parameters" ? theta0 : [0, 0, 0]
  return steps.map(([m, a], t) => {
    const updated = t === 0 && init === "first" ? m : ema(average, m)
    const reference = order === "before" ? updated : t === 0 && init === "first" ? m : average
    average = updated
    return bloopStep(m, a, reference)
  })
}

const expectClose = (actual: ReadonlyArray<ReadonlyArray<number>>, wanted: ReadonlyArray<ReadonlyArray<number>>) =>
  actual.forEach((d, t) => d.forEach((x, i) => expect(x, `step ${t + 1}, entry ${i}`).toBeCloseTo(wanted[t]![i]!, 5)))

describe("Bloop's EMA options: update order and initialisation", () => {
  it("decodes with the paper's defaults (update after the direction, start at the first gradient)", async () => {
    const options = await Effect.runPromise(bloop.decodeOptions({}))
    expect(options.emaOrder).toBe("after")
    expect(options.emaInit).toBe("first")
  })

  it("refuses an unknown order or start with a message naming the option", async () => {
    for (const bad of [{ emaOrder: "during" }, { emaInit: "ones" }]) {
      const outcome = await Effect.runPromise(Effect.either(bloop.decodeOptions(bad)))
      expect(Either.isLeft(outcome)).toBe(true)
      if (Either.isLeft(outcome)) {
        expect(outcome.left._tag).toBe("InvalidOptions")
        expect(outcome.left.message).toContain(Object.keys(bad)[0]!)
      }
    }
  })

  for (const order of ["after", "before"] as const) {
    for (const init of ["first", "zeros", "parameters"] as const) {
      it(`emaOrder ${order}, emaInit ${init}: d_t = g_main + λ·π(g_aux; ĝ) with ĝ as written out by hand`, async () => {
        expectClose(await directions({ emaOrder: order, emaInit: init }), expected(order, init))
      })
    }
  }

  it("the six variants give different directions on these gradients (the options are not ignored)", async () => {
    const all = await Promise.all(
      (["after", "before"] as const).flatMap((o) => (["first", "zeros", "parameters"] as const).map((i) => directions({ emaOrder: o, emaInit: i }))),
    )
    for (let a = 0; a < all.length; a++) {
      for (let b = a + 1; b < all.length; b++) expect(all[a]).not.toEqual(all[b])
    }
  })

  it("without the EMA, neither option matters: every step projects on its own main gradient", async () => {
    const plain = steps.map(([m, a]) => bloopStep(m, a, m))
    for (const order of ["after", "before"]) expectClose(await directions({ emaOrder: order, emaInit: "zeros" }, bloopNoEma), plain)
  })

  it("parameters with the update after: the first step projects on θ₀ itself (the authors' script's start)", async () => {
    const [first] = await directions({ emaInit: "parameters" })
    expectClose([first!], [bloopStep(steps[0]![0], steps[0]![1], theta0)])
  })

  it("parameters without a start: init throws MissingStart naming the option", async () => {
    const rule = await Effect.runPromise(Effect.flatMap(bloop.decodeOptions({ emaInit: "parameters" }), (o) => bloop.lower(structure, o, { seed: 0 })))
    expect(() => rule.init(layout)).toThrow(/emaInit: "parameters".*initial parameters/)
  })

  it("zeros with the update after: the first step projects on nothing, d₁ = g_main + λ·g_aux", async () => {
    const [first] = await directions({ emaInit: "zeros" })
    expectClose([first!], [steps[0]![0].map((x, i) => x + lambda * steps[0]![1][i]!)])
  })
})

describe("Bloop's spanTolerance τ holds under every EMA option and with perBlock", () => {
  // Three levels: g₁ = e₀ + 0.1·e₁ has residual ratio 0.0995 beside g₀ = e₀. With τ = 0.5 it is
  // dropped, so g₂ is projected off g₀ only: d = e₀ + (0, 0.1, 0) + (0, 0.4, 0.5) = (1, 0.5, 0.5);
  // with the default τ it is kept and d = (1, 0.1, 0.5) (the paper's §2.3).
  const third = objective("third", () => { throw new Error("gradients are supplied") })
  const threeLevels = hierarchy([main, aux, third])
  const first: ReadonlyArray<Float32Array> = [Float32Array.from([1, 0, 0]), Float32Array.from([1, 0.1, 0]), Float32Array.from([0.3, 0.4, 0.5])]
  const firstDirection = (interpreter: typeof bloop, options: Record<string, unknown>) =>
    Effect.runPromise(
      Effect.gen(function* () {
        const decoded = yield* interpreter.decodeOptions(options)
        const rule = yield* interpreter.lower(threeLevels, decoded, { seed: 0 })
        return [...runRule(rule, layout, [first])[0]!]
      }),
    )
  // ("after", "zeros") projects the first step on nothing (ĝ = 0), so it has no reference to drop.
  const cases = [
    [bloop, { emaOrder: "after", emaInit: "first" }],
    [bloop, { emaOrder: "before", emaInit: "first" }],
    [bloop, { emaOrder: "before", emaInit: "zeros" }],
    [bloopNoEma, { emaOrder: "after" }],
    [bloopNoEma, { emaOrder: "before" }],
  ] as const
  for (const [interpreter, options] of cases) {
    for (const perBlock of [false, true]) {
      it(`${interpreter.name} ${JSON.stringify(options)}, perBlock ${perBlock}: τ = 0.5 drops the reference, the default keeps it`, async () => {
        expectClose([await firstDirection(interpreter, { ...options, perBlock, spanTolerance: 0.5 })], [[1, 0.5, 0.5]])
        expectClose([await firstDirection(interpreter, { ...options, perBlock })], [[1, 0.1, 0.5]])
      })
    }
  }

  it("τ = 1 drops every reference, the first included: d = g₀ + g₁ + g₂; two levels with τ < 1 still project", async () => {
    expectClose([await firstDirection(bloop, { spanTolerance: 1 })], [[2.3, 0.5, 0.5]])
    expectClose(await directions({ spanTolerance: 0.999 }), expected("after", "first"))
  })
})
