/**
 * A method: an interpreter (or its registered name) together with its options, so that training a
 * declared problem is one call — `train(spec, method(bloop, { rho: 0.01 }))` — with the seed given
 * once, in the spec. {@link lowerMethod} is the three-step path (look up, decode the options,
 * lower) that such a call takes.
 */
import { Effect } from "effect"
import type { Structure } from "../dsl/structure.ts"
import { builtinInterpreters } from "./builtins.ts"
import type { InvalidOptions, Interpreter, LoweringContext, Unsupported, UpdateRule } from "./interpreter.ts"
import { lookup, type InterpreterRegistry, type UnknownInterpreter } from "./registry.ts"

/**
 * Options as a user writes them: every field of the interpreter's decoded options may be left out
 * (its default applies). They are decoded by the interpreter's own `decodeOptions`.
 */
export type MethodOptions<O> = O extends object ? { readonly [K in keyof O]?: O[K] } : O

/** An interpreter (or a registered name) with the options to decode and lower with. */
export interface Method {
  readonly _tag: "Method"
  readonly interpreter: Interpreter<any> | string
  /** Raw options, decoded by the interpreter (`Interpreter.decodeOptions`). */
  readonly options: unknown
}

/** `interpreter` with `options` (typed from the interpreter's options; omitted fields take their defaults). */
export function method<O>(interpreter: Interpreter<O>, options?: MethodOptions<O>): Method
/** The interpreter registered as `name` (built-ins unless a registry is given to `lowerMethod`) with raw `options`. */
export function method(name: string, options?: Readonly<Record<string, unknown>>): Method
export function method(interpreter: Interpreter<any> | string, options?: unknown): Method {
  return { _tag: "Method", interpreter, options: options ?? {} }
}

/** What names a method: a {@link Method}, an interpreter (default options), or a registered name (default options). */
export type MethodLike = Method | Interpreter<any> | string

/** Errors of turning a method into an update rule. */
export type LoweringError = UnknownInterpreter | InvalidOptions | Unsupported

/**
 * Look up the interpreter (in `registry`, default {@link builtinInterpreters}), decode the options
 * and lower `structure`.
 */
export const lowerMethod = (
  how: MethodLike,
  structure: Structure,
  context: LoweringContext,
  registry: InterpreterRegistry = builtinInterpreters,
): Effect.Effect<UpdateRule<any>, LoweringError> =>
  Effect.gen(function* () {
    const m: Method = typeof how === "string" ? method(how) : "_tag" in how ? how : method(how)
    const interpreter = typeof m.interpreter === "string" ? yield* lookup(registry, m.interpreter) : m.interpreter
    const options = yield* interpreter.decodeOptions(m.options)
    return yield* interpreter.lower(structure, options, context)
  })
