/**
 * For tools that loop over every built-in interpreter (the leak benchmark, registry-wide tests):
 * options each one decodes with, and a two-objective structure each one lowers.
 */
import type { Structure } from "../dsl/structure.ts"
import { constrain, prioritize, sum } from "../dsl/structure.ts"

/** `chain` needs a rule (here Bloop, with a transform on each side); the others accept `{}`. */
export const exampleOptionsFor = (name: string): unknown =>
  name === "chain"
    ? { before: [{ name: "clip-by-global-norm", options: { maxNorm: 1 } }], rule: { name: "bloop" }, after: [{ name: "normalize" }] }
    : {}

/**
 * `prioritize(main, aux, { lambda })`, except for primal-dual, which lowers constraints rather
 * than priorities: "minimise main subject to aux ≤ atMost".
 */
export const exampleStructureFor = (
  name: string,
  main: Structure,
  aux: Structure,
  options: { readonly lambda: number; readonly atMost: number },
): Structure => (name === "primal-dual" ? sum(main, constrain(aux, { atMost: options.atMost })) : prioritize(main, aux, { lambda: options.lambda }))
