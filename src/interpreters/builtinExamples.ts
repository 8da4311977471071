/**
 * For tools that loop over every built-in interpreter (the leak benchmark, registry-wide tests):
 * options each one decodes with, and a two-objective structure each one lowers.
 */
import type { Structure } from "../dsl/structure.ts"
import { constrain, hierarchy, prioritize, sum } from "../dsl/structure.ts"

/** `chain` needs a rule (here Bloop, with a transform on each side); Krum tolerates no outlier among the example's few tasks; the others accept `{}`. */
export const exampleOptionsFor = (name: string): unknown =>
  name === "chain"
    ? { before: [{ name: "clip-by-global-norm", options: { maxNorm: 1 } }], rule: { name: "bloop" }, after: [{ name: "normalize" }] }
    : name === "krum"
      ? { byzantine: 0 }
      : {}

/** Rules that need at least three tasks (Krum: k ≥ f + 3; TrimmedMean: k > 2·trim). */
const needsThreeTasks = new Set(["krum", "trimmed-mean"])

/**
 * `prioritize(main, aux, { lambda })`, except for primal-dual, which lowers constraints rather
 * than priorities ("minimise main subject to aux ≤ atMost"), and the rules that need three tasks,
 * which get a third level `main + aux` (tasks ∇main, λ·∇aux, λ·∇main, λ·∇aux).
 */
export const exampleStructureFor = (
  name: string,
  main: Structure,
  aux: Structure,
  options: { readonly lambda: number; readonly atMost: number },
): Structure =>
  name === "primal-dual"
    ? sum(main, constrain(aux, { atMost: options.atMost }))
    : needsThreeTasks.has(name)
      ? hierarchy([main, { of: aux, lambda: options.lambda }, { of: sum(main, aux), lambda: options.lambda }])
      : prioritize(main, aux, { lambda: options.lambda })
