/**
 * Hostile declarations made in code and in JSON text (issue #12, points 8 and 9): every one is a
 * typed SpecError naming where the problem is, never a RangeError or a silently accepted value.
 */
import { Either } from "effect"
import { describe, expect, it } from "vitest"
import { SpecError } from "../../src/dsl/errors.ts"
import { parseJsonText, parseSpecDocument } from "../../src/dsl/json.ts"
import { objective } from "../../src/dsl/objective.ts"
import { makeSpec, sgd } from "../../src/dsl/spec.ts"
import { maxStructureDepth, type Structure, sum, weighted } from "../../src/dsl/structure.ts"

const loss = () => {
  throw new Error("never evaluated")
}
const a = objective("a", loss)

const specWith = (structure: Structure) =>
  makeSpec({ parameters: { w: { shape: [2], init: { kind: "zeros" } } }, structure, optimizer: sgd({ learningRate: 0.1 }), steps: 1, batchSize: 1 })

const failureOf = <A>(result: Either.Either<A, SpecError>): SpecError => {
  if (Either.isRight(result)) throw new Error("expected a SpecError")
  expect(result.left).toBeInstanceOf(SpecError)
  return result.left
}

describe("makeSpec on structures built in code", () => {
  it("a structure that contains itself is a SpecError naming the cycle, not a RangeError", () => {
    const cyclic = { _tag: "Weighted", weight: 2 } as { _tag: "Weighted"; weight: number; of: Structure }
    cyclic.of = sum(a, cyclic)
    const error = failureOf(specWith(cyclic))
    expect(error.message).toBe("structure.of.terms[1]: the structure contains itself (a cycle back to structure)")
  })

  it("a structure nested deeper than the limit is a SpecError, not a stack overflow", () => {
    let deep: Structure = a
    for (let i = 0; i < 200_000; i++) deep = weighted(deep, 1)
    const error = failureOf(specWith(deep))
    expect(error.problem).toBe(`nested deeper than ${maxStructureDepth} constructs`)
  })

  it("the same sub-structure used twice (a DAG, not a cycle) is accepted", () => {
    const shared = weighted(a, 0.5)
    expect(Either.isRight(specWith(sum(shared, shared)))).toBe(true)
  })
})

describe("JSON text", () => {
  it("a duplicate key is refused with its path (JSON.parse would keep the last one)", () => {
    const text = '{"a": 1, "b": {"c": [1, {"d": 1, "e": 2, "d": 3}]}}'
    const error = failureOf(parseJsonText(text))
    expect(error.message).toBe('b.c[1]: duplicate key "d" (line 1, column 42); JSON keeps only the last value, so remove one of them')
  })

  it("keys that are equal after unescaping are duplicates too", () => {
    expect(failureOf(parseJsonText('{"ab": 1, "a\\u0062": 2}')).problem).toMatch(/^duplicate key "ab"/)
  })

  it("equal keys in different objects are not duplicates", () => {
    expect(parseJsonText('{"a": {"x": 1}, "b": {"x": 2}, "c": [{"x": 1}, {"x": 2}]}')).toEqual(
      Either.right({ a: { x: 1 }, b: { x: 2 }, c: [{ x: 1 }, { x: 2 }] }),
    )
  })

  it("a duplicate key in a spec document names the document path", () => {
    const text = '{"problem": {"name": "least-squares"}, "structure": "fit", "optimizer": {"kind": "sgd", "learningRate": 0.1, "learningRate": 10}, "steps": 1, "batchSize": 1}'
    // The message docs/specs.md quotes.
    expect(failureOf(parseSpecDocument(text)).message).toBe(
      'optimizer: duplicate key "learningRate" (line 1, column 110); JSON keeps only the last value, so remove one of them',
    )
  })

  it("a UTF-8 byte order mark before the document is accepted", () => {
    expect(parseJsonText('\uFEFF{"a": 1}')).toEqual(Either.right({ a: 1 }))
  })

  it("a byte order mark elsewhere is named, not quoted as an invisible character", () => {
    const error = failureOf(parseJsonText('{"a": \uFEFF1}'))
    expect(error.problem).toContain("a byte order mark (U+FEFF)")
  })
})
