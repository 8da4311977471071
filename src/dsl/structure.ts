/**
 * How objectives combine: immutable values built with small combinators.
 *
 * `prioritize(main, aux, { lambda })` declares the bilevel problem "minimise aux among the
 * minimisers of main" (Hsieh et al. 2024, §2); `hierarchy([...])` generalises it to n levels. A
 * structure says *what* is wanted; an interpreter decides *how* to get there (Bloop, a weighted
 * sum, PCGrad, ...), or says it cannot with a typed `Unsupported` error.
 */
import { Either } from "effect"
import { SpecError } from "./errors.ts"
import type { Objective } from "./objective.ts"

declare const declaredNames: unique symbol

/**
 * Type-level only: the names of the objectives a structure declares (never present at run time),
 * so that what training reports (`finalLosses`, the history) is keyed by them.
 */
export interface DeclaresObjectives<N extends string> {
  readonly [declaredNames]?: N
}

/** The objective names a structure declares (`string` when the type does not know them). */
export type ObjectiveNamesOf<S> = S extends DeclaresObjectives<infer N>
  ? string extends N ? string : N
  : S extends { readonly _tag: "Objective"; readonly name: infer N extends string }
    ? N
    : string

/** `weight · of`. */
export interface Weighted<N extends string = string> extends DeclaresObjectives<N> {
  readonly _tag: "Weighted"
  readonly of: Structure
  readonly weight: number
}

/** The sum of several structures, all of equal rank. */
export interface Sum<N extends string = string> extends DeclaresObjectives<N> {
  readonly _tag: "Sum"
  readonly terms: ReadonlyArray<Structure>
}

/** One level of a priority hierarchy, with the factor λ applied to its (projected) gradient. */
export interface Level {
  readonly of: Structure
  readonly lambda: number
}

/** Levels in decreasing priority: level k is minimised only among the minimisers of levels < k. */
export interface Hierarchy<N extends string = string> extends DeclaresObjectives<N> {
  readonly _tag: "Hierarchy"
  readonly levels: ReadonlyArray<Level>
  /**
   * Set by {@link prioritize}: errors then name its arguments (`structure.aux`, `structure.lambda`,
   * as the JSON form `{ "kind": "prioritize", main, aux, lambda }` does), not the levels the user
   * never wrote.
   */
  readonly declaredWith?: "prioritize"
}

/**
 * The constraint `of ≤ atMost`. Used as a term beside other objectives, e.g.
 * `sum(main, constrain(aux, { atMost: 0.1 }))`: minimise main subject to aux ≤ 0.1.
 */
export interface Constrained<N extends string = string> extends DeclaresObjectives<N> {
  readonly _tag: "Constrained"
  readonly of: Structure
  readonly atMost: number
}

/** Everything a user can declare. */
export type Structure = Objective<any> | Weighted | Sum | Hierarchy | Constrained

/** `weight · of` (a plain scalarisation). */
export const weighted = <S extends Structure>(of: S, weight: number): Weighted<ObjectiveNamesOf<S>> => ({ _tag: "Weighted", of, weight })

/** The sum of `terms`. */
export const sum = <const T extends ReadonlyArray<Structure>>(...terms: T): Sum<ObjectiveNamesOf<T[number]>> => ({ _tag: "Sum", terms })

/** The sum of a list of terms of any length (spreading a long list into {@link sum} would overflow the call stack). */
export const sumOf = (terms: ReadonlyArray<Structure>): Sum => ({ _tag: "Sum", terms })

/**
 * Minimise `aux` among the minimisers of `main`; λ (`options.lambda`, default 1 as in the JSON
 * form) scales the auxiliary contribution. Nothing is checked here: `makeSpec` (through
 * {@link validateStructure}) reports a bad argument by its name, e.g.
 * `structure.lambda: prioritize(main, aux, { lambda }) expects a non-negative number, got -1`.
 */
export const prioritize = <M extends Structure, A extends Structure>(
  main: M,
  aux: A,
  options?: { readonly lambda?: number },
): Hierarchy<ObjectiveNamesOf<M> | ObjectiveNamesOf<A>> => ({
  _tag: "Hierarchy",
  levels: [
    { of: main, lambda: 1 },
    // A JavaScript caller may pass anything: keep what is not an options object for the check to name.
    { of: aux, lambda: typeof options === "object" && options !== null ? (options.lambda ?? 1) : options === undefined ? 1 : (options as unknown as number) },
  ],
  declaredWith: "prioritize",
})

/** The path suffix of level `i`'s `field` in `node`: `.main`/`.aux`/`.lambda` for a {@link prioritize} hierarchy, else `.levels[i].field`. */
const levelPath = (node: Hierarchy, i: number, field: "of" | "lambda"): string =>
  node.declaredWith === "prioritize" && node.levels.length === 2 ? (field === "lambda" ? ".lambda" : i === 0 ? ".main" : ".aux") : `.levels[${i}].${field}`

/**
 * A priority hierarchy of any depth. A level is a structure (λ = 1) or `{ of, lambda }`.
 * The first level's λ is ignored by priority-aware interpreters (it is the main objective).
 */
export const hierarchy = (levels: ReadonlyArray<Structure | Level>): Hierarchy => ({
  _tag: "Hierarchy",
  levels: levels.map((l) => ("_tag" in l ? { of: l, lambda: 1 } : l)),
})

/** The constraint `of ≤ atMost`, to place beside the objectives it constrains. */
export const constrain = <S extends Structure>(of: S, options: { readonly atMost: number }): Constrained<ObjectiveNamesOf<S>> => ({
  _tag: "Constrained",
  of,
  atMost: options.atMost,
})

/** The name shown in messages for each construct. */
export const constructName = (s: Structure): string =>
  s._tag === "Objective" ? `Objective(${s.name})` : s._tag

/** Every objective mentioned in a structure, once each, in order of first appearance. */
export const objectivesOf = (s: Structure): ReadonlyArray<Objective<any>> => {
  const seen = new Map<string, Objective<any>>()
  const visit = (node: Structure): void => {
    switch (node._tag) {
      case "Objective":
        if (!seen.has(node.name)) seen.set(node.name, node)
        return
      case "Weighted":
        return visit(node.of)
      case "Sum":
        return node.terms.forEach(visit)
      case "Hierarchy":
        return node.levels.forEach((l) => visit(l.of))
      case "Constrained":
        return visit(node.of)
    }
  }
  visit(s)
  return [...seen.values()]
}

/**
 * Constructs nested deeper than this are refused: every function that walks a structure recurses
 * once per construct, and no meaningful declaration comes near it (the JSON form allows 64
 * containers, about 32 constructs).
 */
export const maxStructureDepth = 256

/** The sub-structures of a construct, with the path suffix of each. */
const childrenOf = (node: Structure): ReadonlyArray<readonly [Structure, string]> => {
  switch (node._tag) {
    case "Objective":
      return []
    case "Weighted":
    case "Constrained":
      return [[node.of, ".of"]]
    case "Sum":
      return Array.isArray(node.terms) ? node.terms.map((t, i) => [t, `.terms[${i}]`] as const) : []
    case "Hierarchy":
      return Array.isArray(node.levels) ? node.levels.map((l, i) => [l.of, levelPath(node, i, "of")] as const) : []
  }
}

/**
 * A structure built in code can contain itself (`w.of = sum(a, w)`) or be nested arbitrarily deep;
 * both would overflow the call stack of every recursive walk. This walk keeps its own stack and
 * the chain of ancestors of the current node, so it finds either in linear time without recursing.
 * A sub-structure used twice side by side (a DAG) is fine.
 */
const outlineProblem = (root: Structure, path: string): SpecError | undefined => {
  interface Frame {
    readonly node: Structure
    readonly at: string
    readonly depth: number
  }
  const stack: Array<Frame | "leave"> = [{ node: root, at: path, depth: 0 }]
  const ancestors = new Map<Structure, string>()
  const onPath: Array<Structure> = []
  while (stack.length > 0) {
    const frame = stack.pop()!
    if (frame === "leave") {
      ancestors.delete(onPath.pop()!)
      continue
    }
    const { node, at, depth } = frame
    if (typeof node !== "object" || node === null) return new SpecError({ path: at, problem: `expected a structure, got ${node === null ? "null" : typeof node}` })
    const cycle = ancestors.get(node)
    if (cycle !== undefined) return new SpecError({ path: at, problem: `the structure contains itself (a cycle back to ${cycle})` })
    if (depth > maxStructureDepth) return new SpecError({ path, problem: `nested deeper than ${maxStructureDepth} constructs` })
    ancestors.set(node, at)
    onPath.push(node)
    stack.push("leave")
    const children = childrenOf(node)
    for (let k = children.length - 1; k >= 0; k--) stack.push({ node: children[k]![0], at: `${at}${children[k]![1]}`, depth: depth + 1 })
  }
  return undefined
}

/**
 * Check a structure: finite weights, non-negative λ and bounds, non-empty sums and hierarchies,
 * and one objective per name (two different objectives may not share a name, since gradients are
 * keyed by name). Paths in errors are relative to `path`.
 */
export const validateStructure = (s: Structure, path = "structure"): Either.Either<Structure, SpecError> => {
  const shape = outlineProblem(s, path)
  if (shape !== undefined) return Either.left(shape)
  const names = new Map<string, Objective<any>>()
  const fail = (at: string, problem: string) => Either.left(new SpecError({ path: at, problem }))
  const visit = (node: Structure, at: string): Either.Either<void, SpecError> => {
    switch (node._tag) {
      case "Objective": {
        const prior = names.get(node.name)
        if (prior !== undefined && prior !== node) return fail(at, `two different objectives are named '${node.name}'`)
        names.set(node.name, node)
        return Either.void
      }
      case "Weighted":
        if (!Number.isFinite(node.weight)) return fail(`${at}.weight`, `expected a finite number, got ${node.weight}`)
        return visit(node.of, `${at}.of`)
      case "Sum":
        if (node.terms.length === 0) return fail(`${at}.terms`, "expected at least one term, got an empty sum")
        return Either.all(node.terms.map((t, i) => visit(t, `${at}.terms[${i}]`))).pipe(Either.map(() => undefined))
      case "Hierarchy":
        if (node.levels.length === 0) return fail(`${at}.levels`, "expected at least one level, got an empty hierarchy")
        for (const [i, level] of node.levels.entries()) {
          if (!(typeof level.lambda === "number" && Number.isFinite(level.lambda) && level.lambda >= 0)) {
            const got = typeof level.lambda === "number" ? String(level.lambda) : `${typeof level.lambda} ${JSON.stringify(level.lambda) ?? String(level.lambda)}`
            return node.declaredWith === "prioritize"
              ? fail(`${at}.lambda`, `prioritize(main, aux, { lambda }) expects lambda to be a non-negative number, got ${got}`)
              : fail(`${at}.levels[${i}].lambda`, `expected a non-negative number, got ${got}`)
          }
        }
        return Either.all(node.levels.map((l, i) => visit(l.of, `${at}${levelPath(node, i, "of")}`))).pipe(Either.map(() => undefined))
      case "Constrained":
        if (!Number.isFinite(node.atMost)) return fail(`${at}.atMost`, `expected a finite number, got ${node.atMost}`)
        return visit(node.of, `${at}.of`)
    }
  }
  return Either.map(visit(s, path), () => s)
}

/** One weighted objective inside a level of the normal form. */
export interface Term {
  readonly objective: Objective<any>
  readonly weight: number
}

/** A level of the normal form: its gradient is Σ weight·∇objective, its factor λ. */
export interface NormalLevel {
  readonly lambda: number
  readonly terms: ReadonlyArray<Term>
}

/**
 * The shape most interpreters consume: a list of levels in decreasing priority, each a weighted
 * sum of objectives. A plain sum is one level. Fails (with the name of the offending construct)
 * for what has no such form: constraints, a hierarchy nested inside a sum, weight or level.
 */
export const levelsOf = (s: Structure): Either.Either<ReadonlyArray<NormalLevel>, { readonly construct: string }> => {
  const flat = (node: Structure, context: string): Either.Either<ReadonlyArray<Term>, { readonly construct: string }> => {
    switch (node._tag) {
      case "Objective":
        return Either.right([{ objective: node, weight: 1 }])
      case "Weighted":
        return Either.map(flat(node.of, "Weighted"), (terms) => terms.map((t) => ({ ...t, weight: t.weight * node.weight })))
      case "Sum":
        return Either.map(Either.all(node.terms.map((t) => flat(t, "Sum"))), (parts) => mergeTerms(parts.flat()))
      case "Hierarchy":
        if (node.levels.length === 1) return flat(node.levels[0]!.of, context)
        return Either.left({ construct: `Hierarchy nested inside ${context}` })
      case "Constrained":
        return Either.left({ construct: "Constrained" })
    }
  }
  if (s._tag === "Hierarchy") {
    // The main level's factor is 1 by definition: λ weighs a level against those above it.
    return Either.all(
      s.levels.map((l, i) => Either.map(flat(l.of, "Hierarchy level"), (terms) => ({ lambda: i === 0 ? 1 : l.lambda, terms }))),
    )
  }
  return Either.map(flat(s, "structure"), (terms) => [{ lambda: 1, terms }])
}

const mergeTerms = (terms: ReadonlyArray<Term>): ReadonlyArray<Term> => {
  const byName = new Map<string, Term>()
  for (const t of terms) {
    const prior = byName.get(t.objective.name)
    byName.set(t.objective.name, prior === undefined ? t : { objective: t.objective, weight: prior.weight + t.weight })
  }
  return [...byName.values()]
}
