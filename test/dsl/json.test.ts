import { readFileSync } from "node:fs"
import { Cause, Effect, Either, Exit, Option } from "effect"
import fc from "fast-check"
import { beforeAll, describe, expect, it } from "vitest"
import { activateBackend } from "../../src/core/backend.ts"
import { tf } from "../../src/core/tf.ts"
import { SpecError } from "../../src/dsl/errors.ts"
import {
  decodeSpecDocument,
  encodeSpecDocument,
  formatSpecDocument,
  maxDocumentDepth,
  parseSpecDocument,
  type SpecDocument,
  type StructureDocument,
} from "../../src/dsl/json.ts"
import { objectivesOf } from "../../src/dsl/structure.ts"
import { builtinInterpreters } from "../../src/interpreters/builtins.ts"
import { lookup } from "../../src/interpreters/registry.ts"
import { acquireResolvedSpec, resolveSpecJson, resolveSpecValue } from "../../src/problems/resolveSpec.ts"
import { fullDataLoss, releaseParameters, train } from "../../src/training/train.ts"

beforeAll(async () => {
  await Effect.runPromise(activateBackend("cpu"))
})

/** The document of the brief (and of examples/specs/least-squares-bloop.json). */
const valid = {
  problem: { name: "least-squares", options: { examples: 64 } },
  structure: { kind: "prioritize", main: "fit", aux: "prior", lambda: 1 },
  method: { name: "bloop", options: { rho: 0.01 } },
  optimizer: { kind: "sgd", learningRate: 0.5 },
  steps: 2000,
  batchSize: 8,
  seed: 1,
  nonFinite: "fail",
} as const

const withFields = (patch: Record<string, unknown>): unknown => ({ ...valid, ...patch })

/** The error of decoding and resolving `input` (JSON text or a value); fails the test on success. */
const failureOf = (input: unknown): SpecError => {
  const exit = Effect.runSyncExit(typeof input === "string" ? resolveSpecJson(input) : resolveSpecValue(input))
  if (Exit.isSuccess(exit)) {
    exit.value.problem.dispose()
    throw new Error("expected a SpecError, but the document resolved")
  }
  const failure = Cause.failureOption(exit.cause)
  if (Option.isNone(failure)) throw new Error(`expected a SpecError, got a defect: ${Cause.pretty(exit.cause)}`)
  return failure.value
}

describe("decoding JSON specs: one message naming the place and the problem", () => {
  const deep = (depth: number): unknown => {
    let s: unknown = "fit"
    for (let i = 0; i < depth; i++) s = { kind: "weighted", of: s, weight: 1 }
    return s
  }
  const cases: ReadonlyArray<readonly [string, unknown, string, string]> = [
    [
      "negative λ in a hierarchy",
      withFields({ structure: { kind: "hierarchy", levels: [{ of: "fit" }, { of: "prior", lambda: -2 }] } }),
      "structure.levels[1].lambda",
      "expected a non-negative number, got -2",
    ],
    [
      "empty hierarchy",
      withFields({ structure: { kind: "hierarchy", levels: [] } }),
      "structure.levels",
      "expected at least one level, got an empty list",
    ],
    [
      "unknown kind",
      withFields({ structure: { kind: "lexicographic", of: "fit" } }),
      "structure.kind",
      'expected one of "weighted", "sum", "prioritize", "hierarchy", "constrain", got "lexicographic"',
    ],
    [
      "missing kind",
      withFields({ structure: { of: "fit", weight: 2 } }),
      "structure.kind",
      'missing; expected one of "weighted", "sum", "prioritize", "hierarchy", "constrain"',
    ],
    [
      "unknown objective",
      withFields({ structure: { kind: "prioritize", main: "fit", aux: "priorr", lambda: 1 } }),
      "structure.aux",
      "unknown objective 'priorr' (did you mean 'prior'?) (objectives of least-squares: fit, prior)",
    ],
    [
      "an inherited property is not an objective",
      withFields({ structure: { kind: "sum", terms: ["fit", "constructor"] } }),
      "structure.terms[1]",
      "unknown objective 'constructor' (objectives of least-squares: fit, prior)",
    ],
    [
      "unknown problem",
      withFields({ problem: { name: "foo" } }),
      "problem.name",
      "unknown problem 'foo' (known: least-squares, iris-weight-norm, glyph-multitask, glyph-joint, mnist-smooth, mnist-authors, mnist-multitask, mnist-joint)",
    ],
    [
      "a weight of the wrong type",
      withFields({ structure: { kind: "weighted", of: "fit", weight: "2" } }),
      "structure.weight",
      'expected a finite number, got "2"',
    ],
    [
      "a structure of the wrong type",
      withFields({ structure: 3 }),
      "structure",
      'expected an objective name or an object with a "kind", got 3',
    ],
    [
      "an array where a structure belongs",
      withFields({ structure: ["fit", "prior"] }),
      "structure",
      'expected an objective name or an object with a "kind", got an array of 2 elements',
    ],
    ["non-integer steps", withFields({ steps: 1.5 }), "steps", "expected a positive integer, got 1.5"],
    ["zero batch size", withFields({ batchSize: 0 }), "batchSize", "expected a positive integer, got 0"],
    [
      "an extra property in a construct",
      withFields({ structure: { kind: "weighted", of: "fit", weight: 1, scale: 2 } }),
      "structure.scale",
      "unexpected field; allowed fields here: kind, of, weight",
    ],
    [
      "an extra top-level property",
      withFields({ learningRate: 0.1 }),
      "learningRate",
      "unexpected field; allowed fields here: problem, structure, method, optimizer, steps, epochs, batchSize, seed, nonFinite, sampling, workers",
    ],
    [
      "a missing learning rate",
      withFields({ optimizer: { kind: "adam" } }),
      "optimizer.learningRate",
      "missing; expected a positive number",
    ],
    [
      "momentum of 1",
      withFields({ optimizer: { kind: "momentum", learningRate: 0.1, momentum: 1 } }),
      "optimizer.momentum",
      "expected a number in [0, 1), got 1",
    ],
    ["unknown non-finite policy", withFields({ nonFinite: "ignore" }), "nonFinite", 'expected one of "fail", "skip", got "ignore"'],
    [
      "problem options the problem rejects",
      withFields({ problem: { name: "least-squares", options: { examples: 100, dimensions: 50 } } }),
      "problem.options.dimensions",
      "expected more dimensions than examples (100), got 50",
    ],
    [
      "a misspelt problem option",
      withFields({ problem: { name: "least-squares", options: { exemples: 10 } } }),
      "problem.options.exemples",
      "unexpected field (did you mean 'examples'?); allowed fields here: examples, dimensions, seed, prior, init, fit, fullBatch",
    ],
    [
      "nesting beyond the limit",
      withFields({ structure: deep(maxDocumentDepth) }),
      `structure${".of".repeat(maxDocumentDepth - 1)}`,
      `nested deeper than ${maxDocumentDepth} levels`,
    ],
    ["not an object at all", null, "", "expected a spec object, got null"],
    [
      "bad JSON text",
      '{"problem": {"name": "least-squares"},\n "steps": 10,,\n}',
      "",
      'invalid JSON at line 2, column 14 (offset 52): expected a key in double quotes, got ","',
    ],
    ["empty JSON text", "  ", "", "invalid JSON at line 1, column 3 (offset 2): expected a value (object, array, string, number, true, false or null), got the end of the text"],
  ]

  it.each(cases)("%s", (_label, input, path, problem) => {
    const error = failureOf(input)
    expect(error).toBeInstanceOf(SpecError)
    expect(error.path).toBe(path)
    expect(error.problem).toBe(problem)
    expect(error.message).toBe(path === "" ? problem : `${path}: ${problem}`)
  })

  it(`accepts nesting up to ${maxDocumentDepth} levels`, () => {
    expect(Either.isRight(decodeSpecDocument(withFields({ structure: deep(maxDocumentDepth - 1) })))).toBe(true)
  })

  it("fills in the documented defaults", () => {
    const document = Either.getOrThrow(
      decodeSpecDocument({
        problem: { name: "least-squares" },
        structure: { kind: "hierarchy", levels: [{ of: "fit" }, { of: "prior" }] },
        optimizer: { kind: "adam", learningRate: 0.01 },
        steps: 10,
        batchSize: 4,
      }),
    )
    expect(document.problem.options).toEqual({})
    expect(document.method).toEqual({ name: "bloop", options: {} })
    expect(document.structure).toEqual({ kind: "hierarchy", levels: [{ of: "fit", lambda: 1 }, { of: "prior", lambda: 1 }] })
    expect(document.optimizer).toEqual({ kind: "adam", learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 })
    expect(document.seed).toBe(0)
    expect(document.nonFinite).toBe("fail")
    const momentum = Either.getOrThrow(decodeSpecDocument(withFields({ optimizer: { kind: "momentum", learningRate: 0.1 } })))
    expect(momentum.optimizer).toEqual({ kind: "momentum", learningRate: 0.1, momentum: 0.9 })
  })
})

// ---------------------------------------------------------------------------------------------
// Arbitrary documents.

const finite = fc.double({ noNaN: true, noDefaultInfinity: true })
const nonNegative = fc.double({ noNaN: true, noDefaultInfinity: true, min: 0 })
const positive = fc.double({ noNaN: true, noDefaultInfinity: true, min: Number.MIN_VALUE })
const decay = fc.double({ noNaN: true, min: 0, max: 1, maxExcluded: true })
const positiveInteger = fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER })
const name = fc.string({ minLength: 1, maxLength: 12 })
const options = fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 4 })

const structureArb: fc.Arbitrary<StructureDocument> = fc.letrec<{ structure: StructureDocument }>((tie) => ({
  structure: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    name,
    fc.record({ kind: fc.constant("weighted" as const), of: tie("structure"), weight: finite }),
    fc.record({ kind: fc.constant("sum" as const), terms: fc.array(tie("structure"), { minLength: 1, maxLength: 3 }) }),
    fc.record({ kind: fc.constant("prioritize" as const), main: tie("structure"), aux: tie("structure"), lambda: nonNegative }),
    fc.record({
      kind: fc.constant("hierarchy" as const),
      levels: fc.array(fc.record({ of: tie("structure"), lambda: nonNegative }), { minLength: 1, maxLength: 3 }),
    }),
    fc.record({ kind: fc.constant("constrain" as const), of: tie("structure"), atMost: finite }),
  ),
})).structure

const documentArb: fc.Arbitrary<SpecDocument> = fc.record({
  problem: fc.record({ name, options }),
  structure: structureArb,
  method: fc.record({ name, options }),
  optimizer: fc.oneof(
    fc.record({ kind: fc.constant("sgd" as const), learningRate: positive }),
    fc.record({ kind: fc.constant("momentum" as const), learningRate: positive, momentum: decay }),
    fc.record({ kind: fc.constant("adam" as const), learningRate: positive, beta1: decay, beta2: decay, epsilon: positive }),
  ),
  steps: positiveInteger,
  batchSize: positiveInteger,
  seed: fc.maxSafeInteger(),
  nonFinite: fc.constantFrom("fail" as const, "skip" as const),
  workers: fc.integer({ min: 1, max: 64 }),
})

/** JSON has no −0: the text round trip is stated on documents written with +0. */
const withoutNegativeZero = (value: unknown): unknown =>
  Object.is(value, -0)
    ? 0
    : Array.isArray(value)
      ? value.map(withoutNegativeZero)
      : typeof value === "object" && value !== null
        ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withoutNegativeZero(v)]))
        : value

describe("round trip", () => {
  it("decode ∘ encode is the identity on documents", () => {
    fc.assert(
      fc.property(documentArb, (document) => {
        expect(decodeSpecDocument(encodeSpecDocument(document))).toEqual(Either.right(document))
      }),
      { numRuns: 200 },
    )
  })

  it("parse ∘ format is the identity on documents (through JSON text)", () => {
    fc.assert(
      fc.property(documentArb.map(withoutNegativeZero), (document) => {
        expect(parseSpecDocument(formatSpecDocument(document as SpecDocument))).toEqual(Either.right(document))
      }),
      { numRuns: 200 },
    )
  })
})

// ---------------------------------------------------------------------------------------------
// Hostile input: the decoder is total.

type Json = null | boolean | number | string | ReadonlyArray<Json> | { readonly [key: string]: Json }

/** Every path to a value inside `root` (the root itself excluded), without recursion. */
const pathsOf = (root: Json): ReadonlyArray<ReadonlyArray<string | number>> => {
  const out: Array<ReadonlyArray<string | number>> = []
  const stack: Array<{ value: Json; path: ReadonlyArray<string | number> }> = [{ value: root, path: [] }]
  while (stack.length > 0) {
    const { value, path } = stack.pop()!
    if (path.length > 0) out.push(path)
    if (Array.isArray(value)) value.forEach((v, i) => stack.push({ value: v, path: [...path, i] }))
    else if (typeof value === "object" && value !== null) for (const [k, v] of Object.entries(value)) stack.push({ value: v, path: [...path, k] })
  }
  return out
}

type FieldMutation =
  | { readonly op: "delete"; readonly at: number }
  | { readonly op: "replace"; readonly at: number; readonly value: Json }

/** Deep nesting of the value at one path: in weighted constructs (objects) or in arrays. */
interface Nesting {
  readonly at: number
  readonly depth: number
  readonly asArray: boolean
}

/** The parent container of the `at`-th path of `root` (mod the number of paths), and the key. */
const locate = (root: Json, at: number): readonly [Record<string | number, Json>, string | number] => {
  const paths = pathsOf(root)
  const path = paths[at % paths.length]!
  let parent = root as Record<string | number, Json>
  for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, Json>
  return [parent, path[path.length - 1]!]
}

/** `root` with one field deleted or replaced (a copy; `root` is small, so cloning is cheap). */
const mutateField = (root: Json, mutation: FieldMutation): Json => {
  const copy = structuredClone(root) as Json
  if (pathsOf(copy).length === 0) return mutation.op === "replace" ? mutation.value : copy
  const [parent, key] = locate(copy, mutation.at)
  if (mutation.op === "replace") parent[key] = mutation.value
  else if (Array.isArray(parent)) parent.splice(key as number, 1)
  else delete parent[key]
  return copy
}

/** `root` (mutated in place) with the value at one path wrapped `depth` times, built without recursion. */
const nest = (root: Json, nesting: Nesting): Json => {
  if (pathsOf(root).length === 0) return root
  const [parent, key] = locate(root, nesting.at)
  let value = parent[key]!
  for (let i = 0; i < nesting.depth; i++) value = nesting.asArray ? [value] : { kind: "weighted", of: value, weight: 1 }
  parent[key] = value
  return root
}

const fieldMutationArb: fc.Arbitrary<FieldMutation> = fc.oneof(
  fc.record({ op: fc.constant("delete" as const), at: fc.nat() }),
  fc.record({ op: fc.constant("replace" as const), at: fc.nat(), value: fc.jsonValue() as fc.Arbitrary<Json> }),
)
const nestingArb: fc.Arbitrary<Nesting> = fc.record({ at: fc.nat(), depth: fc.integer({ min: 1, max: 5000 }), asArray: fc.boolean() })

/** A small valid document to mutate (small problem: many cases resolve and make it). */
const smallValid: Json = {
  problem: { name: "least-squares", options: { examples: 8, dimensions: 16, seed: 3 } },
  structure: { kind: "hierarchy", levels: [{ of: "fit", lambda: 1 }, { of: { kind: "sum", terms: ["prior", { kind: "weighted", of: "fit", weight: 0.5 }] }, lambda: 0.5 }] },
  method: { name: "bloop", options: { rho: 0.1 } },
  optimizer: { kind: "adam", learningRate: 0.01, beta1: 0.9 },
  steps: 10,
  batchSize: 4,
  seed: 2,
  nonFinite: "skip",
}

/**
 * Decode and resolve; the outcome must be a resolved spec or a SpecError, never a defect, and the
 * tensors of a made problem are all released. The time bound detects a hang: the largest options
 * the least-squares problem accepts take 0.7 s to make (see LeastSquaresOptionsSchema).
 */
const checkTotal = (input: unknown): "resolved" | "rejected" => {
  const tensorsBefore = tf.memory().numTensors
  const started = performance.now()
  const exit = Effect.runSyncExit(typeof input === "string" ? resolveSpecJson(input) : resolveSpecValue(input))
  const elapsed = performance.now() - started
  let outcome: "resolved" | "rejected"
  if (Exit.isSuccess(exit)) {
    exit.value.problem.dispose()
    expect(objectivesOf(exit.value.spec.structure).length).toBeGreaterThan(0)
    outcome = "resolved"
  } else {
    const failure = Cause.failureOption(exit.cause)
    expect(Option.isSome(failure), Cause.pretty(exit.cause)).toBe(true)
    expect(Option.getOrThrow(failure)).toBeInstanceOf(SpecError)
    outcome = "rejected"
  }
  expect(tf.memory().numTensors).toBe(tensorsBefore)
  expect(elapsed).toBeLessThan(5_000)
  return outcome
}

describe("hostile input", () => {
  it("regression (SCALPEL_FC_SEED=-751528406): a value no text can be made of ({\"toString\": {}}) is a SpecError at its place, not a TypeError", () => {
    // Effect's Schema picks a tagged union's member by String(input.kind), which throws for an
    // object whose own toString and valueOf are not functions; JSON.parse makes such objects.
    for (const [patch, place] of [
      [{ structure: { kind: JSON.parse('{"toString": {}}') as unknown, main: "fit", aux: "prior", lambda: 1 } }, "structure.kind"],
      [{ optimizer: { kind: JSON.parse('{"valueOf": 1, "toString": []}') as unknown, learningRate: 0.5 } }, "optimizer.kind"],
    ] as const) {
      const error = failureOf(withFields(patch))
      expect(error.path).toBe(place)
      expect(error.problem).toMatch(/toString/)
    }
    // Where no tag is read, the ordinary message (the value printed without String).
    expect(failureOf(withFields({ nonFinite: JSON.parse('{"toString": null}') as unknown }))).toMatchObject({ path: "nonFinite" })
    const text = JSON.stringify(withFields({ method: { name: { toString: 0 }, options: {} } }))
    expect(failureOf(text).path).toBe("method.name")
    // Without a prototype String throws too (only a JavaScript value can be one): still a SpecError.
    expect(failureOf(withFields({ optimizer: { kind: Object.create(null) as unknown, learningRate: 0.5 } }))).toBeInstanceOf(SpecError)
  })

  it("totality: any JSON value resolves to a spec or fails with a SpecError", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        checkTotal(value)
      }),
      { numRuns: 300 },
    )
  })

  it("totality: any JSON text (valid or not) resolves to a spec or fails with a SpecError", () => {
    fc.assert(
      fc.property(fc.oneof(fc.json(), fc.string(), fc.json().map((t) => t.slice(0, Math.floor(t.length / 2)))), (text) => {
        checkTotal(text)
      }),
      { numRuns: 300 },
    )
  })

  it("totality: mutations of a valid document (deleted, replaced, deeply nested fields) resolve or fail with a SpecError", () => {
    const outcomes = { resolved: 0, rejected: 0 }
    fc.assert(
      fc.property(fc.array(fieldMutationArb, { maxLength: 3 }), fc.option(nestingArb), (mutations, nesting) => {
        const mutated = mutations.reduce(mutateField, smallValid)
        outcomes[checkTotal(nesting === null ? mutated : nest(structuredClone(mutated) as Json, nesting))] += 1
      }),
      { numRuns: 300 },
    )
    // Both branches of the property were exercised (deleting an optional field keeps it valid).
    expect(outcomes.resolved).toBeGreaterThan(0)
    expect(outcomes.rejected).toBeGreaterThan(0)
  })

  // The #12 cases: sizes that would allocate gigabytes, repeated keys, a byte order mark, nesting
  // far beyond the limit (in text and in values), structures shared many times over (a value's
  // tree can be exponentially larger than the value), and sums of very many terms.
  type Hostile12 =
    | { readonly op: "size"; readonly field: "examples" | "dimensions" | "batchSize" | "steps"; readonly value: number }
    | { readonly op: "duplicate"; readonly at: number }
    | { readonly op: "bom"; readonly mutation: FieldMutation | null }
    | { readonly op: "deepText"; readonly depth: number; readonly asArray: boolean }
    | { readonly op: "shared"; readonly depth: number }
    | { readonly op: "longSum"; readonly terms: number }
  const hugeNumber = fc.oneof(
    fc.constantFrom(1e7, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 53 - 1, 2 ** 53, 1e21, 1e308, Number.MAX_VALUE),
    fc.integer({ min: 1e6, max: Number.MAX_SAFE_INTEGER }),
  )
  const hostile12Arb: fc.Arbitrary<Hostile12> = fc.oneof(
    fc.record({ op: fc.constant("size" as const), field: fc.constantFrom("examples" as const, "dimensions" as const, "batchSize" as const, "steps" as const), value: hugeNumber }),
    fc.record({ op: fc.constant("duplicate" as const), at: fc.nat() }),
    fc.record({ op: fc.constant("bom" as const), mutation: fc.option(fieldMutationArb) }),
    fc.record({ op: fc.constant("deepText" as const), depth: fc.integer({ min: 1, max: 200_000 }), asArray: fc.boolean() }),
    // Depths 13 to 24 are left out: 2^13 to 2^20 leaves are legal but take seconds to decode.
    fc.record({ op: fc.constant("shared" as const), depth: fc.oneof(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 25, max: 60 })) }),
    // Up to 5,000 terms here (seconds of decoding each beyond that); test/training/sizeLimits.test.ts resolves 150,000.
    fc.record({ op: fc.constant("longSum" as const), terms: fc.integer({ min: 1, max: 5_000 }) }),
  )

  /** JSON text of `value` with the last key of the object at the `at`-th path written twice. */
  const withDuplicateKey = (value: Json, at: number): { readonly text: string; readonly key: string } | undefined => {
    const objects = [[] as ReadonlyArray<string | number>, ...pathsOf(value)].filter((path) => {
      const v = path.reduce<Json>((node, k) => (node as Record<string | number, Json>)[k]!, value)
      return typeof v === "object" && v !== null && !Array.isArray(v) && Object.keys(v).length > 0
    })
    const path = objects[at % objects.length]!
    const marker = "\u0000duplicate\u0000"
    const copy = structuredClone(value) as Json
    const target = path.reduce<Json>((node, k) => (node as Record<string | number, Json>)[k]!, copy) as Record<string, Json>
    const key = Object.keys(target).at(-1)!
    target[marker] = target[key]!
    const text = JSON.stringify(copy).replace(JSON.stringify(marker), JSON.stringify(key))
    return { text, key }
  }

  /** The input a #12 case gives, and what must come of it beyond totality. */
  const hostile12Input = (h: Hostile12): { readonly input: unknown; readonly check?: (outcome: "resolved" | "rejected", error?: SpecError) => void } => {
    switch (h.op) {
      case "size": {
        const doc = structuredClone(smallValid) as { problem: { options: Record<string, number> } } & Record<string, unknown>
        if (h.field === "examples" || h.field === "dimensions") doc.problem.options[h.field] = h.value
        else doc[h.field] = h.value
        // A run needs its problem allocated: problem sizes this large are refused when resolving.
        return { input: doc, check: (outcome) => (h.field === "steps" ? undefined : h.field === "batchSize" || expect(outcome).toBe("rejected")) }
      }
      case "duplicate": {
        const { text, key } = withDuplicateKey(smallValid, h.at)!
        return { input: text, check: (outcome, error) => (expect(outcome).toBe("rejected"), expect(error?.problem).toContain(`duplicate key ${JSON.stringify(key)}`)) }
      }
      case "bom": {
        const doc = h.mutation === null ? smallValid : mutateField(smallValid, h.mutation)
        const plain = checkTotal(JSON.stringify(doc))
        return { input: `\uFEFF${JSON.stringify(doc)}`, check: (outcome) => expect(outcome).toBe(plain) }
      }
      case "deepText": {
        const open = h.asArray ? "[" : '{"kind":"weighted","weight":1,"of":'
        const close = h.asArray ? "]" : "}"
        const structure = `${open.repeat(h.depth)}"fit"${close.repeat(h.depth)}`
        return { input: JSON.stringify(smallValid).replace(/"structure":\{.*?\]\}\]\}/, `"structure":${structure}`) }
      }
      case "shared": {
        // One object referenced twice per level: a value of `depth` objects whose tree has 2^depth leaves.
        let structure: unknown = "fit"
        for (let i = 0; i < h.depth; i++) structure = { kind: "sum", terms: [structure, structure] }
        return {
          input: { ...(smallValid as object), structure },
          check: (outcome, error) => (h.depth >= 25 ? expect(error?.problem).toMatch(/^(more than 1000000 values|nested deeper than 64 levels)/) : expect(outcome).toBe("resolved")),
        }
      }
      case "longSum": {
        const terms = Array.from({ length: h.terms }, (_, i) => (i % 2 === 0 ? "fit" : { kind: "weighted", of: "prior", weight: 0.5 }))
        return { input: JSON.stringify({ ...(smallValid as object), structure: { kind: "sum", terms } }), check: (outcome) => expect(outcome).toBe("resolved") }
      }
    }
  }

  it("totality under the #12 cases: huge sizes fail fast, duplicate keys are named, a BOM changes nothing, deep, shared and long structures never overflow", () => {
    fc.assert(
      fc.property(hostile12Arb, (h) => {
        const { input, check } = hostile12Input(h)
        const outcome = checkTotal(input)
        if (check !== undefined) check(outcome, outcome === "rejected" ? failureOf(input) : undefined)
      }),
      { numRuns: 120 },
    )
  })

  it("a cyclic value is refused as too deep, not followed forever", () => {
    const cyclic: Record<string, unknown> = { kind: "weighted", weight: 1 }
    cyclic.of = cyclic
    const error = failureOf(withFields({ structure: cyclic }))
    expect(error.problem).toBe(`nested deeper than ${maxDocumentDepth} levels`)
  })
})

// ---------------------------------------------------------------------------------------------
// Resolution and training.

const trainSteps = (document: SpecDocument, steps: number) =>
  Effect.scoped(
    Effect.gen(function* () {
      const { spec, problem, method } = yield* acquireResolvedSpec({ ...document, steps })
      const interpreter = yield* lookup(builtinInterpreters, method.name)
      const options = yield* interpreter.decodeOptions(method.options)
      const rule = yield* interpreter.lower(spec.structure, options, { seed: spec.seed })
      const zeros = Object.fromEntries(Object.entries(spec.parameters).map(([n, p]) => [n, tf.zeros([...p.shape])]))
      const initial = Object.fromEntries(Object.values(problem.objectives).map((o) => [o.name, fullDataLoss(o, zeros)]))
      tf.dispose(Object.values(zeros))
      const summary = releaseParameters(spec, yield* train(spec, rule))
      return { summary, initial }
    }),
  )

describe("example spec files", () => {
  const files = ["least-squares-bloop.json", "least-squares-weighted-sum.json"]

  it.each(files)("examples/specs/%s decodes, resolves, and trains for a few steps without leaking tensors", async (file) => {
    const text = readFileSync(new URL(`../../examples/specs/${file}`, import.meta.url), "utf8")
    const document = Either.getOrThrow(parseSpecDocument(text))
    expect(parseSpecDocument(formatSpecDocument(document))).toEqual(Either.right(document))
    const before = tf.memory().numTensors
    const { summary, initial } = await Effect.runPromise(trainSteps(document, 20))
    expect(tf.memory().numTensors).toBe(before)
    expect(summary.steps).toBe(20)
    expect(summary.rule).toBe(document.method.name)
    // Parameters start at zero; 20 steps on the convex fit loss with a stable step size lower it.
    expect(summary.finalLosses.fit).toBeLessThan(initial.fit!)
    expect(Number.isFinite(summary.finalLosses.prior)).toBe(true)
  })

  it("the brief's document is the bloop example", () => {
    const text = readFileSync(new URL("../../examples/specs/least-squares-bloop.json", import.meta.url), "utf8")
    expect(parseSpecDocument(text)).toEqual(decodeSpecDocument(valid))
  })
})
