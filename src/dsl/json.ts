/**
 * Specs as JSON documents: the document schema (Effect Schema), its decoder from JSON text or any
 * value, and its encoder. A {@link SpecDocument} is pure data: losses, data and methods are
 * referred to by name. Turning names into objectives needs a problem catalogue and happens one
 * layer up (`problems/resolveSpec.ts`), so this module knows neither problems nor interpreters.
 *
 * Every failure is a {@link SpecError} whose path is written as in the document
 * (`structure.levels[1].lambda`), with one message from the part of the document it concerns: a
 * structure is a union discriminated by `kind`, so `{"kind": "hierarchy", ...}` is checked against
 * the hierarchy's fields only.
 */
import { Either, Schema } from "effect"
import { SpecError } from "./errors.ts"
import { issueMessage, describeValue } from "./issueMessage.ts"
import { findDuplicateKey } from "./jsonDuplicateKeys.ts"
import { locateJsonSyntaxError } from "./jsonSyntax.ts"
import { renderPath } from "./parseIssues.ts"

// ---------------------------------------------------------------------------------------------
// Scalars, each described the way messages name it ("expected a non-negative number, got -2").

const FiniteNumber = Schema.Number.pipe(
  Schema.filter((x) => Number.isFinite(x) || `expected a finite number, got ${x}`),
).annotations({ description: "a finite number" })

const NonNegativeNumber = Schema.Number.pipe(
  Schema.filter((x) => (Number.isFinite(x) && x >= 0) || `expected a non-negative number, got ${x}`),
).annotations({ description: "a non-negative number" })

const PositiveNumber = Schema.Number.pipe(
  Schema.filter((x) => (Number.isFinite(x) && x > 0) || `expected a positive number, got ${x}`),
).annotations({ description: "a positive number" })

/** [0, 1): momentum and Adam's β, where 1 would never forget. */
const DecayRate = Schema.Number.pipe(
  Schema.filter((x) => (x >= 0 && x < 1) || `expected a number in [0, 1), got ${x}`),
).annotations({ description: "a number in [0, 1)" })

const PositiveInteger = Schema.Number.pipe(
  Schema.filter((x) => (Number.isSafeInteger(x) && x > 0) || `expected a positive integer, got ${x}`),
).annotations({ description: "a positive integer" })

/** Seeds go through `Math.trunc` and 32-bit mixing: any safe integer is exact. */
const SafeInteger = Schema.Number.pipe(
  Schema.filter((x) => Number.isSafeInteger(x) || `expected an integer of magnitude below 2^53, got ${x}`),
).annotations({ description: "an integer" })

const Name = (what: string) =>
  Schema.String.pipe(Schema.filter((s) => s.length > 0 || `expected ${what}, got an empty string`)).annotations({
    description: what,
  })

/** A JSON object whose fields are checked later, by whoever owns them (a problem, an interpreter). */
const isRecord = (u: unknown): u is Readonly<Record<string, unknown>> =>
  typeof u === "object" && u !== null && !Array.isArray(u)
const OpaqueObject = Schema.declare(isRecord, { description: "an object" })

const NonEmptyArray = <A, I>(item: Schema.Schema<A, I>, what: string) =>
  Schema.Array(item).pipe(
    Schema.filter((items) => items.length > 0 || `expected at least one ${what}, got an empty list`),
  )

// ---------------------------------------------------------------------------------------------
// Structure: a string names an objective; an object is one construct, chosen by `kind`.

/** A structure in a document: an objective's name, or one of the constructs below. */
export type StructureDocument =
  | string
  | WeightedDocument
  | SumDocument
  | PrioritizeDocument
  | HierarchyDocument
  | ConstrainDocument

/** `weight · of`. */
export interface WeightedDocument {
  readonly kind: "weighted"
  readonly of: StructureDocument
  readonly weight: number
}
/** The sum of the terms. */
export interface SumDocument {
  readonly kind: "sum"
  readonly terms: ReadonlyArray<StructureDocument>
}
/** Minimise `aux` among the minimisers of `main` (λ default 1). */
export interface PrioritizeDocument {
  readonly kind: "prioritize"
  readonly main: StructureDocument
  readonly aux: StructureDocument
  readonly lambda: number
}
/** One level of a hierarchy (λ default 1). */
export interface LevelDocument {
  readonly of: StructureDocument
  readonly lambda: number
}
/** Levels in decreasing priority. */
export interface HierarchyDocument {
  readonly kind: "hierarchy"
  readonly levels: ReadonlyArray<LevelDocument>
}
/** The constraint `of ≤ atMost`. */
export interface ConstrainDocument {
  readonly kind: "constrain"
  readonly of: StructureDocument
  readonly atMost: number
}

/** The JSON form of a structure: as the document, except that λ may be left out. */
export type StructureJson =
  | string
  | { readonly kind: "weighted"; readonly of: StructureJson; readonly weight: number }
  | { readonly kind: "sum"; readonly terms: ReadonlyArray<StructureJson> }
  | { readonly kind: "prioritize"; readonly main: StructureJson; readonly aux: StructureJson; readonly lambda?: number }
  | { readonly kind: "hierarchy"; readonly levels: ReadonlyArray<{ readonly of: StructureJson; readonly lambda?: number }> }
  | { readonly kind: "constrain"; readonly of: StructureJson; readonly atMost: number }

const lambdaField = Schema.optionalWith(NonNegativeNumber, { default: () => 1 })

const nested: Schema.Schema<StructureDocument, StructureJson> = Schema.suspend(() => StructureSchema)

/** The structure schema (recursive). */
export const StructureSchema: Schema.Schema<StructureDocument, StructureJson> = Schema.Union(
  Name("an objective name"),
  Schema.Struct({ kind: Schema.Literal("weighted"), of: nested, weight: FiniteNumber }),
  Schema.Struct({ kind: Schema.Literal("sum"), terms: NonEmptyArray(nested, "term") }),
  Schema.Struct({ kind: Schema.Literal("prioritize"), main: nested, aux: nested, lambda: lambdaField }),
  Schema.Struct({
    kind: Schema.Literal("hierarchy"),
    levels: NonEmptyArray(
      Schema.Struct({ of: nested, lambda: lambdaField }).annotations({ description: 'a level object with "of" and "lambda"' }),
      "level",
    ),
  }),
  Schema.Struct({ kind: Schema.Literal("constrain"), of: nested, atMost: FiniteNumber }),
).annotations({ description: 'an objective name or an object with a "kind"' })

// ---------------------------------------------------------------------------------------------
// Optimizer, problem, method, and the whole document.

/** A learning-rate schedule; its decoded form is `core/optimizers.ts`'s `LearningRateSchedule`. */
export const ScheduleSchema = Schema.Union(
  Schema.Struct({ kind: Schema.Literal("constant") }),
  Schema.Struct({ kind: Schema.Literal("warmup"), warmupSteps: PositiveInteger }),
  Schema.Struct({
    kind: Schema.Literal("step"),
    stepSize: PositiveInteger,
    gamma: Schema.Number.pipe(Schema.filter((x) => (x > 0 && x <= 1) || `expected a number in (0, 1], got ${x}`)),
  }),
  Schema.Struct({
    kind: Schema.Literal("cosine"),
    decaySteps: PositiveInteger,
    warmupSteps: Schema.optionalWith(SafeInteger.pipe(Schema.filter((x) => x >= 0 || `expected a non-negative integer, got ${x}`)), { default: () => 0 }),
    alpha: Schema.optionalWith(
      Schema.Number.pipe(Schema.filter((x) => (x >= 0 && x <= 1) || `expected a number in [0, 1], got ${x}`)),
      { default: () => 0 },
    ),
  }).pipe(
    Schema.filter((s) =>
      s.warmupSteps < s.decaySteps || { path: ["warmupSteps"], message: `expected fewer warm-up steps than decaySteps (${s.decaySteps}), got ${s.warmupSteps}` },
    ),
  ),
).annotations({ description: 'a schedule object with a "kind" (constant, warmup, step, cosine)' })

const schedule = Schema.optional(ScheduleSchema)

/** The optimizer schema; its decoded form is exactly `core/optimizers.ts`'s `OptimizerSettings`. */
export const OptimizerSchema = Schema.Union(
  Schema.Struct({ kind: Schema.Literal("sgd"), learningRate: PositiveNumber, schedule }),
  Schema.Struct({
    kind: Schema.Literal("momentum"),
    learningRate: PositiveNumber,
    momentum: Schema.optionalWith(DecayRate, { default: () => 0.9 }),
    schedule,
  }),
  Schema.Struct({
    kind: Schema.Literal("nesterov"),
    learningRate: PositiveNumber,
    momentum: Schema.optionalWith(DecayRate, { default: () => 0.9 }),
    schedule,
  }),
  Schema.Struct({
    kind: Schema.Literal("adam"),
    learningRate: PositiveNumber,
    beta1: Schema.optionalWith(DecayRate, { default: () => 0.9 }),
    beta2: Schema.optionalWith(DecayRate, { default: () => 0.999 }),
    epsilon: Schema.optionalWith(PositiveNumber, { default: () => 1e-8 }),
    schedule,
  }),
  Schema.Struct({
    kind: Schema.Literal("adamw"),
    learningRate: PositiveNumber,
    beta1: Schema.optionalWith(DecayRate, { default: () => 0.9 }),
    beta2: Schema.optionalWith(DecayRate, { default: () => 0.999 }),
    epsilon: Schema.optionalWith(PositiveNumber, { default: () => 1e-8 }),
    weightDecay: Schema.optionalWith(NonNegativeNumber, { default: () => 0.01 }),
    schedule,
  }),
  Schema.Struct({
    kind: Schema.Literal("rmsprop"),
    learningRate: PositiveNumber,
    decay: Schema.optionalWith(DecayRate, { default: () => 0.9 }),
    epsilon: Schema.optionalWith(PositiveNumber, { default: () => 1e-7 }),
    schedule,
  }),
).annotations({ description: 'an optimizer object with a "kind"' })

const emptyOptions = (): Readonly<Record<string, unknown>> => ({})

/** Which problem, with options its factory decodes (see `problems/catalogue.ts`). */
export const ProblemReferenceSchema = Schema.Struct({
  name: Name("a problem name"),
  options: Schema.optionalWith(OpaqueObject, { default: emptyOptions }),
}).annotations({ description: 'an object with the problem\'s "name"' })

/** Which interpreter, with options it decodes itself (`Interpreter.decodeOptions`). */
export const MethodReferenceSchema = Schema.Struct({
  name: Name("a method name"),
  options: Schema.optionalWith(OpaqueObject, { default: emptyOptions }),
  /**
   * Aggregate only the parameters the problem shares (its `sharing`: each task's head steps on its
   * own gradient), as TorchJD's `mtl_backward` and LibMTL do; absent or false: the whole vector.
   */
  sharedParameters: Schema.optional(Schema.Boolean),
}).annotations({ description: 'an object with the method\'s "name"' })

/** The interpreter used when a document names none. */
export const defaultMethod = { name: "bloop", options: {} } as const

/** The whole document. */
export const SpecDocumentSchema = Schema.Struct({
  problem: ProblemReferenceSchema,
  structure: StructureSchema,
  method: Schema.optionalWith(MethodReferenceSchema, { default: () => defaultMethod }),
  optimizer: OptimizerSchema,
  /** The run's length in steps, or (instead) in `epochs`: exactly one of the two. */
  steps: Schema.optional(PositiveInteger),
  epochs: Schema.optional(PositiveInteger),
  batchSize: PositiveInteger,
  seed: Schema.optionalWith(SafeInteger, { default: () => 0 }),
  nonFinite: Schema.optionalWith(Schema.Literal("fail", "skip"), { default: () => "fail" as const }),
  /** How examples are drawn (`Sampling`); with `epochs` the default is "epochs", else "replacement". */
  sampling: Schema.optional(Schema.Literal("replacement", "epochs", "epochs-drop-last")),
  /** Threads computing each step's gradients (data parallel; see `TrainingOptions.workers`). */
  workers: Schema.optionalWith(PositiveInteger, { default: () => 1 }),
}).pipe(
  Schema.filter((d) =>
    d.steps === undefined && d.epochs === undefined
      ? { path: ["steps"], message: "expected steps or epochs, got neither" }
      : d.steps !== undefined && d.epochs !== undefined
        ? { path: ["epochs"], message: "expected steps or epochs, not both" }
        : true,
  ),
).annotations({ description: "a spec object" })

/** A document's length as declared: its steps, or its epochs. */
export const runLengthOf = (document: { readonly steps?: number | undefined; readonly epochs?: number | undefined }): number | { readonly epochs: number } =>
  document.steps ?? { epochs: document.epochs! }

/** A decoded spec document: every default filled in, every name still a name. */
export type SpecDocument = typeof SpecDocumentSchema.Type
/** A document as written in JSON (defaults may be left out). */
export type SpecDocumentJson = typeof SpecDocumentSchema.Encoded
export type ProblemReference = typeof ProblemReferenceSchema.Type
export type MethodReference = typeof MethodReferenceSchema.Type
export type OptimizerDocument = typeof OptimizerSchema.Type

// ---------------------------------------------------------------------------------------------
// Decoding and encoding.

/**
 * Containers deeper than this are refused before decoding: the decoder recurses once per level,
 * and no meaningful spec comes near it (a structure nested 64 constructs deep is a mistake).
 */
export const maxDocumentDepth = 64

/**
 * Values (objects, arrays and leaves, counted once per place they appear) a document may hold. A
 * value passed from code can share one object in many places, so its tree can be exponentially
 * larger than the value itself (30 levels of `{ terms: [x, x] }` are 2^30 leaves): decoding
 * would never end. A sum of 150,000 terms holds a few hundred thousand.
 */
export const maxDocumentValues = 1_000_000

/** A place in the document: its key and its parent's place (a path built only when reported). */
interface Place {
  readonly key: PropertyKey
  readonly parent: Place | undefined
  readonly depth: number
}

const pathOf = (place: Place | undefined): ReadonlyArray<PropertyKey> => {
  const keys: Array<PropertyKey> = []
  for (let p = place; p !== undefined; p = p.parent) keys.push(p.key)
  return keys.reverse()
}

/** Whether `String(value)` throws (`{"toString": {}}`, an object without a prototype). */
const hasNoText = (value: object): boolean => {
  try {
    String(value)
    return false
  } catch {
    return true
  }
}

/**
 * The first place, outside the free-form `options` records, whose value no text can be made of.
 * Effect's Schema reads a tagged union's tag with `String(input.kind)`, which throws for such a
 * value; this names the place of that failure. Runs after {@link outOfBounds} has bounded the
 * document, without recursion.
 */
const placeWithoutText = (input: unknown): ReadonlyArray<PropertyKey> => {
  const stack: Array<{ value: unknown; place: Place | undefined }> = [{ value: input, place: undefined }]
  while (stack.length > 0) {
    const { value, place } = stack.pop()!
    if (typeof value !== "object" || value === null) continue
    if (place !== undefined && !Array.isArray(value) && hasNoText(value)) return pathOf(place)
    if (place?.key === "options") continue
    const keys: ReadonlyArray<PropertyKey> = Array.isArray(value) ? value.map((_, i) => i) : Object.keys(value)
    for (let k = keys.length - 1; k >= 0; k--) {
      stack.push({ value: (value as Record<PropertyKey, unknown>)[keys[k]!], place: { key: keys[k]!, parent: place, depth: (place?.depth ?? 0) + 1 } })
    }
  }
  return []
}

/**
 * The first container deeper than `limit` levels, or the place where the document exceeds
 * `maxValues` values; found without recursion, so cycles and shared objects end too.
 */
const outOfBounds = (
  input: unknown,
  limit: number,
  maxValues: number,
): { readonly path: ReadonlyArray<PropertyKey>; readonly problem: string } | undefined => {
  const stack: Array<{ value: unknown; place: Place | undefined }> = [{ value: input, place: undefined }]
  let count = 0
  while (stack.length > 0) {
    const { value, place } = stack.pop()!
    if (++count > maxValues) return { path: pathOf(place), problem: `more than ${maxValues} values (an object used in several places counts once per place)` }
    if (typeof value !== "object" || value === null) continue
    const depth = place?.depth ?? 0
    if (depth >= limit) return { path: pathOf(place), problem: `nested deeper than ${limit} levels` }
    const keys: ReadonlyArray<PropertyKey> = Array.isArray(value) ? value.map((_, i) => i) : Object.keys(value)
    for (let k = keys.length - 1; k >= 0; k--) {
      stack.push({ value: (value as Record<PropertyKey, unknown>)[keys[k]!], place: { key: keys[k]!, parent: place, depth: depth + 1 } })
    }
  }
  return undefined
}

const decodeDocument = Schema.decodeUnknownEither(SpecDocumentSchema, { errors: "first", onExcessProperty: "error" })

/** Decode a spec document from any value (parsed JSON, a literal object). */
export const decodeSpecDocument = (input: unknown): Either.Either<SpecDocument, SpecError> => {
  const bound = outOfBounds(input, maxDocumentDepth, maxDocumentValues)
  if (bound !== undefined) return Either.left(new SpecError({ path: renderPath("", bound.path), problem: bound.problem }))
  let decoded: ReturnType<typeof decodeDocument>
  try {
    decoded = decodeDocument(input)
  } catch {
    // The decoder threw: a value that defeats Schema's own `String` conversion of a tag
    // (`{"toString": {}}`, which JSON.parse makes). Still a SpecError at its place, never a defect.
    return Either.left(new SpecError({ path: renderPath("", placeWithoutText(input)), problem: "a value that cannot be converted to text (an object whose own 'toString' or 'valueOf' is not a function, or without a prototype)" }))
  }
  return Either.mapLeft(decoded, (error) => {
    const { path, message } = issueMessage(error)
    return new SpecError({ path, problem: message })
  })
}

/**
 * Parse JSON text; a syntax error becomes a {@link SpecError} at path "" with line and column, and
 * a key repeated within one object (which `JSON.parse` would silently resolve to its last value) a
 * SpecError at the path of that object. A UTF-8 byte order mark before the text is ignored (some
 * editors write one).
 */
export const parseJsonText = (input: string): Either.Either<unknown, SpecError> => {
  const text = input.startsWith(byteOrderMark) ? input.slice(1) : input
  return Either.flatMap(parseJsonSyntax(text), (value) => {
    const duplicate = findDuplicateKey(text)
    return duplicate === undefined
      ? Either.right(value)
      : Either.left(
          new SpecError({
            path: renderPath("", duplicate.path),
            problem: `duplicate key ${JSON.stringify(duplicate.key)} (line ${duplicate.line}, column ${duplicate.column}); JSON keeps only the last value, so remove one of them`,
          }),
        )
  })
}

const byteOrderMark = "\uFEFF"

const parseJsonSyntax = (text: string): Either.Either<unknown, SpecError> =>
  Either.try({
    try: (): unknown => JSON.parse(text),
    catch: (error) => {
      const at = locateJsonSyntaxError(text)
      return new SpecError({
        path: "",
        problem:
          at === undefined
            ? `invalid JSON: ${error instanceof Error ? error.message : describeValue(error)}`
            : `invalid JSON at line ${at.line}, column ${at.column} (offset ${at.offset}): expected ${at.expected}, got ${at.found}`,
      })
    },
  })

/** Decode a spec document from JSON text. */
export const parseSpecDocument = (text: string): Either.Either<SpecDocument, SpecError> =>
  Either.flatMap(parseJsonText(text), decodeSpecDocument)

/** The JSON value of a document, with every default written out; decoding it gives the document back. */
export const encodeSpecDocument = (document: SpecDocument): SpecDocumentJson =>
  Schema.encodeSync(SpecDocumentSchema)(document)

/** A document as JSON text (two-space indentation). */
export const formatSpecDocument = (document: SpecDocument): string => JSON.stringify(encodeSpecDocument(document), null, 2)
