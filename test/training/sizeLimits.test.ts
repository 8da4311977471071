/**
 * Sizes that cannot be allocated fail fast with a typed error that states the limit and why
 * (issue #12, point 1), instead of running for minutes and dying in the backend.
 */
import { Cause, Effect, Either, Exit, Option } from "effect"
import { beforeAll, describe, expect, it } from "vitest"
import { tf } from "../../src/core/tf.ts"
import { SpecError } from "../../src/dsl/errors.ts"
import { maxParameterElements, makeSpec, sgd } from "../../src/dsl/spec.ts"
import { objective } from "../../src/dsl/objective.ts"
import { builtinInterpreters } from "../../src/interpreters/builtins.ts"
import { lookup } from "../../src/interpreters/registry.ts"
import { resolveSpecValue } from "../../src/problems/resolveSpec.ts"
import { maxBatchElements } from "../../src/training/sizeLimits.ts"
import { train } from "../../src/training/train.ts"

beforeAll(async () => {
  await tf.setBackend("cpu")
})

const document = (batchSize: number) => ({
  problem: { name: "least-squares", options: { examples: 32, dimensions: 64 } },
  structure: { kind: "prioritize", main: "fit", aux: "prior", lambda: 1 },
  optimizer: { kind: "sgd", learningRate: 0.01 },
  steps: 3,
  batchSize,
})

/** Resolve, lower and train `value`; the typed failure (a defect fails the test), the time taken and the tensors left. */
const trainDocument = async (value: unknown) => {
  const before = tf.memory().numTensors
  const started = performance.now()
  const exit = await Effect.runPromiseExit(
    Effect.acquireUseRelease(
      resolveSpecValue(value),
      (resolved) =>
        Effect.gen(function* () {
          const interpreter = yield* lookup(builtinInterpreters, resolved.method.name)
          const rule = yield* interpreter.lower(resolved.spec.structure, yield* interpreter.decodeOptions(resolved.method.options), { seed: 0 })
          return yield* train(resolved.spec, rule)
        }),
      (resolved) => Effect.sync(resolved.problem.dispose),
    ),
  )
  const elapsedMs = performance.now() - started
  // train() hands the trained parameters to the caller.
  if (Exit.isSuccess(exit)) tf.dispose(Object.values(exit.value.parameters))
  const failure = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : Option.none()
  if (Exit.isFailure(exit)) expect(Option.isSome(failure), Cause.pretty(exit.cause)).toBe(true)
  return { exit, failure: Option.getOrUndefined(failure), elapsedMs, leftover: tf.memory().numTensors - before }
}

describe("size limits", () => {
  it.each([1e7, 2 ** 31, 2 ** 53 - 1])("batchSize %d is refused at once with the limit and the reason", async (batchSize) => {
    const { failure, elapsedMs, leftover } = await trainDocument(document(batchSize))
    expect(failure).toBeInstanceOf(SpecError)
    const error = failure as SpecError
    expect(error.path).toBe("batchSize")
    // 64 inputs and one target per example.
    expect(error.problem).toBe(
      `a batch of ${batchSize} examples of 'least-squares-rows' (65 numbers each) holds ${batchSize * 65} numbers, more than the ${maxBatchElements} (2^27) that one batch may hold: ` +
        `the tfjs backends keep a tensor in one buffer of at most 4 GiB, and a step holds several tensors of the batch's size; use a batchSize of at most ${Math.floor(maxBatchElements / 65)}`,
    )
    expect(elapsedMs).toBeLessThan(3_000)
    expect(leftover).toBe(0)
  })

  it("a batch within the limit, larger than the data set, still trains (examples are drawn with replacement)", async () => {
    const { exit, leftover } = await trainDocument(document(100))
    expect(Exit.isSuccess(exit)).toBe(true)
    expect(leftover).toBe(0)
  })

  it("a parameter too large to allocate is a SpecError from makeSpec", () => {
    const result = makeSpec({
      parameters: { w: { shape: [2 ** 20, 2 ** 20], init: { kind: "zeros" } } },
      structure: objective("a", () => tf.scalar(0)),
      optimizer: sgd({ learningRate: 0.1 }),
      steps: 1,
      batchSize: 1,
    })
    if (Either.isRight(result)) throw new Error("expected a SpecError")
    expect(result.left.message).toBe(
      `parameters.w.shape: [1048576, 1048576] holds ${2 ** 40} numbers, more than the ${maxParameterElements} (2^26) that a run's parameters may hold: ` +
        "a step keeps several vectors of the parameters' size (gradients, optimizer and rule states) in memory at once",
    )
  })

  it("a sum of 150,000 terms resolves without overflowing the stack and leaves no tensor behind", async () => {
    const terms = Array.from({ length: 150_000 }, (_, i) => (i % 2 === 0 ? "fit" : "prior"))
    const { exit, failure, leftover } = await trainDocument({ ...document(4), structure: { kind: "sum", terms } })
    expect(failure).toBeUndefined()
    expect(Exit.isSuccess(exit)).toBe(true)
    expect(leftover).toBe(0)
  })
})
