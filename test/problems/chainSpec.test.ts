import { readFileSync } from "node:fs"
import { Effect, Either } from "effect"
import { describe, expect, it } from "vitest"
import { tf } from "../../src/core/tf.ts"
import { formatSpecDocument, parseSpecDocument, type SpecDocument } from "../../src/dsl/json.ts"
import { bloop } from "../../src/interpreters/bloop.ts"
import { builtinInterpreters } from "../../src/interpreters/builtins.ts"
import { chain } from "../../src/interpreters/chain.ts"
import type { Interpreter } from "../../src/interpreters/interpreter.ts"
import { lookup } from "../../src/interpreters/registry.ts"
import { clipByGlobalNorm } from "../../src/interpreters/transforms.ts"
import { acquireResolvedSpec } from "../../src/problems/resolveSpec.ts"
import { releaseParameters, train } from "../../src/training/train.ts"
import { useCpuBackend } from "../support/cpuBackend.ts"

useCpuBackend()

const text = readFileSync(new URL("../../examples/specs/least-squares-chain.json", import.meta.url), "utf8")

/** Resolve `document` (its steps replaced) and train it with `interpreter` and raw `options`. */
const trainWith = (document: SpecDocument, steps: number, interpreter: Interpreter<any>, options: unknown) =>
  Effect.scoped(
    Effect.gen(function* () {
      const { spec } = yield* acquireResolvedSpec({ ...document, steps })
      const decoded = yield* interpreter.decodeOptions(options)
      const rule = yield* interpreter.lower(spec.structure, decoded, { seed: spec.seed })
      return releaseParameters(spec, yield* train(spec, rule))
    }),
  )

describe("examples/specs/least-squares-chain.json (method chain: clip-by-global-norm before bloop)", () => {
  it("decodes, resolves and trains for 20 steps like chain(clipByGlobalNorm(0.2), bloop) built in code, leaving no tensor behind", async () => {
    const document = Either.getOrThrow(parseSpecDocument(text))
    expect(parseSpecDocument(formatSpecDocument(document))).toEqual(Either.right(document))
    expect(document.method.name).toBe("chain")
    const before = tf.memory().numTensors
    const byName = await Effect.runPromise(
      Effect.flatMap(lookup(builtinInterpreters, document.method.name), (interpreter) => trainWith(document, 20, interpreter, document.method.options)),
    )
    const inCode = await Effect.runPromise(trainWith(document, 20, chain(clipByGlobalNorm(0.2), bloop), { rho: 0.01 }))
    const bloopAlone = await Effect.runPromise(trainWith(document, 20, bloop, { rho: 0.01 }))
    expect(tf.memory().numTensors).toBe(before)
    // The clip binds on this problem (gradient norms above 1 early on), so the chain is not Bloop.
    expect(byName.finalLosses).not.toEqual(bloopAlone.finalLosses)
    expect(byName.steps).toBe(20)
    expect(byName.rule).toBe("chain(clip-by-global-norm(0.2), bloop)")
    // Same data order, same arithmetic: the losses agree exactly, not approximately.
    expect(byName.finalLosses).toEqual(inCode.finalLosses)
    expect(Object.values(byName.finalLosses).every(Number.isFinite)).toBe(true)
  })

  it("a misspelt transform in the file is a typed error pointing into method.options", async () => {
    const document = Either.getOrThrow(parseSpecDocument(text.replace('"clip-by-global-norm"', '"clip"')))
    const error = await Effect.runPromise(Effect.flip(Effect.flatMap(lookup(builtinInterpreters, document.method.name), (i) => i.decodeOptions(document.method.options))))
    expect(error.message).toBe("interpreter 'chain' options.before[0].name: unknown transform 'clip' (known: identity, scale-by, clip-by-global-norm, normalize)")
  })
})
