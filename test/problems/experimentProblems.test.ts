import { Effect, Either } from "effect"
import { beforeAll, describe, expect, it } from "vitest"
import { selectBackend } from "../../src/core/backend.ts"
import { tf } from "../../src/core/tf.ts"
import { adam, makeSpec } from "../../src/dsl/spec.ts"
import { partitionParameters } from "../../src/dsl/sharing.ts"
import { prioritize, sum } from "../../src/dsl/structure.ts"
import { method } from "../../src/interpreters/method.ts"
import { mgda } from "../../src/interpreters/mgda.ts"
import { withSharedParameters } from "../../src/interpreters/sharedParameters.ts"
import { bloop } from "../../src/interpreters/bloop.ts"
import { jointProblem, multiTaskProblem, overlaidStyle } from "../../src/problems/glyphTasks.ts"
import { generateGlyphs, pixels } from "../../src/problems/glyphs.ts"
import { irisProblem } from "../../src/problems/iris.ts"
import type { Problem } from "../../src/dsl/problem.ts"
import { releaseParameters, train } from "../../src/training/train.ts"

beforeAll(async () => {
  await Effect.runPromise(selectBackend("wasm"))
})

describe("generated digit images", () => {
  it("are a deterministic function of the seed, with labels in [0, 10) and one label per image and task", () => {
    const a = generateGlyphs(50, overlaidStyle, 4)
    const b = generateGlyphs(50, overlaidStyle, 4)
    const c = generateGlyphs(50, overlaidStyle, 5)
    expect(a.images).toEqual(b.images)
    expect(a.labels).toEqual(b.labels)
    expect(a.images).not.toEqual(c.images)
    expect(a.images).toHaveLength(50 * pixels)
    expect(a.labels).toHaveLength(2)
    for (const labels of a.labels) for (const l of labels) expect(l >= 0 && l < 10).toBe(true)
  })

  it("label noise replaces the requested share of labels (binomial bound), and none without noise", () => {
    const style = { ...overlaidStyle, overlay: undefined, labelNoise: 0.2 }
    const data = generateGlyphs(4000, style, 9)
    const changed = data.labels[0]!.filter((l, i) => l !== data.drawn[i]).length / data.count
    // Binomial(4000, 0.2) / 4000 has standard deviation √(0.2·0.8/4000) ≈ 0.0063; allow 5 of them.
    expect(Math.abs(changed - 0.2)).toBeLessThan(5 * Math.sqrt((0.2 * 0.8) / 4000))
    const clean = generateGlyphs(500, { ...style, labelNoise: 0 }, 9)
    expect(clean.labels[0]).toEqual(clean.drawn)
  })
})

describe("experiment problems", () => {
  const cases: ReadonlyArray<readonly [string, () => Problem, string, string]> = [
    ["iris-weight-norm", () => irisProblem({ hidden: 8 }), "cross-entropy", "weight-norm"],
    ["glyph-multitask", () => multiTaskProblem({ trainSize: 128, testSize: 64 }), "digit", "overlay"],
    ["glyph-joint", () => jointProblem({ targetSize: 64, shiftedSize: 128, testSize: 64 }), "target", "shifted"],
  ]
  it.each(cases)("%s trains with Bloop, lowers its main loss, and leaks no tensor", async (_, make, main, aux) => {
    const before = tf.memory().numTensors
    const problem = make()
    const spec = await Effect.runPromise(
      makeSpec({
        parameters: problem.parameters,
        structure: prioritize(problem.objectives[main]!, problem.objectives[aux]!, { lambda: 0.1 }),
        optimizer: adam({ learningRate: 0.01 }),
        steps: 60,
        batchSize: 32,
        seed: 2,
      }),
    )
    const rule = await Effect.runPromise(bloop.lower(spec.structure, await Effect.runPromise(bloop.decodeOptions({})), { seed: 2 }))
    const untrained = releaseParameters(spec, await Effect.runPromise(train({ ...spec, steps: 1 }, rule, { evaluations: problem.evaluations })))
    const trained = releaseParameters(spec, await Effect.runPromise(train(spec, rule, { evaluations: problem.evaluations })))
    expect(trained.finalLosses[main]!).toBeLessThan(untrained.finalLosses[main]!)
    for (const e of problem.evaluations) expect(Number.isFinite(trained.evaluations[e.name]!)).toBe(true)
    problem.dispose()
    expect(tf.memory().numTensors).toBe(before)
  })

  it("glyph-multitask declares its heads: MGDA on the shared trunk only lowers both losses, and the partition is trunk | main. | aux.", async () => {
    const before = tf.memory().numTensors
    const problem = multiTaskProblem({ trainSize: 128, testSize: 64 })
    expect(problem.sharing).toBeDefined()
    const partition = Either.getOrThrow(partitionParameters(problem.sharing!, Object.keys(problem.parameters).sort()))
    expect(partition.shared.every((n) => n.startsWith("trunk."))).toBe(true)
    expect(partition.taskSpecific).toEqual({ digit: ["main.0.bias", "main.0.kernel"], overlay: ["aux.0.bias", "aux.0.kernel"] })
    const spec = await Effect.runPromise(
      makeSpec({ parameters: problem.parameters, structure: sum(problem.objectives.digit!, problem.objectives.overlay!), optimizer: adam({ learningRate: 0.01 }), steps: 60, batchSize: 32, seed: 2 }),
    )
    const how = method(withSharedParameters(mgda, problem.sharing!))
    const untrained = releaseParameters(spec, await Effect.runPromise(train({ ...spec, steps: 1 }, how)))
    const trained = releaseParameters(spec, await Effect.runPromise(train(spec, how)))
    expect(trained.finalLosses.digit!).toBeLessThan(untrained.finalLosses.digit!)
    expect(trained.finalLosses.overlay!).toBeLessThan(untrained.finalLosses.overlay!)
    problem.dispose()
    expect(tf.memory().numTensors).toBe(before)
  })

  it("the Iris split is stratified and disjoint: 34 + 16 rows per species", () => {
    const problem = irisProblem()
    expect(problem.description).toMatch(/102 training rows, 48 held out/)
    problem.dispose()
  })
})
