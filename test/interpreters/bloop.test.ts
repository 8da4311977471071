import { Effect } from "effect"
import { describe, it } from "vitest"
import { objective } from "../../src/dsl/objective.ts"
import { hierarchy, prioritize } from "../../src/dsl/structure.ts"
import { bloop, bloopNoEma } from "../../src/interpreters/bloop.ts"
import {
  agreesWith,
  addsNothingAlongPriority,
  checkInterpreter,
  expectAtMost,
  gamma,
  layoutOfShapes,
  parameterShapes,
  projectionError,
  reducesTo,
  reference,
  ruleProperty,
  runRule,
  vectorPairWithCosineOfLength,
  type GradientSteps,
  type InterpreterCheck,
} from "scalpel/testing"
import type { Interpreter } from "../../src/interpreters/interpreter.ts"
import { useCpuBackend } from "../support/cpuBackend.ts"
import { bloopDirectionError, referencesOf } from "./bloopBounds.ts"

useCpuBackend()

const lambda = 0.5
const rho = 0.25
const steps = 4
const check = <O>(interpreter: Interpreter<O>, spec: InterpreterCheck) => Effect.runPromise(checkInterpreter(interpreter, spec))
const twoLevels = { structure: (o: Record<string, any>) => prioritize(o.main, o.aux, { lambda }), options: { rho } }
const threeLevels = {
  objectives: ["main", "aux1", "aux2"],
  structure: (o: Record<string, any>) => hierarchy([o.main, { of: o.aux1, lambda: 0.5 }, { of: o.aux2, lambda: 2 }]),
  options: { rho },
}
const lambdas3 = [1, 0.5, 2]
// Objectives for the rules built outside checkInterpreter; names match the kit's synthetic ones.
const threeLevelObjectives = Object.fromEntries(
  ["main", "aux1", "aux2"].map((n) => [n, objective(n, () => { throw new Error("the kit supplies gradients") })]),
)
const threeLevelStructure = hierarchy([threeLevelObjectives.main!, { of: threeLevelObjectives.aux1!, lambda: 0.5 }, { of: threeLevelObjectives.aux2!, lambda: 2 }])

describe("Bloop (Hsieh et al. 2024): d = ∇main + λ·π(∇aux, ĝ), ĝ the EMA of ∇main", () => {
  it("adds nothing along ĝ: ⟨d − ∇main, ĝ⟩ ≈ 0 at every step, ĝ the reference EMA", () =>
    check(bloop, {
      ...twoLevels,
      properties: [
        ruleProperty({
          name: "⟨d − ∇main, ĝ⟩ = 0",
          steps,
          check: (trial) => {
            const refs = referencesOf(trial.steps, { rho, ema: true })
            trial.directions.forEach((d, t) => {
              const [main, aux] = trial.steps[t]!
              const g = refs[t]!.references[0]!
              const error = bloopDirectionError([main!, aux!], [1, lambda], [g], refs[t]!.errors)
              const extra = reference.subtract(d, main!)
              expectAtMost("adds nothing along ĝ", `|⟨d − ∇main, ĝ⟩| at step ${t + 1}`, Math.abs(reference.dot(extra, g)), error * reference.norm(g), "(error bound of d)·‖ĝ‖")
            })
          },
        }),
      ],
    }))

  it("λ = 0 gives ∇main", () =>
    check(bloop, {
      structure: (o) => prioritize(o.main!, o.aux!, { lambda: 0 }),
      properties: [reducesTo("∇main", (g) => g[0]!, { depth: 1 }, { depth: 0 })],
    }))

  it("an auxiliary gradient orthogonal to ĝ passes unchanged: d = ∇main + λ∇aux", () =>
    check(bloop, {
      ...twoLevels,
      shapes: parameterShapes().filter((s) => layoutOfShapes(s).size >= 2),
      // [aux, main] with cos = 0 before rounding: at the first step ĝ = ∇main.
      gradients: (n) => vectorPairWithCosineOfLength(n, { min: 0, max: 0 }).map(([aux, main]) => [main, aux]),
      properties: [
        agreesWith("∇main + λ∇aux", (g) => reference.add(g[0]!, reference.scale(g[1]!, lambda)), {
          // The rounded pair is off by |⟨aux, main⟩|/‖main‖ from orthogonal (measured), which the
          // projection removes: that much λ·|⟨aux,main⟩|/‖main‖ beyond the projection's bound.
          bound: ([main, aux]) => {
            const off = reference.norm(main!) === 0 ? 0 : Math.abs(reference.dot(aux!, main!)) / reference.norm(main!)
            return lambda * (projectionError(main!.length, reference.norm(aux!)) + off) + gamma(3) * (reference.norm(main!) + lambda * reference.norm(aux!))
          },
        }),
      ],
    }))

  it("the EMA state evolves as the reference: ĝ ← (1 − ρ)ĝ + ρ∇main after the first step", () =>
    check(bloop, {
      ...twoLevels,
      properties: [
        ruleProperty({
          name: "EMA state = reference EMA",
          steps,
          check: (trial) => {
            const expected = reference.bloopTrajectory(trial.steps, { lambdas: [1, lambda], rho, ema: true })
            let magnitude = new Float64Array(0)
            trial.states.forEach((state, t) => {
              const main = trial.steps[t]![0]!
              magnitude = t === 0 ? Float64Array.from(main, Math.abs) : magnitude.map((a, i) => (1 - rho) * a + rho * Math.abs(main[i]!))
              const emas = (state as { emas: ReadonlyArray<Float32Array> }).emas
              const gap = reference.distance(emas[0]!, expected[t]!.emas[0]!)
              expectAtMost("EMA agrees with the reference", `‖ĝ − ĝ₆₄‖ after step ${t + 1}`, gap, gamma(5 * t) * reference.norm(magnitude), "γ_{5t}‖A_t‖")
            })
          },
        }),
      ],
    }))

  it("directions agree with the reference over several steps (EMA projected on before it is updated)", () =>
    check(bloop, {
      ...twoLevels,
      properties: [
        ruleProperty({
          name: "directions = reference trajectory",
          steps,
          check: (trial) => {
            const expected = reference.bloopTrajectory(trial.steps, { lambdas: [1, lambda], rho, ema: true })
            const refs = referencesOf(trial.steps, { rho, ema: true })
            trial.directions.forEach((d, t) => {
              const error = bloopDirectionError(trial.steps[t]!, [1, lambda], refs[t]!.references, refs[t]!.errors)
              expectAtMost("agreement", `‖d − d₆₄‖ at step ${t + 1}`, reference.distance(d, expected[t]!.direction), error, "Bloop error bound")
            })
          },
        }),
      ],
    }))

  it("ema: false projects on the current gradient: d = ∇main + λ·π(∇aux, ∇main) at every step", () =>
    Promise.all(
      [
        [bloop, { rho, ema: false }],
        [bloopNoEma, { rho }],
      ].map(([interpreter, options]) =>
        check(interpreter as typeof bloop, {
          structure: (o) => prioritize(o.main!, o.aux!, { lambda }),
          options,
          properties: [
            ruleProperty({
              name: "projection on the current ∇main",
              steps,
              check: (trial) =>
                trial.directions.forEach((d, t) => {
                  const [main, aux] = trial.steps[t]!
                  const expected = reference.bloop(main!, aux!, lambda, main!)
                  const error = bloopDirectionError([main!, aux!], [1, lambda], [main!], [0])
                  expectAtMost("agreement", `‖d − d₆₄‖ at step ${t + 1}`, reference.distance(d, expected), error, "Bloop error bound")
                }),
            }),
            addsNothingAlongPriority({ depth: 1, weight: lambda }),
          ],
        }),
      ),
    ))
})

describe("n-level Bloop (Gram–Schmidt on the higher levels' EMAs)", () => {
  it("two levels reduce to plain Bloop (Eq. 5): d = g₀ + λ·π(g₁, g₀) at the first step", () =>
    check(bloop, {
      structure: (o) => hierarchy([o.main!, { of: o.aux!, lambda }]),
      properties: [agreesWith("two-level Bloop", (g) => reference.bloop(g[0]!, g[1]!, lambda, g[0]!), { depth: 1, weight: lambda })],
    }))

  /** The rule lowered on the first two levels only, run on the same steps. */
  const twoLevelRule = Effect.runSync(
    Effect.flatMap(bloop.decodeOptions({ rho }), (options) =>
      bloop.lower(hierarchy([threeLevelObjectives.main!, { of: threeLevelObjectives.aux1!, lambda: 0.5 }]), options, { seed: 0 }),
    ),
  )

  it("the part of d inside the span of the higher levels' EMAs is what those levels alone give", () =>
    check(bloop, {
      ...threeLevels,
      structure: () => threeLevelStructure,
      properties: [
        ruleProperty({
          name: "span part = two-level direction's span part",
          steps,
          check: (trial) => {
            const twoLevelSteps: GradientSteps = trial.steps.map((g) => g.slice(0, 2))
            const two = runRule(twoLevelRule, trial.layout, twoLevelSteps)
            const refs = referencesOf(trial.steps, { rho, ema: true })
            trial.directions.forEach((d, t) => {
              const basis = reference.orthogonalBasis(refs[t]!.references)
              const inSpan = (x: ArrayLike<number>) => reference.subtract(x, reference.projectOutSpan(x, basis))
              const bound =
                bloopDirectionError(trial.steps[t]!, lambdas3, refs[t]!.references, refs[t]!.errors) +
                bloopDirectionError(twoLevelSteps[t]!, lambdas3, refs[t]!.references.slice(0, 1), refs[t]!.errors.slice(0, 1))
              expectAtMost("span part", `‖P(d₃) − P(d₂)‖ at step ${t + 1}`, reference.distance(inSpan(d), inSpan(two[t]!)), bound, "both directions' error bounds")
            })
          },
        }),
      ],
    }))

  it("a level whose gradient lies in the span of the higher levels' EMAs contributes nothing", () =>
    check(bloop, {
      ...threeLevels,
      structure: () => threeLevelStructure,
      properties: [
        ruleProperty({
          name: "in-span level adds nothing",
          steps,
          check: (trial) => {
            // Replace the lowest level's gradient by a·q₀ + b·q₁, with q the Gram–Schmidt basis of
            // the references the rule will use at that step (the EMAs of the first two levels do
            // not depend on the third). The basis, not the EMAs themselves: an EMA whose part
            // outside the span of the previous ones is below τ = 4·2⁻²⁴ of its norm adds no direction
            // (defaultSpanTolerance), so its sliver is not removed from lower levels.
            const refs = referencesOf(trial.steps, { rho, ema: true })
            const [a, b] = [0.75, -1.5]
            const exact = refs.map((r) => {
              const [q0, q1] = reference.orthogonalBasis(r.references)
              return reference.add(reference.scale(q0!, a), reference.scale(q1!, b))
            })
            const inSpanSteps: GradientSteps = trial.steps.map((g, t) => [g[0]!, g[1]!, Float32Array.from(exact[t]!)])
            const three = trial.run(inSpanSteps)
            const two = runRule(twoLevelRule, trial.layout, trial.steps.map((g) => g.slice(0, 2)))
            three.forEach((d, t) => {
              const rounding = reference.distance(inSpanSteps[t]![2]!, exact[t]!)
              const bound =
                bloopDirectionError(inSpanSteps[t]!, lambdas3, refs[t]!.references, refs[t]!.errors) +
                bloopDirectionError(inSpanSteps[t]!.slice(0, 2), lambdas3, refs[t]!.references.slice(0, 1), refs[t]!.errors.slice(0, 1)) +
                2 * rounding
              expectAtMost("in-span level adds nothing", `‖d₃ − d₂‖ at step ${t + 1}`, reference.distance(d, two[t]!), bound, "both error bounds + λ₂·rounding of the in-span gradient")
            })
          },
        }),
      ],
    }))
})

