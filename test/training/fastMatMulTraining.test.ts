import { Chunk, Effect, Stream } from "effect"
import { beforeAll, describe, expect, it } from "vitest"
import { activateBackend } from "../../src/core/backend.ts"
import { installFastMatMul, rewrittenMatMulCount, uninstallFastMatMul } from "../../src/core/fastMatMul.ts"
import { uninstallPackedMatMul } from "../../src/core/packedMatMul.ts"
import { tf, type Scalar, type Tensor } from "../../src/core/tf.ts"
import { type DataSource, objective, type Params } from "../../src/dsl/objective.ts"
import { makeSpec, type ParameterDeclaration, sgd } from "../../src/dsl/spec.ts"
import { prioritize } from "../../src/dsl/structure.ts"
import { bloop } from "../../src/interpreters/bloop.ts"
import { trainingEvents } from "../../src/training/train.ts"

// A tiny MLP whose products are large enough (m·k·n ≥ 32³) for the measured rule to rewrite them.
const widths = [24, 48, 48, 4] as const
const batchSize = 64
const examples = 256
const steps = 6
const learningRate = 0.05

const parameters: Record<string, ParameterDeclaration> = Object.fromEntries(
  widths.slice(1).flatMap((out, i) => [
    [`w${i + 1}`, { shape: [widths[i]!, out], init: { kind: "glorot" } }],
    [`b${i + 1}`, { shape: [out], init: { kind: "constant", value: 0.01 } }],
  ]),
)

interface Batch {
  readonly x: Tensor
  readonly y: Tensor
}

const logits = (p: Params, x: Tensor): Tensor => {
  let h = x
  for (let i = 1; i < widths.length; i++) {
    const z = tf.add(tf.matMul(h, p[`w${i}`]!), p[`b${i}`]!)
    h = i === widths.length - 1 ? z : tf.relu(z)
  }
  return h
}

/** Losses per step of a short Bloop run, with the matMul kernels as currently registered. */
const trainLosses = (source: DataSource<Batch>): Promise<ReadonlyArray<Readonly<Record<string, number>>>> =>
  Effect.runPromise(
    Effect.gen(function* () {
      const main = objective("cross-entropy", (p, b: Batch) => tf.losses.softmaxCrossEntropy(b.y, logits(p, b.x)) as Scalar, source)
      const prior = objective("prior", (p) => tf.mul(1e-3, tf.addN(Object.values(p).map((v) => tf.sum(tf.square(v))))) as Scalar)
      const spec = yield* makeSpec({ parameters, structure: prioritize(main, prior, { lambda: 0.5 }), optimizer: sgd({ learningRate }), steps, batchSize, seed: 4 })
      const rule = yield* Effect.flatMap(bloop.decodeOptions({}), (o) => bloop.lower(spec.structure, o, { seed: spec.seed }))
      const events = yield* Stream.runCollect(trainingEvents(spec, rule))
      return Chunk.toReadonlyArray(events).flatMap((e) => (e._tag === "Step" ? [e.losses] : []))
    }),
  )

describe("training with the fast matMul path", () => {
  let x: Tensor
  let y: Tensor
  let source: DataSource<Batch>
  beforeAll(async () => {
    await Effect.runPromise(activateBackend("wasm"))
    // The explicit-transpose path over tfjs's own kernels (not the packed kernel, tested in packedMatMul.test.ts).
    uninstallPackedMatMul()
    x = tf.randomNormal([examples, widths[0]], 0, 1, "float32", 21)
    const labels = tf.randomUniform([examples], 0, widths[3], "int32", 22)
    y = tf.oneHot(labels, widths[3]).toFloat()
    labels.dispose()
    source = {
      name: "random",
      size: examples,
      batch: (indices) => tf.tidy(() => ({ x: tf.gather(x, tf.tensor1d(indices, "int32")), y: tf.gather(y, tf.tensor1d(indices, "int32")) })),
    }
  })

  it("gives the same losses as tfjs's kernels: identical at step 1, then within first-order float32 propagation", async () => {
    uninstallFastMatMul()
    const reference = await trainLosses(source)
    installFastMatMul()
    const before = rewrittenMatMulCount()
    const fast = await trainLosses(source)
    const rewritten = rewrittenMatMulCount() - before
    uninstallFastMatMul()

    // The fast path actually ran (the backward pass of every layer has transposed products).
    expect(rewritten).toBeGreaterThanOrEqual(steps * 2)
    // Step 1's losses come from the forward pass alone, which has no transposed product: bit-identical.
    expect(fast[0]).toEqual(reference[0])
    // Afterwards each step's gradient may differ by the reordering of float32 sums of at most
    // K = max(batch, width) terms: |δg| ≤ 2γ_K·(|x|·|y|), about 2γ_K·√K·|g| for sums of random
    // signs. Over t − 1 SGD steps these perturbations add up to first order, and so does their
    // effect on a loss of size L: |ΔL_t| ≲ (t − 1)·2γ_K·√K·L. A factor 4 covers the growth of a
    // perturbation through later steps (1 + η·curvature per step, η = 0.05).
    const K = Math.max(batchSize, ...widths)
    const u = 2 ** -24
    const gammaK = (K * u) / (1 - K * u)
    for (let t = 1; t < steps; t++) {
      for (const name of Object.keys(reference[t]!)) {
        const L = Math.max(Math.abs(reference[t]![name]!), 1e-3)
        const tolerance = 4 * t * 2 * gammaK * Math.sqrt(K) * L
        expect(Math.abs(fast[t]![name]! - reference[t]![name]!), `step ${t + 1}, ${name}`).toBeLessThanOrEqual(tolerance)
      }
    }
  })
})
