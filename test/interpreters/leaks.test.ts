/**
 * Leak test: every built-in interpreter (and a chain) lowered and stepped several times, the way the
 * training loop does it (each step inside tf.tidy, replaced state tensors disposed), leaves the
 * number of live tensors unchanged; and a full training run with a constrained rule does too.
 */
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { layoutOf } from "../../src/core/paramVector.ts"
import { tf, tidy, type Tensor1D } from "../../src/core/tf.ts"
import { objective } from "../../src/dsl/objective.ts"
import { makeSpec, sgd } from "../../src/dsl/spec.ts"
import { constrain, hierarchy, sum } from "../../src/dsl/structure.ts"
import { builtinInterpreters } from "../../src/interpreters/builtins.ts"
import { chain } from "../../src/interpreters/chain.ts"
import type { Interpreter, RuleState } from "../../src/interpreters/interpreter.ts"
import { clipByGlobalNorm, normalize } from "../../src/interpreters/transforms.ts"
import { bloop } from "../../src/interpreters/bloop.ts"
import { train } from "../../src/training/train.ts"
import { disposeReplaced } from "../../src/training/tensors.ts"
import { builtinOptionsFor } from "../support/builtinOptions.ts"
import { useCpuBackend } from "../support/cpuBackend.ts"

useCpuBackend()

const unused = (name: string) => objective(name, () => { throw new Error("unused") })
const a = unused("a")
const b = unused("b")
const c = unused("c")

const structureFor = (name: string) =>
  name === "primal-dual" || name === "dynamic-barrier" ? sum(a, constrain(b, { atMost: 0.1 })) : hierarchy([a, { of: b, lambda: 0.5 }, { of: c, lambda: 0.25 }])

const stepMany = (interpreter: Interpreter<any>, options: unknown, structure = structureFor(interpreter.name)) => {
  const rule = Effect.runSync(Effect.flatMap(interpreter.decodeOptions(options), (o) => interpreter.lower(structure, o, { seed: 0 })))
  const layout = layoutOf({ u: { shape: [2, 3] }, v: { shape: [4] } })
  const before = tf.memory().numTensors
  let state: RuleState = rule.init(layout)
  for (let t = 0; t < 4; t++) {
    const gradients: Record<string, Tensor1D> = Object.fromEntries(rule.objectives.map((o, i) => [o, tf.randomNormal([layout.size], 0, 1, "float32", 10 * t + i) as Tensor1D]))
    const losses = Object.fromEntries(rule.objectives.map((o) => [o, 0.5]))
    const [direction, next] = tidy(() => rule.step(gradients, state, losses))
    tf.dispose([direction, ...Object.values(gradients)])
    disposeReplaced(state, next)
    state = next
  }
  disposeReplaced(state, undefined)
  return tf.memory().numTensors - before
}

describe("leak-freedom", () => {
  for (const [name, interpreter] of builtinInterpreters) {
    it(`${name}: four steps leave no tensor behind`, () => expect(stepMany(interpreter, builtinOptionsFor(name))).toBe(0))
  }
  it("per-block Bloop and PCGrad leave no tensor behind", () => {
    expect(stepMany(bloop, { perBlock: true })).toBe(0)
    expect(stepMany(builtinInterpreters.get("pcgrad")!, { perBlock: true })).toBe(0)
  })
  it("the dynamic barrier's priority form leaves no tensor behind", () =>
    expect(stepMany(builtinInterpreters.get("dynamic-barrier")!, {}, hierarchy([a, { of: b, lambda: 0.5 }]))).toBe(0))
  it("a chain with transforms before and after leaves no tensor behind", () => expect(stepMany(chain(normalize, bloop, clipByGlobalNorm(1)), {})).toBe(0))

  it("a training run with primal–dual constraints releases everything", async () => {
    const target = tf.tensor1d([2, 1])
    const f = objective("f", (p) => tf.mul(0.5, tf.sum(tf.square(tf.sub(p.w!, target)))))
    const q = objective("q", (p) => tf.mul(0.5, tf.sum(tf.square(p.w!))))
    const before = tf.memory().numTensors
    const result = await Effect.runPromise(
      Effect.gen(function* () {
        const structure = sum(f, constrain(q, { atMost: 0.5 }))
        const spec = yield* makeSpec({ parameters: { w: { shape: [2], init: { kind: "zeros" } } }, structure, optimizer: sgd({ learningRate: 0.05 }), steps: 20, batchSize: 1 })
        const interpreter = builtinInterpreters.get("primal-dual")!
        const rule = yield* interpreter.lower(structure, yield* interpreter.decodeOptions({}), { seed: 0 })
        return yield* train(spec, rule)
      }),
    )
    // Exactly the returned parameter is alive (the caller owns it); nothing else.
    expect(tf.memory().numTensors - before).toBe(1)
    expect(result.parameters.w!.isDisposed).toBe(false)
    result.parameters.w!.dispose()
    expect(tf.memory().numTensors - before).toBe(0)
    target.dispose()
  })
})
