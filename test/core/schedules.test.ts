/**
 * Learning-rate schedules (core/optimizers.ts): the multiplier s(t) of each kind, its use by the
 * optimizers (η_t = η·s(t) at update t), and decoding from spec documents.
 */
import fc from "fast-check"
import { Either } from "effect"
import { describe, expect, it } from "vitest"
import { type LearningRateSchedule, makeOptimizer, scheduleFactor, disposeOptimizerState } from "../../src/core/optimizers.ts"
import { layoutOf } from "../../src/core/paramVector.ts"
import { tf, type Tensor1D } from "../../src/core/tf.ts"
import { decodeSpecDocument } from "../../src/dsl/json.ts"
import { makeSpec, sgd } from "../../src/dsl/spec.ts"
import { objective } from "../../src/dsl/objective.ts"
import { useCpuBackend } from "../support/cpuBackend.ts"

useCpuBackend()

const cosine = (decaySteps: number, warmupSteps: number, alpha: number): LearningRateSchedule => ({ kind: "cosine", decaySteps, warmupSteps, alpha })

describe("learning-rate schedules", () => {
  it("constant and no schedule: s(t) = 1", () => {
    for (const t of [1, 2, 1000]) {
      expect(scheduleFactor(undefined, t)).toBe(1)
      expect(scheduleFactor({ kind: "constant" }, t)).toBe(1)
    }
  })

  it("warm-up: s(t) = t/w up to w, then 1", () => {
    const s = { kind: "warmup", warmupSteps: 4 } as const
    expect([1, 2, 3, 4, 5, 100].map((t) => scheduleFactor(s, t))).toEqual([0.25, 0.5, 0.75, 1, 1, 1])
  })

  it("cosine: rises linearly to 1 at the end of the warm-up, falls monotonically to α at decaySteps, stays at α", () =>
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 50 }), fc.integer({ min: 1, max: 500 }), fc.double({ min: 0, max: 1, noNaN: true }), (w, extra, alpha) => {
        const decay = w + extra
        const s = cosine(decay, w, alpha)
        if (w > 0) expect(scheduleFactor(s, w)).toBeCloseTo(1, 12)
        expect(scheduleFactor(s, decay)).toBeCloseTo(alpha, 12)
        expect(scheduleFactor(s, decay + 7)).toBeCloseTo(alpha, 12)
        for (let t = Math.max(w, 1) + 1; t <= decay; t++) {
          expect(scheduleFactor(s, t)).toBeLessThanOrEqual(scheduleFactor(s, t - 1) + 1e-12)
        }
        // Half-way through the decay, the cosine is at the midpoint of 1 and α.
        if (extra % 2 === 0) expect(scheduleFactor(s, w + extra / 2)).toBeCloseTo((1 + alpha) / 2, 12)
      }),
    ))

  it("SGD's step at update t is η·s(t)·d", () => {
    const schedule = cosine(10, 3, 0.1)
    const optimizer = makeOptimizer({ kind: "sgd", learningRate: 0.5, schedule })
    let state = optimizer.init(layoutOf({ w: { shape: [2] } }))
    for (let t = 1; t <= 12; t++) {
      const d = tf.tensor1d([1, -2]) as Tensor1D
      const [delta, next] = optimizer.update(d, state)
      const values = [...delta.dataSync()]
      expect(values[0]).toBeCloseTo(0.5 * scheduleFactor(schedule, t), 6)
      expect(values[1]).toBeCloseTo(-1 * scheduleFactor(schedule, t), 6)
      tf.dispose([d, delta])
      disposeOptimizerState(state)
      state = next
    }
  })

  it("Adam's step scales with s(t): same moments, step multiplied by the factor", () => {
    const plain = makeOptimizer({ kind: "adam", learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 })
    const warm = makeOptimizer({ kind: "adam", learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, schedule: { kind: "warmup", warmupSteps: 4 } })
    const layout = layoutOf({ w: { shape: [3] } })
    let a = plain.init(layout)
    let b = warm.init(layout)
    for (let t = 1; t <= 6; t++) {
      const d = tf.tensor1d([t, -1, 0.5]) as Tensor1D
      const [da, na] = plain.update(d, a)
      const [db, nb] = warm.update(d, b)
      const x = [...da.dataSync()]
      const y = [...db.dataSync()]
      x.forEach((v, i) => expect(y[i]).toBeCloseTo(v * Math.min(1, t / 4), 7))
      tf.dispose([d, da, db])
      disposeOptimizerState(a)
      disposeOptimizerState(b)
      a = na
      b = nb
    }
  })

  it("decodes from a spec document, filling warmupSteps 0 and alpha 0 for cosine", () => {
    const base = { problem: { name: "least-squares" }, structure: "fit", steps: 10, batchSize: 4 }
    const decoded = decodeSpecDocument({ ...base, optimizer: { kind: "adam", learningRate: 0.001, schedule: { kind: "cosine", decaySteps: 100 } } })
    expect(Either.isRight(decoded) && decoded.right.optimizer.schedule).toEqual({ kind: "cosine", decaySteps: 100, warmupSteps: 0, alpha: 0 })
    const plain = decodeSpecDocument({ ...base, optimizer: { kind: "sgd", learningRate: 0.1 } })
    expect(Either.isRight(plain) && plain.right.optimizer.schedule).toBeUndefined()
  })

  it("refuses bad schedules with the path of the field", () => {
    const base = { problem: { name: "least-squares" }, structure: "fit", steps: 10, batchSize: 4 }
    const cases: ReadonlyArray<readonly [unknown, string]> = [
      [{ kind: "cosine", decaySteps: 10, warmupSteps: 10 }, "optimizer.schedule.warmupSteps"],
      [{ kind: "cosine", decaySteps: 10, alpha: 2 }, "optimizer.schedule.alpha"],
      [{ kind: "warmup", warmupSteps: 0 }, "optimizer.schedule.warmupSteps"],
      [{ kind: "linear" }, "optimizer.schedule"],
    ]
    for (const [schedule, path] of cases) {
      const decoded = decodeSpecDocument({ ...base, optimizer: { kind: "sgd", learningRate: 0.1, schedule } })
      expect(Either.isLeft(decoded), JSON.stringify(schedule)).toBe(true)
      if (Either.isLeft(decoded)) expect(decoded.left.path).toContain(path)
    }
    const spec = makeSpec({
      parameters: { w: { shape: [1], init: { kind: "zeros" } } },
      structure: objective("f", (p) => tf.sum(p.w!)),
      optimizer: sgd({ learningRate: 0.1, schedule: cosine(5, 5, 0) }),
      steps: 1,
      batchSize: 1,
    })
    expect(Either.isLeft(spec) && spec.left.path).toBe("optimizer.schedule.warmupSteps")
  })
})
