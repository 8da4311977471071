/**
 * Shared parameters (TorchJD's `mtl_backward`, LibMTL): a multi-task rule aggregates the tasks'
 * gradients on the shared trunk only, and each head steps on its own task's gradient.
 */
import { Effect, Either } from "effect"
import { describe, expect, it } from "vitest"
import { layoutOf } from "../../src/core/paramVector.ts"
import { tf, type Tensor, type Tensor1D } from "../../src/core/tf.ts"
import { fromModel } from "../../src/dsl/model.ts"
import { objective } from "../../src/dsl/objective.ts"
import { layerParameters, mergeSharing, parametersNamed, parametersWithPrefix, partitionParameters, taskSpecific } from "../../src/dsl/sharing.ts"
import { sgd } from "../../src/dsl/spec.ts"
import { prioritize, sum } from "../../src/dsl/structure.ts"
import type { Interpreter } from "../../src/interpreters/interpreter.ts"
import { method } from "../../src/interpreters/method.ts"
import { bloop } from "../../src/interpreters/bloop.ts"
import { mgda } from "../../src/interpreters/mgda.ts"
import { nashMtl } from "../../src/interpreters/nashMtl.ts"
import { pcgrad } from "../../src/interpreters/pcgrad.ts"
import { upgrad } from "../../src/interpreters/upgrad.ts"
import { builtinInterpreters } from "../../src/interpreters/builtins.ts"
import { lookup } from "../../src/interpreters/registry.ts"
import { interpreterWithSharing, withSharedParameters } from "../../src/interpreters/sharedParameters.ts"
import { resolveSpecValue } from "../../src/problems/resolveSpec.ts"
import { decodeSpecDocument } from "../../src/dsl/json.ts"
import { documentForJob } from "../../src/experiments/sweep.ts"
import { releaseParameters, train } from "../../src/training/train.ts"
import { useCpuBackend } from "../support/cpuBackend.ts"

useCpuBackend()

const values = (t: Tensor): Array<number> => Array.from(t.dataSync())

/** A shared trunk 3 → 4 (relu) and two heads 4 → 2, as a tfjs-layers functional model. */
const twoHeadModel = () => {
  const input = tf.input({ shape: [3] })
  const trunk = tf.layers.dense({ name: "trunk", units: 4, activation: "relu", kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }), biasInitializer: "ones" }).apply(input) as tf.SymbolicTensor
  const headA = tf.layers.dense({ name: "headA", units: 2, kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }).apply(trunk) as tf.SymbolicTensor
  const headB = tf.layers.dense({ name: "headB", units: 2, kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }).apply(trunk) as tf.SymbolicTensor
  const model = tf.model({ inputs: input, outputs: [headA, headB] })
  const x = tf.randomNormal([16, 3], 0, 1, "float32", 5)
  const ya = tf.randomNormal([16, 2], 0, 1, "float32", 6)
  const yb = tf.randomNormal([16, 2], 0, 1, "float32", 7)
  const lossOf = (head: 0 | 1) => () => tf.tidy(() => tf.losses.meanSquaredError(head === 0 ? ya : yb, (model.apply(x) as Array<Tensor>)[head]!) as tf.Scalar)
  const a = objective("a", lossOf(0))
  const b = objective("b", lossOf(1))
  return { model, a, b, dispose: () => (model.dispose(), tf.dispose([x, ya, yb])) }
}

describe("a shared trunk with two heads", () => {
  for (const [label, rule] of [["MGDA", mgda], ["UPGrad", upgrad], ["Nash-MTL", nashMtl]] as const) {
    it(`${label} aggregates the trunk only; each head takes its own task's gradient step θ − η·g, bit for bit`, async () => {
      const { model, a, b, dispose } = twoHeadModel()
      const sharing = mergeSharing(taskSpecific({ a: Either.getOrThrow(layerParameters(model, "headA")) }), taskSpecific({ b: Either.getOrThrow(layerParameters(model, "headB")) }))
      const parameters = fromModel(model)
      const learningRate = 0.1
      // Each head's own task gradient at the start, and the start values.
      const weightOf = (name: string) => model.trainableWeights.find((w) => w.originalName === name)!.read() as tf.Variable
      const heads = { a: ["headA/kernel", "headA/bias"], b: ["headB/kernel", "headB/bias"] } as const
      const expected = new Map<string, Array<number>>()
      for (const [task, names] of Object.entries(heads)) {
        const loss = task === "a" ? a : b
        const { grads } = tf.variableGrads(() => loss.loss({}, undefined) as tf.Scalar, names.map(weightOf))
        for (const n of names) expected.set(n, values(tf.tidy(() => tf.sub(weightOf(n), tf.mul(learningRate, grads[weightOf(n).name]!)))))
        tf.dispose(Object.values(grads))
      }
      const trunkBefore = values(weightOf("trunk/kernel"))
      const result = await Effect.runPromise(
        train({ parameters, structure: sum(a, b), optimizer: sgd({ learningRate }), steps: 1, batchSize: 1, seed: 1 }, method(withSharedParameters(rule as Interpreter<any>, sharing))),
      )
      for (const [n, want] of expected) {
        const got = values(weightOf(n))
        expect(got).toEqual(want)
      }
      expect(values(weightOf("trunk/kernel"))).not.toEqual(trunkBefore)
      expect(result.rule).toBe(`${rule.name}+shared`)
      dispose()
    })
  }

  it("a sharing that does not fit the model fails train with a typed SpecError (not a defect), and leaks nothing", async () => {
    const { model, a, b, dispose } = twoHeadModel()
    const before = tf.memory().numTensors
    const sharing = taskSpecific({ a: parametersWithPrefix("head_A/") })
    const outcome = await Effect.runPromise(
      Effect.either(train({ parameters: fromModel(model), structure: sum(a, b), optimizer: sgd({ learningRate: 0.1 }), steps: 1, batchSize: 1, seed: 1 }, method(withSharedParameters(mgda, sharing)))),
    )
    expect(Either.isLeft(outcome) && outcome.left._tag).toBe("SpecError")
    expect(Either.isLeft(outcome) && outcome.left.message).toMatch(/prefix 'head_A\/'.*none of the parameters/)
    expect(tf.memory().numTensors).toBe(before)
    dispose()
  })

  it("trains over several steps: both losses fall under MGDA on the trunk", async () => {
    const { model, a, b, dispose } = twoHeadModel()
    const sharing = taskSpecific({ a: parametersWithPrefix("headA/"), b: parametersWithPrefix("headB/") })
    const before = [a.loss({}, undefined).dataSync()[0]!, b.loss({}, undefined).dataSync()[0]!]
    await Effect.runPromise(train({ parameters: fromModel(model), structure: sum(a, b), optimizer: sgd({ learningRate: 0.05 }), steps: 30, batchSize: 1, seed: 1 }, method(withSharedParameters(mgda, sharing))))
    const after = [a.loss({}, undefined).dataSync()[0]!, b.loss({}, undefined).dataSync()[0]!]
    expect(after[0]!).toBeLessThan(before[0]!)
    expect(after[1]!).toBeLessThan(before[1]!)
    dispose()
  })
})

describe("withSharedParameters at the rule level", () => {
  // trunk (4 entries, two variables), head a (2), head b (2); each task's gradient is zero on the other's head.
  const layout = layoutOf({ "trunk.w": { shape: [3] }, "trunk.b": { shape: [1] }, "a.w": { shape: [2] }, "b.w": { shape: [2] } })
  // layout order: a.w, b.w, trunk.b, trunk.w
  const ga = [3, -1, 0, 0, 0.5, 1, -2, 0.25]
  const gb = [0, 0, 7, 2, -1, 0.5, 1, 2]
  const trunkOf = (g: ReadonlyArray<number>) => g.slice(4)
  const lower = (rule: Interpreter<any>, options: unknown) =>
    Effect.runSync(Effect.flatMap(rule.decodeOptions(options), (o) => rule.lower(sum(objective("a", () => tf.scalar(0)), objective("b", () => tf.scalar(0))), o, { seed: 1 })))

  for (const [label, rule] of [["MGDA", mgda], ["UPGrad", upgrad], ["Nash-MTL", nashMtl], ["PCGrad", pcgrad]] as const) {
    it(`${label}: the trunk is the rule on the trunk's gradients, bit for bit; each head is its own task's gradient, bit for bit`, () => {
      const sharing = taskSpecific({ a: parametersNamed("a.w"), b: parametersNamed("b.w") })
      const wrapped = lower(withSharedParameters(rule as Interpreter<any>, sharing), {})
      const plain = lower(rule as Interpreter<any>, {})
      const trunkLayout = layoutOf({ "trunk.w": { shape: [3] }, "trunk.b": { shape: [1] } })
      const [d, state] = wrapped.step({ a: tf.tensor1d(ga), b: tf.tensor1d(gb) }, wrapped.init(layout))
      const [dTrunk] = plain.step({ a: tf.tensor1d(trunkOf(ga)), b: tf.tensor1d(trunkOf(gb)) }, plain.init(trunkLayout))
      const [dWhole] = plain.step({ a: tf.tensor1d(ga), b: tf.tensor1d(gb) }, plain.init(layout))
      const got = values(d)
      expect(got.slice(0, 2)).toEqual(ga.slice(0, 2))
      expect(got.slice(2, 4)).toEqual(gb.slice(2, 4))
      expect(got.slice(4)).toEqual(values(dTrunk))
      // With the heads inside the aggregated vector the trunk's direction is another one.
      expect(values(dWhole).slice(4)).not.toEqual(got.slice(4))
      tf.dispose([d, dTrunk, dWhole])
      expect(state).toHaveProperty("inner")
    })
  }

  it("the wrapped rule's start is the shared parameters only (Bloop emaInit parameters: its EMA is the trunk of θ₀)", () => {
    const sharing = taskSpecific({ a: parametersNamed("a.w"), b: parametersNamed("b.w") })
    const structure = prioritize(objective("a", () => tf.scalar(0)), objective("b", () => tf.scalar(0)), { lambda: 1 })
    const rule = Effect.runSync(Effect.flatMap(bloop.decodeOptions({ emaInit: "parameters" }), (o) => withSharedParameters(bloop, sharing).lower(structure, o, { seed: 1 })))
    const theta = [10, 11, 12, 13, 1, 2, 3, 4] // a.w, b.w, trunk.b, trunk.w
    const state = rule.init(layout, { parameters: () => tf.tensor1d(theta) }) as unknown as { inner: { emas: ReadonlyArray<Tensor1D> } }
    expect(values(state.inner.emas[0]!)).toEqual(theta.slice(4))
    tf.dispose(state.inner.emas as Array<Tensor1D>)
  })

  it("a task's weight scales its head's own gradient", () => {
    const sharing = taskSpecific({ a: parametersNamed("a.w") })
    const structure = sum(objective("a", () => tf.scalar(0)), { _tag: "Weighted" as const, of: objective("b", () => tf.scalar(0)), weight: 2 })
    const rule = Effect.runSync(withSharedParameters(mgda, sharing).lower(structure, {}, { seed: 1 }))
    const [d] = rule.step({ a: tf.tensor1d(ga), b: tf.tensor1d(gb) }, rule.init(layout))
    expect(values(d).slice(0, 2)).toEqual(ga.slice(0, 2))
    d.dispose()
  })

  it("refuses a sharing that names an objective that is not a task, and one whose selector selects nothing", () => {
    const structure = sum(objective("a", () => tf.scalar(0)), objective("b", () => tf.scalar(0)))
    const wrong = Effect.runSync(Effect.either(withSharedParameters(mgda, taskSpecific({ c: parametersNamed("a.w") })).lower(structure, {}, { seed: 1 })))
    expect(Either.isLeft(wrong) && wrong.left.message).toMatch(/'c' is not a task/)
    const rule = Effect.runSync(withSharedParameters(mgda, taskSpecific({ a: parametersWithPrefix("head.") })).lower(structure, {}, { seed: 1 }))
    expect(() => rule.init(layout)).toThrow(/prefix 'head\.'.*none of the parameters/)
  })

  it("partitionParameters refuses a parameter claimed by two tasks and a declaration that shares nothing", () => {
    const names = ["a.w", "b.w", "trunk.w"]
    const twice = partitionParameters(taskSpecific({ a: parametersNamed("a.w"), b: parametersWithPrefix("a.") }), names)
    expect(Either.isLeft(twice) && twice.left.message).toMatch(/'a\.w' is declared specific to both 'a' and 'b'/)
    const none = partitionParameters(taskSpecific({ a: parametersWithPrefix("a."), b: parametersNamed("b.w", "trunk.w") }), names)
    expect(Either.isLeft(none) && none.left.message).toMatch(/nothing is shared/)
    expect(Either.getOrThrow(partitionParameters(taskSpecific({ a: parametersWithPrefix("a.") }), names))).toEqual({ shared: ["b.w", "trunk.w"], taskSpecific: { a: ["a.w"] } })
  })

  it("keeps no tensor alive beyond its direction", () => {
    const rule = lower(withSharedParameters(upgrad, taskSpecific({ a: parametersNamed("a.w"), b: parametersNamed("b.w") })), {})
    const gradients = { a: tf.tensor1d(ga), b: tf.tensor1d(gb) }
    const state = rule.init(layout)
    const before = tf.memory().numTensors
    const [d] = rule.step(gradients, state)
    expect(tf.memory().numTensors).toBe(before + 1)
    tf.dispose([d, gradients.a, gradients.b] as Array<Tensor1D>)
  })
})

describe("a spec document's method with sharedParameters", () => {
  const documentFor = (problem: unknown, method: unknown) => ({
    problem,
    structure: { kind: "sum", terms: ["digit", "overlay"] },
    method,
    optimizer: { kind: "sgd", learningRate: 0.1 },
    steps: 3,
    batchSize: 16,
    seed: 4,
  })
  const glyphs = { name: "glyph-multitask", options: { trainSize: 64, testSize: 32, trunk: 8 } }

  it("wraps the method with the problem's own sharing: glyph-multitask trains with UPGrad on the trunk only", async () => {
    const resolved = Effect.runSync(resolveSpecValue(documentFor(glyphs, { name: "upgrad", sharedParameters: true })))
    const interpreter = Effect.runSync(
      Effect.flatMap(lookup(builtinInterpreters, resolved.method.name), (found) => interpreterWithSharing(found, resolved.method.sharedParameters, resolved.problem.sharing, resolved.problem.name)),
    )
    expect(interpreter.name).toBe("upgrad+shared")
    const summary = releaseParameters(resolved.spec, await Effect.runPromise(train(resolved.spec, method(interpreter))))
    expect(summary.rule).toBe("upgrad+shared")
    resolved.problem.dispose()
  })

  it("an experiment's sweep gives the document method's sharedParameters to every method of the grid", () => {
    const sweepable = (m: unknown) => ({ ...documentFor({ name: "glyph-multitask" }, m), structure: { kind: "prioritize", main: "digit", aux: "overlay", lambda: 1 } })
    const document = Effect.runSync(decodeSpecDocument(sweepable({ name: "bloop", sharedParameters: true })))
    const job = Either.getOrThrow(documentForJob(document, { method: "pcgrad", lambda: 1, seed: 2 }))
    expect(job.method).toEqual({ name: "pcgrad", options: {}, sharedParameters: true })
    const plain = Effect.runSync(decodeSpecDocument(sweepable({ name: "bloop" })))
    expect(Either.getOrThrow(documentForJob(plain, { method: "pcgrad", lambda: 1, seed: 2 })).method).toEqual({ name: "pcgrad", options: {} })
  })

  it("is refused for a problem that declares no heads, and must be a boolean", () => {
    const resolved = Effect.runSync(
      resolveSpecValue({ ...documentFor({ name: "iris-weight-norm" }, { name: "mgda", sharedParameters: true }), structure: { kind: "sum", terms: ["cross-entropy", "weight-norm"] } }),
    )
    const outcome = Effect.runSync(Effect.either(interpreterWithSharing(mgda, resolved.method.sharedParameters, resolved.problem.sharing, resolved.problem.name)))
    expect(Either.isLeft(outcome) && outcome.left.message).toMatch(/problem 'iris-weight-norm' declares no task-specific parameters/)
    resolved.problem.dispose()
    const bad = Effect.runSync(Effect.either(resolveSpecValue(documentFor(glyphs, { name: "mgda", sharedParameters: "yes" }))))
    expect(Either.isLeft(bad) && bad.left.message).toMatch(/sharedParameters/)
  })
})
