import { Effect, Either, Exit, Schema } from "effect"
import { beforeAll, describe, expect, it } from "vitest"
import { activateBackend } from "../../src/core/backend.ts"
import { tf } from "../../src/core/tf.ts"
import { objective } from "../../src/dsl/objective.ts"
import type { Problem } from "../../src/dsl/problem.ts"
import { builtinProblems, lookupProblem, problemFactory, registerProblem } from "../../src/problems/catalogue.ts"
import { defaultLeastSquaresOptions } from "../../src/problems/leastSquares.ts"
import { resolveSpecValue } from "../../src/problems/resolveSpec.ts"

beforeAll(async () => {
  await Effect.runPromise(activateBackend("cpu"))
})

/** Two quadratics pulling a scalar towards ±target: a user-defined problem. */
const tugOfWar = problemFactory({
  name: "tug-of-war",
  description: "a scalar pulled towards +target (left) and −target (right)",
  optionsSchema: Schema.Struct({ target: Schema.optionalWith(Schema.Number, { default: () => 1 }) }),
  make: ({ target }): Problem => ({
    name: "tug-of-war",
    description: `tug of war towards ±${target}`,
    parameters: { x: { shape: [1], init: { kind: "zeros" } } },
    objectives: {
      left: objective("left", (p) => tf.sum(tf.square(tf.sub(p.x!, target)))),
      right: objective("right", (p) => tf.sum(tf.square(tf.add(p.x!, target)))),
    },
    evaluations: [],
    references: {},
    dispose: () => undefined,
  }),
})

const document = (problem: unknown, structure: unknown) => ({
  problem,
  structure,
  optimizer: { kind: "sgd", learningRate: 0.1 },
  steps: 3,
  batchSize: 1,
})

describe("the problem catalogue", () => {
  it("holds least-squares with its defaults", () => {
    const factory = Either.getOrThrow(lookupProblem(builtinProblems, "least-squares"))
    expect(Schema.decodeUnknownSync(factory.optionsSchema)({})).toEqual(defaultLeastSquaresOptions)
  })

  it("registerProblem returns a new catalogue and leaves the old one unchanged", () => {
    const builtins = [...builtinProblems.keys()]
    const extended = registerProblem(builtinProblems, tugOfWar)
    expect([...extended.keys()]).toEqual([...builtins, "tug-of-war"])
    expect([...builtinProblems.keys()]).toEqual(builtins)
    expect(Either.getOrThrow(lookupProblem(extended, "tug-of-war"))).toBe(tugOfWar)
    const missing = Either.flip(lookupProblem(builtinProblems, "tug-of-war")).pipe(Either.getOrThrow)
    expect(missing.message).toBe(`problem.name: unknown problem 'tug-of-war' (known: ${builtins.join(", ")})`)
  })

  it("a registered problem is usable by name, with its options and objective names", () => {
    const catalogue = registerProblem(builtinProblems, tugOfWar)
    const resolved = Effect.runSync(
      resolveSpecValue(document({ name: "tug-of-war", options: { target: 3 } }, { kind: "prioritize", main: "left", aux: "right" }), catalogue),
    )
    expect(resolved.problem.description).toBe("tug of war towards ±3")
    expect(resolved.spec.structure).toEqual({
      _tag: "Hierarchy",
      // prioritize(...) remembers its form, so that its errors name main, aux and lambda.
      declaredWith: "prioritize",
      levels: [
        { of: resolved.problem.objectives.left, lambda: 1 },
        { of: resolved.problem.objectives.right, lambda: 1 },
      ],
    })
    const unknownObjective = Effect.runSync(Effect.flip(resolveSpecValue(document({ name: "tug-of-war" }, { kind: "sum", terms: ["left", "fit"] }), catalogue)))
    expect(unknownObjective.message).toBe("structure.terms[1]: unknown objective 'fit' (objectives of tug-of-war: left, right)")
    const badOptions = Effect.runSync(Effect.flip(resolveSpecValue(document({ name: "tug-of-war", options: { target: "far" } }, "left"), catalogue)))
    expect(badOptions.message).toBe('problem.options.target: expected a number, got "far"')
  })

  it("a document that fails after its problem is made releases the problem's tensors", () => {
    const before = tf.memory().numTensors
    const exit = Effect.runSyncExit(resolveSpecValue(document({ name: "least-squares", options: { examples: 4, dimensions: 8 } }, "nope")))
    expect(Exit.isFailure(exit)).toBe(true)
    expect(tf.memory().numTensors).toBe(before)
  })
})
