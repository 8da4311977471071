/**
 * Building a spec from a {@link SpecRecipe}, as a gradient worker does, and the recipe of a JSON
 * spec document (what the command line trains).
 */
import { pathToFileURL } from "node:url"
import { Effect } from "effect"
import type { Spec } from "../../dsl/spec.ts"
import { resolveSpecValue } from "../../problems/resolveSpec.ts"
import type { SpecRecipe } from "./protocol.ts"

/** A spec and what to release when the worker ends. */
export interface BuiltSpec {
  readonly spec: Spec
  readonly dispose: () => void
}

const isSpec = (x: unknown): x is Spec =>
  typeof x === "object" && x !== null && "structure" in x && "parameters" in x && "optimizer" in x

/** Import the recipe's module, call its export, and await the result (Promise or Effect). */
export const buildSpec = async (recipe: SpecRecipe): Promise<BuiltSpec> => {
  const url = /^[a-z][a-z0-9+.-]*:/i.test(recipe.module) ? recipe.module : pathToFileURL(recipe.module).href
  const module = (await import(url)) as Record<string, unknown>
  const make = module[recipe.export]
  if (typeof make !== "function") throw new Error(`module ${recipe.module} has no exported function '${recipe.export}'`)
  let result: unknown = await make(recipe.argument)
  if (Effect.isEffect(result)) result = await Effect.runPromise(result as Effect.Effect<unknown, unknown>)
  if (isSpec(result)) return { spec: result, dispose: () => {} }
  if (typeof result === "object" && result !== null && "spec" in result && isSpec(result.spec)) {
    const owner = result as { spec: Spec; problem?: { dispose?: () => void } }
    return { spec: owner.spec, dispose: () => owner.problem?.dispose?.() }
  }
  throw new Error(`${recipe.module}#${recipe.export} returned neither a Spec nor an object with a 'spec'`)
}

/**
 * The recipe function for JSON spec documents: resolves `document` against the built-in problem
 * catalogue, as `scalpel run` does. Use it through {@link documentRecipe}.
 */
export const specOfDocument = (document: unknown) => resolveSpecValue(document)

/** The recipe that rebuilds the spec of a JSON spec document (the parsed value) in a worker. */
export const documentRecipe = (document: unknown): SpecRecipe => ({ module: import.meta.url, export: "specOfDocument", argument: document })
