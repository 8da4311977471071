import { Effect, Either, Logger, LogLevel } from "effect"
import { describe, expect, it } from "vitest"
import { tf } from "../../src/core/tf.ts"
import { objective, type Params } from "../../src/dsl/objective.ts"
import { sgd } from "../../src/dsl/spec.ts"
import { constrain, sum, weighted } from "../../src/dsl/structure.ts"
import { type StepEvent, train, type TrainOptions } from "../../src/training/train.ts"
import { useCpuBackend } from "../support/cpuBackend.ts"

useCpuBackend()

/** Minimise (w − 1)² subject to w² ≤ bound: the constrained optimum is w = √bound. */
const main = objective("main", (p: Params<"w">) => tf.sum(tf.square(tf.sub(p.w, 1))))
const size = objective("size", (p: Params<"w">) => tf.sum(tf.square(p.w)))

const run = async (atMost: number, options: TrainOptions = {}) => {
  const warnings: Array<string> = []
  const logger = Logger.make(({ logLevel, message }) => {
    if (logLevel._tag === "Warning") warnings.push(Array.isArray(message) ? message.join(" ") : String(message))
  })
  const steps: Array<StepEvent> = []
  const outcome = await Effect.runPromise(
    Effect.either(
      train(
        {
          parameters: { w: { shape: [1], init: { kind: "zeros" } } },
          structure: sum(main, constrain(weighted(size, 2), { atMost })),
          optimizer: sgd({ learningRate: 0.1 }),
          steps: 5,
          batchSize: 1,
        },
        "primal-dual",
        { ...options, onStep: (e) => void steps.push(e) },
      ),
    ).pipe(Effect.provide(Logger.replace(Logger.defaultLogger, logger)), Logger.withMinimumLogLevel(LogLevel.Debug)),
  )
  if (Either.isRight(outcome)) tf.dispose(Object.values(outcome.right.parameters))
  return { outcome, warnings, steps }
}

describe("constraints reported", () => {
  it("the summary carries each constraint's final value, bound, whether it holds and the multiplier; a violated bound is a warning", async () => {
    const { outcome, warnings, steps } = await run(0.01)
    const result = Either.getOrThrow(outcome)
    expect(result.constraints).toHaveLength(1)
    const c = result.constraints[0]!
    expect(c.constraint).toBe("2·size")
    expect(c.atMost).toBe(0.01)
    expect(c.value).toBeCloseTo(2 * result.finalLosses.size!, 6)
    expect(c.holds).toBe(false)
    expect(c.multiplier).toBeGreaterThan(0)
    expect(warnings.some((w) => /constraint violated at the end of the run: 2·size = [\d.]+, above its bound 0\.01 \(multiplier [\d.]+\)/.test(w))).toBe(true)
    // Each step's event carries the standing on its mini-batch losses.
    expect(steps).toHaveLength(5)
    for (const e of steps) {
      expect(e.constraints).toHaveLength(1)
      expect(e.constraints![0]!.value).toBeCloseTo(2 * e.losses.size!, 6)
    }
  })

  it("a bound that holds gives no warning", async () => {
    const { outcome, warnings } = await run(10)
    const result = Either.getOrThrow(outcome)
    expect(result.constraints[0]!.holds).toBe(true)
    expect(warnings).toEqual([])
  })

  it("under strictConstraints a violated bound fails the run with ConstraintViolated", async () => {
    const { outcome } = await run(0.01, { strictConstraints: true })
    expect(Either.isLeft(outcome) && outcome.left).toMatchObject({ _tag: "ConstraintViolated" })
    expect(Either.isLeft(outcome) && outcome.left.message).toMatch(/2·size = [\d.]+, above its bound 0\.01/)
  })
})
