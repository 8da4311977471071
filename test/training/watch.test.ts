import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { tf } from "../../src/core/tf.ts"
import { objective, type Params } from "../../src/dsl/objective.ts"
import { sgd } from "../../src/dsl/spec.ts"
import { plateauStart, plateauUpdate } from "../../src/training/plateau.ts"
import { type StepEvent, train, trainPromise, type TrainOptions } from "../../src/training/train.ts"
import { useCpuBackend } from "../support/cpuBackend.ts"

useCpuBackend()

/** w starts at 0 and SGD with η = 0.1 on (w − 1)² gives w_t = 1 − 0.8^t. */
const fit = objective("fit", (p: Params<"w">) => tf.sum(tf.square(tf.sub(p.w, 1))))
/** Best near w = 0.5, i.e. at step 3 (w = 0.488); worse from step 4 on. */
const held = objective("held", (p: Params<"w">) => tf.sum(tf.square(tf.sub(p.w, 0.5))))
/** Never improves. */
const flat = objective("flat", (p: Params<"w">) => tf.add(tf.mul(0, tf.sum(p.w)), 1))

const spec = (steps: number) => ({
  parameters: { w: { shape: [1], init: { kind: "zeros" as const } } },
  structure: fit,
  optimizer: sgd({ learningRate: 0.1 }),
  steps,
  batchSize: 1,
})

const run = async (steps: number, options: TrainOptions) => {
  const before = tf.memory().numTensors
  const result = await trainPromise(spec(steps), "weighted-sum", options)
  const w = result.parameters.w.dataSync()[0]!
  tf.dispose(Object.values(result.parameters))
  expect(tf.memory().numTensors).toBe(before)
  return { result, w }
}

describe("watching a run: callbacks and history", () => {
  it("calls onStep after every step and onEvaluation after every validation, and the result holds both histories", async () => {
    const steps: Array<StepEvent> = []
    const evaluated: Array<number> = []
    const { result } = await run(6, {
      onStep: (e) => void steps.push(e),
      onEvaluation: (e) => void evaluated.push(e.step),
      validation: { objectives: [held], every: 2 },
    })
    expect(steps.map((e) => e.step)).toEqual([1, 2, 3, 4, 5, 6])
    expect(evaluated).toEqual([2, 4, 6])
    expect(result.history.steps.map((s) => s.step)).toEqual([1, 2, 3, 4, 5, 6])
    expect(result.history.steps[0]!.losses.fit).toBeCloseTo(1, 6)
    expect(result.history.evaluations.map((e) => e.step)).toEqual([2, 4, 6])
    // held after step 2: w = 0.36, (0.36 − 0.5)² = 0.0196
    expect(result.history.evaluations[0]!.values.held).toBeCloseTo(0.0196, 6)
    expect(result.interrupted).toBe(false)
  })

  it("StepEvent.elapsedMs is the time since the start (not one step's duration), stepMs the step's own", async () => {
    const steps: Array<StepEvent> = []
    await run(20, { onStep: (e) => void steps.push(e) })
    let total = 0
    for (const [i, e] of steps.entries()) {
      total += e.stepMs
      expect(e.stepMs).toBeGreaterThanOrEqual(0)
      expect(e.elapsedMs).toBeGreaterThanOrEqual(total - 1e-6)
      if (i > 0) expect(e.elapsedMs).toBeGreaterThanOrEqual(steps[i - 1]!.elapsedMs)
    }
  })

  it("a callback that throws fails the run with CallbackFailed naming it and the step", async () => {
    await expect(
      trainPromise(spec(5), "weighted-sum", {
        onStep: (e) => {
          if (e.step === 2) throw new Error("boom")
        },
      }),
    ).rejects.toMatchObject({ _tag: "CallbackFailed", callback: "onStep", step: 2 })
  })
})

describe("early stopping", () => {
  it("stops after `patience` evaluations without improvement and restores the best parameters", async () => {
    const { result, w } = await run(50, { validation: { objectives: [held], every: 1 }, earlyStopping: { patience: 2 } })
    expect(result.stopped).toEqual({ reason: "earlyStopping", step: 5 })
    expect(result.steps).toBe(5)
    expect(result.history.steps).toHaveLength(5)
    expect(result.history.evaluations.map((e) => e.monitor.improved)).toEqual([true, true, true, false, false])
    expect(result.history.evaluations[4]!.stopping).toBe(true)
    expect(result.restoredBest?.step).toBe(3)
    expect(w).toBeCloseTo(1 - 0.8 ** 3, 6)
    // The reported final loss is measured on the restored parameters.
    expect(result.finalLosses.fit).toBeCloseTo((0.8 ** 3) ** 2, 5)
    expect(result.interrupted).toBe(false)
  })

  it("is refused without validation objectives, and with a monitor that is not one of them", async () => {
    await expect(trainPromise(spec(5), "weighted-sum", { earlyStopping: { patience: 2 } })).rejects.toMatchObject({ _tag: "InvalidTrainingOptions" })
    await expect(trainPromise(spec(5), "weighted-sum", { validation: { objectives: [held], monitor: "nope" } })).rejects.toThrow(/'nope' is not one of the validation objectives \('held'\)/)
  })
})

describe("stopping a run from outside", () => {
  it("an AbortSignal aborted in a callback ends the run after that step, with its state and a result marked interrupted", async () => {
    const controller = new AbortController()
    const { result, w } = await run(10, { signal: controller.signal, onStep: (e) => (e.step === 4 ? controller.abort() : undefined) })
    expect(result.interrupted).toBe(true)
    expect(result.stopped).toEqual({ reason: "aborted", step: 4 })
    expect(result.steps).toBe(4)
    expect(result.history.steps).toHaveLength(4)
    expect(w).toBeCloseTo(1 - 0.8 ** 4, 6)
  })

  it("an abort from a timer reaches a long run (the loop yields to the event loop), in the Effect API too", async () => {
    const controller = new AbortController()
    setTimeout(() => controller.abort(), 30)
    const result = await Effect.runPromise(train(spec(10_000_000), "weighted-sum", { signal: controller.signal }))
    tf.dispose(Object.values(result.parameters))
    expect(result.interrupted).toBe(true)
    expect(result.steps).toBeLessThan(10_000_000)
    expect(result.steps).toBe(result.history.steps.length)
  })

  it("an already aborted signal runs no step and returns the starting parameters", async () => {
    const { result, w } = await run(10, { signal: AbortSignal.abort() })
    expect(result.steps).toBe(0)
    expect(result.interrupted).toBe(true)
    expect(w).toBe(0)
  })
})

describe("reduce on plateau (Keras ReduceLROnPlateau)", () => {
  it("follows the hand-computed sequence of factors (patience 2, factor 0.5, cool-down 1, floor 0.2)", () => {
    const settings = { factor: 0.5, patience: 2, minDelta: 0, cooldown: 1, minLearningRate: 0.2 }
    const values = [1.0, 0.9, 0.95, 0.92, 0.91, 0.93, 0.94, 0.95, 0.96, 0.97, 0.98, 0.99, 1.0]
    let state = plateauStart
    const factors: Array<number> = []
    for (const v of values) {
      state = plateauUpdate(settings, state, v, 1)
      factors.push(state.factor)
    }
    expect(factors).toEqual([1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.2, 0.2, 0.2, 0.2])
  })

  it("in a run, the reduced factor scales the steps after the evaluation that reduced it", async () => {
    const { result, w } = await run(3, { validation: { objectives: [flat], every: 1 }, reduceOnPlateau: { factor: 0.5, patience: 1 } })
    expect(result.history.evaluations.map((e) => e.learningRateFactor)).toEqual([1, 0.5, 0.25])
    // w1 = 0.2, w2 = 0.36 (factor 1), w3 = 0.36 + 0.5·0.1·2·0.64 = 0.424
    expect(w).toBeCloseTo(0.424, 6)
    expect(result.learningRateFactor).toBe(0.25)
  })
})
