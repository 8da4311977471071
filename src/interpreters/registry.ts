/**
 * A registry of interpreters, by name. Immutable: `register` returns a new registry, so a user's
 * additions never change what another part of the program sees.
 */
import { Data, Effect } from "effect"
import { didYouMean } from "../dsl/suggest.ts"
import type { Interpreter } from "./interpreter.ts"

/** Interpreters by name. */
export type InterpreterRegistry = ReadonlyMap<string, Interpreter<any>>

/** No interpreter is registered under that name. */
export class UnknownInterpreter extends Data.TaggedError("UnknownInterpreter")<{
  readonly name: string
  readonly known: ReadonlyArray<string>
}> {
  override get message(): string {
    return `no interpreter named '${this.name}'${didYouMean(this.name, this.known)}; known: ${this.known.join(", ")}`
  }
}

/** A registry holding `interpreters`. */
export const makeRegistry = (interpreters: ReadonlyArray<Interpreter<any>>): InterpreterRegistry =>
  new Map(interpreters.map((i) => [i.name, i]))

/** A new registry with `interpreter` added (replacing one of the same name). */
export const register = (registry: InterpreterRegistry, interpreter: Interpreter<any>): InterpreterRegistry =>
  new Map([...registry, [interpreter.name, interpreter]])

/** Find an interpreter by name. */
export const lookup = (registry: InterpreterRegistry, name: string): Effect.Effect<Interpreter<any>, UnknownInterpreter> => {
  const found = registry.get(name)
  return found === undefined ? Effect.fail(new UnknownInterpreter({ name, known: [...registry.keys()] })) : Effect.succeed(found)
}
