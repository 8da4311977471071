import { Effect, Either } from "effect"
import { describe, expect, expectTypeOf, it } from "vitest"
import { tf, type Tensor } from "../../src/core/tf.ts"
import { SpecError } from "../../src/dsl/errors.ts"
import { objective, type Params } from "../../src/dsl/objective.ts"
import { makeSpec, sgd, type Initializer } from "../../src/dsl/spec.ts"
import { prioritize } from "../../src/dsl/structure.ts"
import { bloop } from "../../src/interpreters/bloop.ts"
import { InvalidOptions } from "../../src/interpreters/interpreter.ts"
import { method, methodNamed } from "../../src/interpreters/method.ts"
import { UnknownInterpreter } from "../../src/interpreters/registry.ts"
import { leastSquaresProblem } from "../../src/problems/leastSquares.ts"
import { train, trainPromise } from "../../src/training/train.ts"
import { useCpuBackend } from "../support/cpuBackend.ts"

useCpuBackend()

const problem = leastSquaresProblem({ examples: 16, dimensions: 32, seed: 3 })
const input = {
  parameters: problem.parameters,
  structure: prioritize(problem.objectives.fit!, problem.objectives.prior!, { lambda: 0.5 }),
  optimizer: sgd({ learningRate: 0.1 }),
  steps: 50,
  batchSize: 4,
  seed: 7,
}

const values = (parameters: Params) =>
  Object.fromEntries(Object.entries(parameters).map(([name, t]) => [name, Array.from(t.dataSync())]))

describe("one call: train(spec, method)", () => {
  it("gives bit for bit what the three-step path gives (decodeOptions → lower with the spec's seed → train)", async () => {
    const before = tf.memory().numTensors
    const threeSteps = await Effect.runPromise(
      Effect.gen(function* () {
        const spec = yield* makeSpec(input)
        const rule = yield* bloop.lower(spec.structure, yield* bloop.decodeOptions({ rho: 0.05 }), { seed: spec.seed })
        return yield* train(spec, rule)
      }),
    )
    const oneCall = await Effect.runPromise(train(input, method(bloop, { rho: 0.05 })))
    const byName = await trainPromise(input, method("bloop", { rho: 0.05 }))
    // Exactly the returned parameters are alive: one tensor per declared parameter per run.
    expect(tf.memory().numTensors - before).toBe(3 * Object.keys(input.parameters).length)
    for (const result of [oneCall, byName]) {
      expect(result.finalLosses).toEqual(threeSteps.finalLosses)
      expect(values(result.parameters)).toEqual(values(threeSteps.parameters))
    }
    expect(oneCall.rule).toBe("bloop")
    for (const result of [threeSteps, oneCall, byName]) tf.dispose(Object.values(result.parameters))
    expect(tf.memory().numTensors).toBe(before)
  })

  it("the returned parameters are the trained values: the loss measured on them is the final loss the run reports", async () => {
    const result = await trainPromise(input, "weighted-sum")
    const w = result.parameters.w!
    expect(w.shape).toEqual([...input.parameters.w!.shape])
    const fitNow = tf.tidy(() => problem.objectives.fit!.loss(result.parameters, problem.objectives.fit!.data!.batch(Int32Array.from({ length: 16 }, (_, i) => i))).dataSync()[0]!)
    expect(fitNow).toBeCloseTo(result.finalLosses.fit!, 6)
    tf.dispose(Object.values(result.parameters))
  })

  it("fails with the typed error of each stage, and the Promise form rejects with that same error", async () => {
    const failure = async (how: Parameters<typeof trainPromise>[1], spec: typeof input = input) => {
      const result = await Effect.runPromise(Effect.either(train(spec, how)))
      return Either.isLeft(result) ? result.left : undefined
    }
    expect(await failure(methodNamed("no-such-method"))).toBeInstanceOf(UnknownInterpreter)
    expect(await failure(method(bloop, { rho: 2 }))).toBeInstanceOf(InvalidOptions)
    expect(await failure(bloop, { ...input, steps: 0 })).toBeInstanceOf(SpecError)
    const rejected = await trainPromise(input, method("bloop", { rho: -1 })).then(
      () => undefined,
      (error: unknown) => error,
    )
    expect(rejected).toBeInstanceOf(InvalidOptions)
    expect((rejected as InvalidOptions).message).toMatch(/interpreter 'bloop' options\.rho/)
  })
})

describe("typed parameters", () => {
  it("a loss annotated with Params<typeof parameters> reads p.w as a Tensor, and the result is typed by name", async () => {
    const parameters = { w: { shape: [2], init: { kind: "zeros" } as Initializer } }
    const goal = tf.tensor1d([3, 4])
    const fit = objective("fit", (p: Params<typeof parameters>) => tf.mul(0.5, tf.sum(tf.square(tf.sub(p.w, goal)))))
    expectTypeOf<Params<typeof parameters>>().toEqualTypeOf<{ readonly w: Tensor }>()
    expectTypeOf<Params<"a" | "b">>().toEqualTypeOf<{ readonly a: Tensor; readonly b: Tensor }>()
    const result = await trainPromise({ parameters, structure: fit, optimizer: sgd({ learningRate: 1 }), steps: 1, batchSize: 1 }, "weighted-sum")
    expectTypeOf(result.parameters).toEqualTypeOf<Params<"w">>()
    expect(Array.from(result.parameters.w.dataSync())).toEqual([3, 4])
    tf.dispose([result.parameters.w, goal])
  })
})
