/**
 * The gradient-worker recipe of `scalpel run --workers N` when the spec names a problem from a
 * `--problems` module: each worker thread loads the same modules before resolving the document
 * (closures cannot cross threads; see training/parallel/recipe.ts).
 */
import { Effect } from "effect"
import { encodeSpecDocument, type SpecDocument } from "../dsl/json.ts"
import { loadProblemModules, moduleLocation } from "../experiments/problemModules.ts"
import { resolveSpecValue } from "../problems/resolveSpec.ts"
import { documentRecipe } from "../training/parallel/recipe.ts"
import type { SpecRecipe } from "../training/parallel/protocol.ts"

interface DocumentWithModules {
  readonly document: unknown
  /** Module locations (file: URLs or package names), as this process resolved them. */
  readonly problemModules: ReadonlyArray<string>
}

/** The recipe function: load the problem modules, then resolve the document against them. */
export const specOfDocumentWithProblems = ({ document, problemModules }: DocumentWithModules) =>
  Effect.flatMap(loadProblemModules(problemModules), (catalogue) => resolveSpecValue(document, catalogue))

/** The recipe for `document`: the plain document recipe when no problem module is needed. */
export const recipeOf = (document: SpecDocument, problemModules: ReadonlyArray<string>): SpecRecipe =>
  problemModules.length === 0
    ? documentRecipe(encodeSpecDocument(document))
    : {
        module: import.meta.url,
        export: "specOfDocumentWithProblems",
        argument: { document: encodeSpecDocument(document), problemModules: problemModules.map((m) => moduleLocation(m)) } satisfies DocumentWithModules,
      }
