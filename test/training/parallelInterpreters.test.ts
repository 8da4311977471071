/**
 * Data-parallel gradients with every kind of rule: objectives with separate data sources (two
 * data sets), rules that read the loss values (primal–dual on a constraint), and Gram-based rules;
 * JSON documents as recipes, as the command line uses them. Tensors: the training thread ends
 * with what it started with.
 */
import { Chunk, Effect, Stream } from "effect"
import { beforeAll, describe, expect, it } from "vitest"
import { activateBackend } from "../../src/core/backend.ts"
import { tf } from "../../src/core/tf.ts"
import { builtinInterpreters } from "../../src/interpreters/builtins.ts"
import { lookup } from "../../src/interpreters/registry.ts"
import { resolveSpecValue } from "../../src/problems/resolveSpec.ts"
import { documentRecipe } from "../../src/training/parallel/recipe.ts"
import { gradientWorkers } from "../../src/training/parallel/workerPool.ts"
import { type StepEvent, trainingEvents } from "../../src/training/train.ts"

const joint = (structure: unknown, method: string) => ({
  problem: { name: "glyph-joint", options: { targetSize: 24, shiftedSize: 48, testSize: 8, hidden: 12 } },
  structure,
  method: { name: method },
  optimizer: { kind: "sgd", learningRate: 0.05 },
  steps: 3,
  batchSize: 10,
  seed: 5,
})

/** Per-step losses of `document` trained on `workers` threads; also the tensors left afterwards. */
const stepLosses = (document: ReturnType<typeof joint>, workers: number) =>
  Effect.gen(function* () {
    const resolved = yield* resolveSpecValue(document)
    const interpreter = yield* lookup(builtinInterpreters, document.method.name)
    const rule = yield* interpreter.lower(resolved.spec.structure, yield* interpreter.decodeOptions({}), { seed: resolved.spec.seed })
    const events = yield* Stream.runCollect(trainingEvents(resolved.spec, rule, { workers: gradientWorkers(workers, documentRecipe(resolved.document)) }))
    resolved.problem.dispose()
    return Chunk.toArray(events)
      .filter((e): e is StepEvent => e._tag === "Step")
      .map((e) => e.losses)
  })

beforeAll(() => Effect.runPromise(activateBackend("wasm")))

const cases = [
  ["bloop, two data sources", joint({ kind: "prioritize", main: "target", aux: "shifted", lambda: 0.5 }, "bloop")],
  ["primal-dual, which reads the loss values", joint({ kind: "sum", terms: ["target", { kind: "constrain", of: "shifted", atMost: 0.5 }] }, "primal-dual")],
  ["mgda (Gram-based)", joint({ kind: "sum", terms: ["target", "shifted"] }, "mgda")],
] as const

describe("data-parallel gradients with every kind of rule", () => {
  for (const [name, document] of cases) {
    it(`${name}: two workers give the one-thread losses up to float32 rounding, and leave no tensor behind`, async () => {
      const before = tf.memory().numTensors
      const one = await Effect.runPromise(stepLosses(document, 1))
      const two = await Effect.runPromise(stepLosses(document, 2))
      expect(tf.memory().numTensors).toBe(before)
      expect(two).toHaveLength(document.steps)
      for (const [t, losses] of one.entries()) {
        for (const [objective, value] of Object.entries(losses)) {
          expect(Math.abs(two[t]![objective]! - value), `${objective} at step ${t + 1}`).toBeLessThanOrEqual(1e-5 * Math.abs(value) + 1e-7)
        }
      }
    }, 300_000)
  }
})
