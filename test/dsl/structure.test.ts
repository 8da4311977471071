import { Effect, Either, Exit } from "effect"
import { describe, expect, it } from "vitest"
import { objective } from "../../src/dsl/objective.ts"
import { constrain, hierarchy, levelsOf, prioritize, sum, validateStructure, weighted, type Structure } from "../../src/dsl/structure.ts"
import { builtinInterpreters } from "../../src/interpreters/builtins.ts"
import { builtinOptionsFor, lowersAs } from "../support/builtinOptions.ts"

const loss = () => {
  throw new Error("never evaluated")
}
const a = objective("a", loss)
const b = objective("b", loss)
const c = objective("c", loss)

const errorOf = (s: Structure) => {
  const result = validateStructure(s)
  if (Either.isRight(result)) throw new Error("expected a SpecError")
  return result.left
}

describe("validateStructure: typed errors with the path to the problem", () => {
  it.each([
    ["a non-finite weight", sum(a, weighted(b, Number.NaN)), "structure.terms[1].weight", /finite number, got NaN/],
    ["an empty sum", weighted(sum(), 2), "structure.of.terms", /at least one term/],
    ["an empty hierarchy", hierarchy([]), "structure.levels", /at least one level/],
    ["a negative λ", hierarchy([a, { of: b, lambda: -1 }]), "structure.levels[1].lambda", /non-negative number, got -1/],
    ["an infinite bound", sum(a, constrain(b, { atMost: Number.POSITIVE_INFINITY })), "structure.terms[1].atMost", /finite number/],
    ["two objectives sharing a name", sum(a, objective("a", loss)), "structure.terms[1]", /two different objectives are named 'a'/],
  ] as const)("%s", (_, structure, path, message) => {
    const error = errorOf(structure)
    expect(error._tag).toBe("SpecError")
    expect(error.path).toBe(path)
    expect(error.message).toMatch(message)
    expect(error.message.startsWith(`${path}: `)).toBe(true)
  })

  it("a valid structure is returned unchanged, and one objective may appear twice", () => {
    const s = sum(a, weighted(a, 2), prioritize(b, c, { lambda: 0.5 }))
    expect(validateStructure(s)).toEqual(Either.right(s))
  })
})

const normal = (s: Structure) =>
  Either.map(levelsOf(s), (levels) => levels.map((l) => ({ lambda: l.lambda, terms: l.terms.map((t) => [t.objective.name, t.weight]) })))

describe("levelsOf: the normal form (levels of weighted objectives)", () => {
  it("a plain objective is one level with weight 1", () => expect(normal(a)).toEqual(Either.right([{ lambda: 1, terms: [["a", 1]] }])))
  it("weights multiply through nesting and repeated objectives merge", () =>
    expect(normal(weighted(sum(a, weighted(b, 3), weighted(a, 0.5)), 2))).toEqual(Either.right([{ lambda: 1, terms: [["a", 3], ["b", 6]] }])))
  it("a hierarchy gives one level per entry, the main level's λ fixed to 1", () =>
    expect(normal(hierarchy([{ of: a, lambda: 7 }, { of: sum(b, c), lambda: 0.5 }]))).toEqual(
      Either.right([
        { lambda: 1, terms: [["a", 1]] },
        { lambda: 0.5, terms: [["b", 1], ["c", 1]] },
      ]),
    ))
  it("a one-level hierarchy inside a sum is flattened", () =>
    expect(normal(sum(a, hierarchy([b])))).toEqual(Either.right([{ lambda: 1, terms: [["a", 1], ["b", 1]] }])))
  it("a constraint has no normal form", () => expect(levelsOf(sum(a, constrain(b, { atMost: 1 })))).toEqual(Either.left({ construct: "Constrained" })))
  it("a nested hierarchy has no normal form, named by where it sits", () =>
    expect(levelsOf(sum(a, prioritize(b, c, { lambda: 1 })))).toEqual(Either.left({ construct: "Hierarchy nested inside Sum" })))
})

describe("every built-in interpreter refuses what it cannot lower with Unsupported", () => {
  const cases: ReadonlyArray<readonly [string, Structure, string]> = [
    ["a constraint", sum(a, constrain(b, { atMost: 0.1 })), "Constrained"],
    ["a hierarchy nested in a sum", sum(a, prioritize(b, c, { lambda: 1 })), "Hierarchy nested inside Sum"],
    ["a hierarchy nested in a level", hierarchy([a, prioritize(b, c, { lambda: 1 })]), "Hierarchy nested inside Hierarchy level"],
  ]
  // These two lower constraints (docs/interpreters.md); test/interpreters/constraints.test.ts
  // checks what they refuse instead.
  const lowersConstraints = new Set(["primal-dual", "dynamic-barrier"])
  for (const name of builtinInterpreters.keys()) {
    it.each(cases.filter(([what]) => !(lowersConstraints.has(name) && what === "a constraint")))(`${name}: %s`, async (_, structure, construct) => {
      const interpreter = builtinInterpreters.get(name)!
      const exit = await Effect.runPromiseExit(
        Effect.flatMap(interpreter.decodeOptions(builtinOptionsFor(name)), (options) => interpreter.lower(structure, options, { seed: 0 })),
      )
      expect(Exit.isFailure(exit)).toBe(true)
      if (Exit.isFailure(exit) && exit.cause._tag === "Fail") {
        const error = exit.cause.error
        expect(error).toMatchObject({ _tag: "Unsupported", interpreter: lowersAs(name), construct })
        expect(error.message).toBe(`interpreter '${lowersAs(name)}' cannot lower ${construct}`)
      } else {
        throw new Error("expected a typed Unsupported failure")
      }
    })
  }
})

describe("prioritize's arguments are named in its errors (not the levels the user never wrote)", () => {
  it("without options λ is 1, as in the JSON form", () => {
    const s = prioritize(a, b)
    expect(s.levels[1]!.lambda).toBe(1)
    expect(validateStructure(s)).toEqual(Either.right(s))
  })

  it("a bad λ is structure.lambda, naming prioritize's option; a bad argument is structure.main / structure.aux", () => {
    const negative = errorOf(prioritize(a, b, { lambda: -1 }))
    expect(negative.path).toBe("structure.lambda")
    expect(negative.message).toBe("structure.lambda: prioritize(main, aux, { lambda }) expects lambda to be a non-negative number, got -1")
    // A JavaScript caller passing λ bare.
    expect(errorOf(prioritize(a, b, "0.5" as never)).message).toMatch(/^structure\.lambda: .*got string "0\.5"$/)
    expect(errorOf(prioritize(a, sum()))).toMatchObject({ path: "structure.aux.terms" })
    expect(errorOf(prioritize(undefined as never, b))).toMatchObject({ path: "structure.main", problem: "expected a structure, got undefined" })
    // hierarchy([...]) keeps the levels' paths: they are what the user wrote.
    expect(errorOf(hierarchy([a, { of: b, lambda: -1 }])).path).toBe("structure.levels[1].lambda")
  })
})
