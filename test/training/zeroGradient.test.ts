import { Effect, Either, Logger, LogLevel } from "effect"
import { describe, expect, it } from "vitest"
import { tf } from "../../src/core/tf.ts"
import { objective, type Params } from "../../src/dsl/objective.ts"
import { makeSpec, sgd, type ParameterDeclarations } from "../../src/dsl/spec.ts"
import { sum } from "../../src/dsl/structure.ts"
import type { Structure } from "../../src/dsl/structure.ts"
import { train, ZeroGradient, type ZeroGradientPolicy } from "../../src/training/train.ts"
import { useCpuBackend } from "../support/cpuBackend.ts"

useCpuBackend()

const target = tf.tensor1d([1, 2])
const fit = objective("fit", (p: Params<"w">) => tf.mul(0.5, tf.sum(tf.square(tf.sub(p.w, target)))))
/** The failure the issue describes: a loss that computes with its own tensors, not the parameters. */
const detached = tf.variable(tf.ones([2]), true, "detached-weights")
const forgetful = objective("forgetful", () => tf.sum(tf.square(detached)))
/** Reads w, but w starts at its minimum: the gradient is exactly zero there. */
const penalty = objective("penalty", (p: Params<"w">) => tf.mul(0.5, tf.sum(tf.square(p.w))))

const parameters: ParameterDeclarations = { w: { shape: [2], init: { kind: "zeros" } } }

/** Train 3 steps with `policy`; the warnings logged and the outcome. */
const run = async (structure: Structure, policy?: ZeroGradientPolicy) => {
  const warnings: Array<string> = []
  const logger = Logger.make(({ logLevel, message }) => {
    if (logLevel._tag === "Warning") warnings.push(Array.isArray(message) ? message.join(" ") : String(message))
  })
  const before = tf.memory().numTensors
  const outcome = await Effect.runPromise(
    Effect.either(
      Effect.flatMap(makeSpec({ parameters, structure, optimizer: sgd({ learningRate: 0.5 }), steps: 3, batchSize: 1 }), (spec) =>
        train(spec, "weighted-sum", policy === undefined ? {} : { zeroGradient: policy }),
      ),
    ).pipe(Effect.provide(Logger.replace(Logger.defaultLogger, logger)), Logger.withMinimumLogLevel(LogLevel.Debug)),
  )
  if (Either.isRight(outcome)) tf.dispose(Object.values(outcome.right.parameters))
  expect(tf.memory().numTensors).toBe(before)
  return { warnings, outcome }
}

describe("an objective whose gradient is exactly zero at step 1", () => {
  it("is named in a warning when its loss reads no declared parameter, and the run goes on", async () => {
    const { warnings, outcome } = await run(sum(fit, forgetful))
    expect(Either.isRight(outcome)).toBe(true)
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toMatch(/objective 'forgetful' does not read any declared parameter/)
    expect(warnings[0]).toMatch(/does the loss read the declared parameters\?/i)
    expect(warnings[0]).toMatch(/fromModel\(model\)/)
  })

  it("fails with ZeroGradient under zeroGradient: \"fail\", naming the objective, the step and the cause", async () => {
    const { warnings, outcome } = await run(sum(fit, forgetful), "fail")
    expect(warnings).toEqual([])
    if (Either.isRight(outcome)) throw new Error("expected the run to fail")
    expect(outcome.left).toBeInstanceOf(ZeroGradient)
    expect(outcome.left).toMatchObject({ objective: "forgetful", step: 1, readsParameters: false })
    expect(outcome.left.message).toMatch(/does the loss read the declared parameters\?/i)
  })

  it("is not reported when the loss reads the parameters and only starts at a stationary point that the others move it from", async () => {
    // The penalty's gradient is zero at w = 0 (step 1), but fit moves w at step 1, so it is not at step 2.
    expect((await run(sum(fit, penalty))).warnings).toEqual([])
    expect(Either.isRight((await run(sum(fit, penalty), "fail")).outcome)).toBe(true)
  })

  it("is reported when the loss reads the parameters but its gradient stays exactly zero at steps 1 and 2 (nothing trains)", async () => {
    const { warnings } = await run(penalty)
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toMatch(/gradient of objective 'penalty' is exactly zero for every parameter at steps 1 and 2, so training does not move it/)
    expect(warnings[0]).toMatch(/does the loss read the declared parameters\?/i)
    const failed = await run(penalty, "fail")
    expect(Either.isLeft(failed.outcome) && failed.outcome.left).toMatchObject({ _tag: "ZeroGradient", objective: "penalty", step: 2, readsParameters: true })
  })

  it("gives no warning when every gradient is non-zero, nor under zeroGradient: \"ignore\"", async () => {
    expect((await run(fit)).warnings).toEqual([])
    expect((await run(sum(fit, forgetful), "ignore")).warnings).toEqual([])
  })
})
