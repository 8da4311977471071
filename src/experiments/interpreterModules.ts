/**
 * Interpreter modules: user code that adds update rules to the registry a command looks methods up
 * in, so that a JSON spec, `scalpel run`, a sweep's `--method` list or a queue worker can name a
 * rule written in the user's own project. The module exports its interpreters as `interpreters` (or
 * as its default export), an array of {@link Interpreter} values, the same values code passes to
 * `register`:
 *
 * ```ts
 * export const interpreters = [cappedSum]
 * ```
 *
 * A sweep's own process, every local worker process and every queue worker load the same modules
 * before training anything (`pool.ts`, `queue/serve.ts`).
 */
import { Data, Effect } from "effect"
import { builtinInterpreters } from "../interpreters/builtins.ts"
import type { Interpreter } from "../interpreters/interpreter.ts"
import { type InterpreterRegistry, register } from "../interpreters/registry.ts"
import { importUserModule } from "./problemModules.ts"

/** An interpreter module cannot be loaded, or does not export interpreters. */
export class InterpreterModuleError extends Data.TaggedError("InterpreterModuleError")<{
  /** The module as the user named it. */
  readonly module: string
  readonly reason: string
}> {
  override get message(): string {
    return `cannot load interpreter module '${this.module}': ${this.reason}`
  }
}

const isInterpreter = (value: unknown): value is Interpreter<unknown> => {
  if (typeof value !== "object" || value === null) return false
  const candidate = value as Record<string, unknown>
  return typeof candidate["name"] === "string" && typeof candidate["decodeOptions"] === "function" && typeof candidate["lower"] === "function"
}

const interpretersOf = (module: string, exports: Record<string, unknown>): Effect.Effect<ReadonlyArray<Interpreter<unknown>>, InterpreterModuleError> => {
  const exported = exports["interpreters"] ?? exports["default"]
  if (!Array.isArray(exported)) {
    return new InterpreterModuleError({ module, reason: "it exports no 'interpreters' array (expected `export const interpreters = [myInterpreter]`)" })
  }
  const bad = exported.findIndex((i) => !isInterpreter(i))
  if (bad >= 0) {
    return new InterpreterModuleError({ module, reason: `interpreters[${bad}] is not an interpreter (expected { name, description, decodeOptions, lower })` })
  }
  return Effect.succeed(exported as ReadonlyArray<Interpreter<unknown>>)
}

/** Import one interpreter module and return its interpreters. */
export const importInterpreterModule = (module: string, cwd: string = process.cwd()) =>
  importUserModule(module, cwd, (reason) => new InterpreterModuleError({ module, reason })).pipe(Effect.flatMap((exports) => interpretersOf(module, exports)))

/** `base` (the built-in interpreters by default) with the interpreters of every module registered, in order. */
export const loadInterpreterModules = (
  modules: ReadonlyArray<string>,
  cwd: string = process.cwd(),
  base: InterpreterRegistry = builtinInterpreters,
): Effect.Effect<InterpreterRegistry, InterpreterModuleError> =>
  Effect.reduce(modules, base, (registry, module) => Effect.map(importInterpreterModule(module, cwd), (interpreters) => interpreters.reduce(register, registry)))
