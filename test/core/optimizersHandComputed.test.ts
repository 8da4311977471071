/**
 * The optimizers added after SGD, momentum and Adam, each checked against an update computed by
 * hand (the numbers are written out below, not computed by the code under test), two or three
 * steps, with state carried across the steps.
 */
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { applyStep, decoupledDecayAt, makeOptimizer, type OptimizerSettings, type OptimizerState, scheduleFactor } from "../../src/core/optimizers.ts"
import { layoutOf } from "../../src/core/paramVector.ts"
import { tf, type Tensor1D } from "../../src/core/tf.ts"
import { objective } from "../../src/dsl/objective.ts"
import { adamw, nesterov, rmsprop, sgd } from "../../src/dsl/spec.ts"
import { method } from "../../src/interpreters/method.ts"
import { train } from "../../src/training/train.ts"
import { useCpuBackend } from "../support/cpuBackend.ts"

useCpuBackend()

/** The steps Δₜ an optimizer takes for directions `ds` from a fresh state (all tensors released). */
const deltas = (settings: OptimizerSettings, ds: ReadonlyArray<ReadonlyArray<number>>): Array<Array<number>> => {
  const optimizer = makeOptimizer(settings)
  let state: OptimizerState = optimizer.init(layoutOf({ w: { shape: [ds[0]!.length] } }))
  const out = ds.map((d) => {
    const direction = tf.tensor1d([...d])
    const [delta, next] = optimizer.update(direction, state)
    tf.dispose([direction, ...Object.values(state.slots)])
    state = next
    const values = Array.from(delta.dataSync())
    delta.dispose()
    return values
  })
  tf.dispose(Object.values(state.slots))
  return out
}

const expectClose = (actual: ReadonlyArray<ReadonlyArray<number>>, expected: ReadonlyArray<ReadonlyArray<number>>) => {
  expect(actual.length).toBe(expected.length)
  actual.forEach((row, t) => row.forEach((x, i) => expect(Math.abs(x - expected[t]![i]!), `step ${t + 1}, entry ${i}: ${x} vs ${expected[t]![i]}`).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(expected[t]![i]!)))))
}

describe("Nesterov momentum (Sutskever et al. 2013 as PyTorch / Optax: m ← μm + d, Δ = η(d + μm))", () => {
  it("μ = 0.5, η = 0.1, three steps", () => {
    // m₁ = [1, −2], Δ₁ = 0.1·([1, −2] + 0.5·[1, −2]) = [0.15, −0.3]
    // m₂ = 0.5·[1, −2] + [3, 0] = [3.5, −1], Δ₂ = 0.1·([3, 0] + [1.75, −0.5]) = [0.475, −0.05]
    // m₃ = 0.5·[3.5, −1] + [0, 1] = [1.75, 0.5], Δ₃ = 0.1·([0, 1] + [0.875, 0.25]) = [0.0875, 0.125]
    expectClose(deltas(nesterov({ learningRate: 0.1, momentum: 0.5 }), [[1, -2], [3, 0], [0, 1]]), [[0.15, -0.3], [0.475, -0.05], [0.0875, 0.125]])
  })
})

describe("RMSprop (Hinton's lecture 6e, as tf.train.rmsprop: v ← ρv + (1−ρ)d², Δ = ηd/√(v + ε))", () => {
  it("ρ = 0.75, η = 0.1, ε = 1e-12, three steps", () => {
    // v₁ = 0.25·[1, 4] = [0.25, 1], Δ₁ = 0.1·[1/0.5, −2/1] = [0.2, −0.2]
    // v₂ = 0.75·[0.25, 1] + 0.25·[0.25, 1] = [0.25, 1], Δ₂ = 0.1·[0.5/0.5, 1/1] = [0.1, 0.1]
    // v₃ = 0.75·[0.25, 1] + 0.25·[1, 0] = [0.4375, 0.75], Δ₃ = 0.1·[−1/√0.4375, 0] = [−0.15118579, 0]
    expectClose(deltas(rmsprop({ learningRate: 0.1, decay: 0.75, epsilon: 1e-12 }), [[1, -2], [0.5, 1], [-1, 0]]), [[0.2, -0.2], [0.1, 0.1], [-0.15118579, 0]])
  })

  it("defaults are tf.train.rmsprop's: ρ = 0.9, ε = 1e-7", () => {
    expect(rmsprop({ learningRate: 0.01 })).toEqual({ kind: "rmsprop", learningRate: 0.01, decay: 0.9, epsilon: 1e-7 })
  })
})

describe("AdamW (Loshchilov & Hutter 2019, decay scaled by η as PyTorch / Optax: θ ← (1 − ηλ)θ − η·m̂/(√v̂ + ε))", () => {
  // β₁ = β₂ = 0.5, η = 0.1, λ = 0.5, ε = 1e-8, θ₀ = [1, −2], d = [2, 3] twice:
  // m₁ = [1, 1.5], v₁ = [2, 4.5], m̂₁ = [2, 3], v̂₁ = [4, 9], Δ₁ = 0.1·[1, 1]; θ₁ = 0.95·[1, −2] − [0.1, 0.1] = [0.85, −2]
  // m₂ = [1.5, 2.25], v₂ = [3, 6.75], m̂₂ = m₂/0.75 = [2, 3], v̂₂ = v₂/0.75 = [4, 9], Δ₂ = [0.1, 0.1]
  // θ₂ = 0.95·[0.85, −2] − [0.1, 0.1] = [0.7075, −2]
  const settings = adamw({ learningRate: 0.1, beta1: 0.5, beta2: 0.5, weightDecay: 0.5 })
  const expected = [[0.85, -2], [0.7075, -2]]

  it("optimizer and applyStep, two steps", () => {
    const optimizer = makeOptimizer(settings)
    const layout = layoutOf({ w: { shape: [2] } })
    const w = tf.variable(tf.tensor1d([1, -2]))
    let state = optimizer.init(layout)
    const thetas: Array<Array<number>> = []
    const d = tf.tensor1d([2, 3]) as Tensor1D
    for (let t = 0; t < 2; t++) {
      const [delta, next] = optimizer.update(d, state)
      expect(decoupledDecayAt(optimizer, next)).toBeCloseTo(0.05, 12)
      expect(applyStep(layout, { w }, delta)).toBeUndefined() // (no decay passed: checked below)
      tf.dispose([delta, ...Object.values(state.slots)])
      state = next
    }
    // Without the decay, applyStep is Adam: θ₂ = θ₀ − 0.2 = [0.8, −2.2].
    expectClose([Array.from(w.dataSync())], [[0.8, -2.2]])
    w.assign(tf.tensor1d([1, -2]))
    tf.dispose(Object.values(state.slots))
    state = optimizer.init(layout)
    for (let t = 0; t < 2; t++) {
      const [delta, next] = optimizer.update(d, state)
      expect(applyStep(layout, { w }, delta, decoupledDecayAt(optimizer, next))).toBeUndefined()
      thetas.push(Array.from(w.dataSync()))
      tf.dispose([delta, ...Object.values(state.slots)])
      state = next
    }
    expectClose(thetas, expected)
    tf.dispose([w, d, ...Object.values(state.slots)])
  })

  it("the training loop applies the decay: a linear loss ⟨[2, 3], w⟩ from w = [1, −2] ends at [0.7075, −2] after two steps", async () => {
    const c = tf.tensor1d([2, 3])
    const lin = objective("lin", (p) => tf.sum(tf.mul(c, p.w!)))
    const result = await Effect.runPromise(
      train({ parameters: { w: { shape: [2], init: { kind: "values", values: [1, -2] } } }, structure: lin, optimizer: settings, steps: 2, batchSize: 1 }, method("weighted-sum", {}), { zeroGradient: "ignore" }),
    )
    expectClose([Array.from(result.parameters.w.dataSync())], [expected[1]!])
    tf.dispose([c, ...Object.values(result.parameters)])
  })
})

describe("step decay: s(t) = γ^⌊(t − 1)/stepSize⌋", () => {
  it("stepSize 2, γ = 0.1: updates 1..5 use 1, 1, 0.1, 0.1, 0.01 of the rate; SGD's steps follow", () => {
    const schedule = { kind: "step", stepSize: 2, gamma: 0.1 } as const
    expect([1, 2, 3, 4, 5].map((t) => scheduleFactor(schedule, t))).toEqual([1, 1, 0.1 ** 1, 0.1 ** 1, 0.1 ** 2])
    expectClose(deltas(sgd({ learningRate: 2, schedule }), [[1], [1], [1], [1], [1]]), [[2], [2], [0.2], [0.2], [0.02]])
  })
})
