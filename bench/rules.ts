/** Lowering a built-in interpreter by name, as every benchmark that loops over rules needs it. */
import { Effect } from "effect"
import type { Structure } from "../src/dsl/structure.ts"
import { builtinInterpreters } from "../src/interpreters/builtins.ts"
import type { UpdateRule } from "../src/interpreters/interpreter.ts"
import { lookup } from "../src/interpreters/registry.ts"

/** The update rule of built-in interpreter `name` for `structure`, with `options` (default `{}`). */
export const lowerBuiltin = (name: string, structure: Structure, seed: number, options: unknown = {}): UpdateRule<any> =>
  Effect.runSync(
    Effect.gen(function* () {
      const interpreter = yield* lookup(builtinInterpreters, name)
      return yield* interpreter.lower(structure, yield* interpreter.decodeOptions(options), { seed })
    }),
  )
