/**
 * Decoding an interpreter's options with Effect Schema, so that bad options from JSON or the
 * command line name the interpreter, the field and the problem.
 */
import { Effect, Schema, SchemaAST } from "effect"
import { issueMessage } from "../dsl/issueMessage.ts"
import { InvalidOptions } from "./interpreter.ts"

/**
 * Effect Schema lets an empty `Schema.Struct({})` accept any value, excess keys included (it is
 * the `{}` type); for an interpreter without options that would hide a misspelt option, so such
 * schemas are checked here: options must be an object without keys.
 */
const refuseAnyKey = (ast: SchemaAST.AST, raw: unknown): { readonly path: string; readonly problem: string } | undefined => {
  if (!(SchemaAST.isTypeLiteral(ast) && ast.propertySignatures.length === 0 && ast.indexSignatures.length === 0)) return undefined
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return { path: "", problem: `expected an object of options, got ${JSON.stringify(raw)}` }
  const key = Object.keys(raw)[0]
  return key === undefined ? undefined : { path: key, problem: "is unexpected: this takes no options" }
}

/** A decoder for `schema` whose failures are {@link InvalidOptions} of `interpreter`. */
export const optionsDecoder =
  <A, I>(interpreter: string, schema: Schema.Schema<A, I, never>) =>
  (raw: unknown): Effect.Effect<A, InvalidOptions> => {
    const refused = refuseAnyKey(schema.ast, raw ?? {})
    if (refused !== undefined) return Effect.fail(new InvalidOptions({ interpreter, ...refused }))
    return Schema.decodeUnknown(schema, { errors: "first", onExcessProperty: "error" })(raw ?? {}).pipe(
      Effect.mapError((error) => {
        // The same wording as spec documents (`expected a positive number, got -1`), not Effect's
        // rendering of the schema's TypeScript type.
        const { path, message } = issueMessage(error)
        return new InvalidOptions({ interpreter, path, problem: message })
      }),
    )
  }

/** A non-negative finite number, with a message that says so. */
export const NonNegative = Schema.Number.pipe(
  Schema.filter((x) => (Number.isFinite(x) && x >= 0) || `expected a non-negative number, got ${x}`),
)

/** A number in the open-closed interval (0, 1]. */
export const UnitRate = Schema.Number.pipe(
  Schema.filter((x) => (x > 0 && x <= 1) || `expected a number in (0, 1], got ${x}`),
)
