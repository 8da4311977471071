/**
 * `chain` by name: the {@link ./chain.ts chain} combinator as a registered interpreter, so that JSON
 * specs and the command line can compose transforms with a rule:
 *
 *   { "name": "chain", "options": {
 *       "before": [{ "name": "clip-by-global-norm", "options": { "maxNorm": 1 } }],
 *       "rule": { "name": "bloop", "options": { "rho": 0.01 } },
 *       "after": [] } }
 *
 * Transform names come from a transform registry (`builtinTransforms`), rule names from an
 * interpreter registry given to {@link chainInterpreter}. Taking the registry as an argument keeps
 * this module free of `builtins.ts` (which registers `chainInterpreter(baseRegistry)`), and means a
 * chain cannot name `chain` itself: nesting adds nothing that a longer `before`/`after` cannot say.
 *
 * Decoding checks the shape with Effect Schema, then resolves every name and decodes every nested
 * option; all failures are `InvalidOptions` of `chain` whose path points into the options, e.g.
 * `before[0].name: unknown transform 'clip' (known: …)` or `rule.options.rho: …`.
 */
import { Effect, Schema } from "effect"
import { chain } from "./chain.ts"
import { type Interpreter, InvalidOptions } from "./interpreter.ts"
import { optionsDecoder } from "./options.ts"
import type { InterpreterRegistry } from "./registry.ts"
import { builtinTransforms, type Transform, type TransformFactory } from "./transforms.ts"

const chainName = "chain"

const Reference = Schema.Struct({
  name: Schema.String.pipe(Schema.filter((s) => s.length > 0 || "expected a non-empty name, got an empty string")).annotations({
    description: "a non-empty name",
  }),
  options: Schema.optional(Schema.Unknown),
})

/** The JSON form of a chain's options, before names are resolved. */
export const ChainOptionsDocument = Schema.Struct({
  before: Schema.optionalWith(Schema.Array(Reference), { default: () => [] }),
  rule: Reference,
  after: Schema.optionalWith(Schema.Array(Reference), { default: () => [] }),
})
export type ChainOptionsDocument = typeof ChainOptionsDocument.Type

/** A chain's decoded options: resolved transforms, the rule and its decoded options. */
export interface ChainOptions {
  readonly before: ReadonlyArray<Transform<any>>
  readonly rule: Interpreter<any>
  /** The rule's options, already decoded by `rule.decodeOptions`. */
  readonly ruleOptions: unknown
  readonly after: ReadonlyArray<Transform<any>>
}

const invalid = (path: string, problem: string) => new InvalidOptions({ interpreter: chainName, path, problem })

/** Re-home a nested decoder's error under `path` of the chain's options. */
const nested = (path: string) => (error: InvalidOptions) => invalid(error.path === "" ? path : `${path}.${error.path}`, error.problem)

const resolveTransform = (
  reference: typeof Reference.Type,
  path: string,
  transforms: ReadonlyMap<string, TransformFactory<any>>,
  rules: InterpreterRegistry,
): Effect.Effect<Transform<any>, InvalidOptions> => {
  const found = transforms.get(reference.name)
  if (found === undefined) {
    const hint = rules.has(reference.name) || reference.name === chainName ? ` — '${reference.name}' is a combination rule: name it in rule` : ""
    return Effect.fail(invalid(`${path}.name`, `unknown transform '${reference.name}' (known: ${[...transforms.keys()].join(", ")})${hint}`))
  }
  return Effect.map(Effect.mapError(found.decodeOptions(reference.options), nested(`${path}.options`)), (options) => found.make(options))
}

const resolveRule = (
  reference: typeof Reference.Type,
  transforms: ReadonlyMap<string, TransformFactory<any>>,
  rules: InterpreterRegistry,
): Effect.Effect<readonly [Interpreter<any>, unknown], InvalidOptions> => {
  const found = rules.get(reference.name)
  if (found === undefined) {
    const hint = transforms.has(reference.name)
      ? ` — '${reference.name}' is a transform: list it in before or after`
      : reference.name === chainName
        ? " — a chain's rule cannot be another chain: list all transforms in this one's before and after"
        : ""
    return Effect.fail(invalid("rule.name", `unknown interpreter '${reference.name}' (known: ${[...rules.keys()].join(", ")})${hint}`))
  }
  return Effect.map(Effect.mapError(found.decodeOptions(reference.options), nested("rule.options")), (options) => [found, options] as const)
}

/**
 * The `chain` interpreter over the rules of `rules` and the transforms of `transforms`. Its decoded
 * options lower exactly as `chain(...before, rule, ...after)` with the rule's decoded options.
 */
export const chainInterpreter = (
  rules: InterpreterRegistry,
  transforms: ReadonlyMap<string, TransformFactory<any>> = builtinTransforms,
): Interpreter<ChainOptions> => {
  const decodeDocument = optionsDecoder(chainName, ChainOptionsDocument)
  return {
    name: chainName,
    description: "Transforms (e.g. clip-by-global-norm) on each objective's gradient, a combination rule, then transforms on the direction (Optax-style chain).",
    decodeOptions: (raw) =>
      Effect.gen(function* () {
        const document = yield* decodeDocument(raw)
        const before = yield* Effect.all(document.before.map((r, i) => resolveTransform(r, `before[${i}]`, transforms, rules)))
        const [rule, ruleOptions] = yield* resolveRule(document.rule, transforms, rules)
        const after = yield* Effect.all(document.after.map((r, i) => resolveTransform(r, `after[${i}]`, transforms, rules)))
        return { before, rule, ruleOptions, after }
      }),
    lower: (structure, options, context) => chain(...options.before, options.rule, ...options.after).lower(structure, options.ruleOptions, context),
  }
}
