/**
 * Every built-in interpreter is usable by name from a JSON spec (the path `scalpel run` takes):
 * the document text parses, resolves, lowers through the registry and trains a few steps on the
 * least-squares problem, leaving no tensor behind. Issue #14: "every listed method registered by
 * name, usable from JSON specs and the CLI".
 */
import { Effect, Either } from "effect"
import { beforeAll, describe, expect, it } from "vitest"
import { activateBackend } from "../../src/core/backend.ts"
import { tf } from "../../src/core/tf.ts"
import { parseSpecDocument } from "../../src/dsl/json.ts"
import { exampleOptionsFor } from "../../src/interpreters/builtinExamples.ts"
import { builtinInterpreters } from "../../src/interpreters/builtins.ts"
import { lookup } from "../../src/interpreters/registry.ts"
import { acquireResolvedSpec } from "../../src/problems/resolveSpec.ts"
import { releaseParameters, train } from "../../src/training/train.ts"

beforeAll(async () => {
  await Effect.runPromise(activateBackend("cpu"))
})

/** Issue #14's methods, by the names a user of TorchJD or LibMTL looks for. */
const issueMethods = [
  "aligned-mtl", "config", "dualproj", "fairgrad", "graddrop", "gradvac", "nash-mtl", "random", "krum", "trimmed-mean",
  "excess-mtl", "moco", "sdmgrad", "modo", "dwa", "uncertainty", "famo", "gradnorm", "stch", "geometric-mean", "db-mtl", "mean",
]

/** The JSON structure each rule lowers (as `exampleStructureFor`): a constraint, three tasks, or a priority. */
const structureFor = (name: string): unknown =>
  name === "primal-dual"
    ? { kind: "sum", terms: ["fit", { kind: "constrain", of: "prior", atMost: 0.1 }] }
    : name === "krum" || name === "trimmed-mean"
      ? { kind: "hierarchy", levels: [{ of: "fit" }, { of: "prior", lambda: 0.5 }, { of: { kind: "sum", terms: ["fit", "prior"] }, lambda: 0.5 }] }
      : { kind: "prioritize", main: "fit", aux: "prior", lambda: 0.5 }

const documentText = (name: string): string =>
  JSON.stringify({
    problem: { name: "least-squares", options: { examples: 32 } },
    structure: structureFor(name),
    method: { name, options: exampleOptionsFor(name) },
    optimizer: { kind: "sgd", learningRate: 0.05 },
    steps: 4,
    batchSize: 8,
    seed: 1,
    nonFinite: "fail",
  })

describe("every built-in method by name through the JSON spec path", () => {
  it("the issue's methods are all registered", () => {
    expect(issueMethods.filter((name) => !builtinInterpreters.has(name))).toEqual([])
  })

  it.each([...builtinInterpreters.keys()])("%s: a JSON document naming it trains 4 steps, leak-free", async (name) => {
    const document = Either.getOrThrow(parseSpecDocument(documentText(name)))
    const before = tf.memory().numTensors
    const summary = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const { spec, method } = yield* acquireResolvedSpec(document)
          const interpreter = yield* lookup(builtinInterpreters, method.name)
          const rule = yield* interpreter.lower(spec.structure, yield* interpreter.decodeOptions(method.options), { seed: spec.seed })
          return releaseParameters(spec, yield* train(spec, rule))
        }),
      ),
    )
    expect(tf.memory().numTensors).toBe(before)
    expect(summary.steps).toBe(4)
    expect(Object.values(summary.finalLosses).every(Number.isFinite)).toBe(true)
  })
})
