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

/** The names of the built-in interpreters: the keys of {@link builtinInterpreters} (a test checks they agree). */
export const builtinMethodNames = [
  "bloop", "bloop-no-ema", "weighted-sum", "mean", "pcgrad", "mgda", "cagrad", "imtl-g", "upgrad", "dynamic-barrier", "primal-dual",
  "aligned-mtl", "config", "dualproj", "fairgrad", "graddrop", "gradvac", "nash-mtl", "random", "krum", "trimmed-mean", "excess-mtl",
  "moco", "sdmgrad", "modo", "dwa", "uncertainty", "famo", "gradnorm", "stch", "geometric-mean", "db-mtl", "chain",
] as const

/** A built-in interpreter's name. */
export type BuiltinMethodName = (typeof builtinMethodNames)[number]

/**
 * The method names that type-check where a name is accepted (`method(name)`, `train(spec, name)`):
 * the built-ins, plus what a program adds for the interpreters it registers, by declaration merging:
 *
 * ```ts
 * declare module "scalpel" {
 *   interface MethodNames { "capped-sum": true }
 * }
 * ```
 *
 * A misspelt name (`"pcgard"`) is then a compile-time error. A name known only at run time (read
 * from JSON or a command line) goes through {@link methodNamed}, checked when it is lowered.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- the interface is the extension point
export interface MethodNames extends Record<BuiltinMethodName, true> {}

/** A method name: a key of {@link MethodNames}. */
export type MethodName = keyof MethodNames & string

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
export function method(name: MethodName, options?: Readonly<Record<string, unknown>>): Method
export function method(interpreter: Interpreter<any> | string, options?: unknown): Method {
  return { _tag: "Method", interpreter, options: options ?? {} }
}

/**
 * A method by a name known only at run time (a JSON spec's `method.name`, a command-line flag):
 * not checked by the compiler, but when lowered, as every name is — an unregistered one is an
 * `UnknownInterpreter` error listing the known names.
 */
export const methodNamed = (name: string, options?: Readonly<Record<string, unknown>>): Method => ({ _tag: "Method", interpreter: name, options: options ?? {} })

/** What names a method: a {@link Method}, an interpreter (default options), or a registered name (default options). */
export type MethodLike = Method | Interpreter<any> | MethodName

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
