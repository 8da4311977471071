/**
 * From a spec document (pure data, names only) to something trainable: the problem it names, made
 * with its decoded options; the structure with each objective name replaced by that problem's
 * objective; and a {@link Spec} checked by `makeSpec`. The method stays a name with raw options:
 * choosing and configuring the interpreter is the caller's business (see the interpreter registry).
 *
 * Every failure is a {@link SpecError} with the document's path (`structure.aux`,
 * `problem.options.examples`), and a problem made before a later failure is disposed at once.
 */
import { Effect, Either, Exit, Schema, type Scope } from "effect"
import { SpecError } from "../dsl/errors.ts"
import { issueMessage, quoteName } from "../dsl/issueMessage.ts"
import { didYouMean } from "../dsl/suggest.ts"
import { decodeSpecDocument, type MethodReference, parseSpecDocument, type SpecDocument, type StructureDocument } from "../dsl/json.ts"
import type { Objective } from "../dsl/objective.ts"
import type { Problem } from "../dsl/problem.ts"
import { makeSpec, type Spec } from "../dsl/spec.ts"
import { constrain, hierarchy, prioritize, type Structure, sumOf, weighted } from "../dsl/structure.ts"
import { builtinProblems, lookupProblem, type ProblemCatalogue } from "./catalogue.ts"

/** A spec ready to train: the owner of `problem` must dispose it (see {@link acquireResolvedSpec}). */
export interface ResolvedSpec {
  readonly spec: Spec
  readonly problem: Problem
  /** The interpreter's name and its options, still undecoded (`Interpreter.decodeOptions`). */
  readonly method: MethodReference
  /** The decoded document it came from (what gradient workers rebuild the spec from). */
  readonly document: SpecDocument
  /** The problem's options as its factory decoded them (every default filled in). */
  readonly problemOptions: unknown
}

/** Replace each objective name in `document` by the problem's objective of that name. */
export const resolveStructure = (
  document: StructureDocument,
  problem: Problem,
  path = "structure",
): Either.Either<Structure, SpecError> => {
  const at = (child: StructureDocument, key: string) => resolveStructure(child, problem, `${path}${key}`)
  if (typeof document === "string") {
    // Own properties only: a name like "constructor" must not find Object.prototype's.
    const objective: Objective<unknown> | undefined = Object.hasOwn(problem.objectives, document) ? problem.objectives[document] : undefined
    return objective !== undefined
      ? Either.right(objective)
      : Either.left(
          new SpecError({
            path,
            problem: `unknown objective ${quoteName(document)}${didYouMean(document, Object.keys(problem.objectives))} (objectives of ${problem.name}: ${Object.keys(problem.objectives).join(", ")})`,
          }),
        )
  }
  switch (document.kind) {
    case "weighted":
      return Either.map(at(document.of, ".of"), (of) => weighted(of, document.weight))
    case "sum":
      return Either.map(Either.all(document.terms.map((t, i) => at(t, `.terms[${i}]`))), sumOf)
    case "prioritize":
      return Either.map(Either.all([at(document.main, ".main"), at(document.aux, ".aux")]), ([main, aux]) =>
        prioritize(main, aux, { lambda: document.lambda }),
      )
    case "hierarchy":
      return Either.map(
        Either.all(document.levels.map((l, i) => Either.map(at(l.of, `.levels[${i}].of`), (of) => ({ of, lambda: l.lambda })))),
        hierarchy,
      )
    case "constrain":
      return Either.map(at(document.of, ".of"), (of) => constrain(of, { atMost: document.atMost }))
  }
}

/** Decode the problem's options and make it. */
const makeProblem = (
  document: SpecDocument,
  catalogue: ProblemCatalogue,
): Effect.Effect<{ readonly problem: Problem; readonly options: unknown }, SpecError> =>
  Effect.gen(function* () {
    const factory = yield* lookupProblem(catalogue, document.problem.name)
    const options = yield* Schema.decodeUnknownEither(factory.optionsSchema, { errors: "first", onExcessProperty: "error" })(
      document.problem.options,
    ).pipe(
      Either.mapLeft((error) => {
        const { path, message } = issueMessage(error, "problem.options")
        return new SpecError({ path, problem: message })
      }),
    )
    return yield* Effect.sync(() => ({ problem: factory.make(options), options }))
  })

/** The rest of the resolution, once the problem exists. */
const specFor = (document: SpecDocument, problem: Problem): Either.Either<Spec, SpecError> =>
  Either.flatMap(resolveStructure(document.structure, problem), (structure) =>
    makeSpec({
      parameters: problem.parameters,
      structure,
      optimizer: document.optimizer,
      ...(document.steps === undefined ? {} : { steps: document.steps }),
      ...(document.epochs === undefined ? {} : { epochs: document.epochs }),
      batchSize: document.batchSize,
      seed: document.seed,
      nonFinite: document.nonFinite,
      ...(document.sampling === undefined ? {} : { sampling: document.sampling }),
    }),
  )

/**
 * Resolve a decoded document against `catalogue` (default: the built-in problems). On success the
 * caller owns the problem's tensors; on failure none are left behind.
 */
export const resolveSpecDocument = (
  document: SpecDocument,
  catalogue: ProblemCatalogue = builtinProblems,
): Effect.Effect<ResolvedSpec, SpecError> =>
  Effect.flatMap(makeProblem(document, catalogue), ({ problem, options }) =>
    // Even a defect (a bug) while resolving must not strand the problem's tensors.
    Effect.suspend(() => specFor(document, problem)).pipe(
      Effect.map((spec) => ({ spec, problem, method: document.method, document, problemOptions: options })),
      Effect.onExit((exit) => (Exit.isSuccess(exit) ? Effect.void : Effect.sync(problem.dispose))),
    ),
  )

/** Decode any value (parsed JSON, a literal object) as a spec document and resolve it. */
export const resolveSpecValue = (input: unknown, catalogue: ProblemCatalogue = builtinProblems): Effect.Effect<ResolvedSpec, SpecError> =>
  Effect.flatMap(decodeSpecDocument(input), (document) => resolveSpecDocument(document, catalogue))

/** Parse JSON text as a spec document and resolve it. */
export const resolveSpecJson = (text: string, catalogue: ProblemCatalogue = builtinProblems): Effect.Effect<ResolvedSpec, SpecError> =>
  Effect.flatMap(parseSpecDocument(text), (document) => resolveSpecDocument(document, catalogue))

/** {@link resolveSpecDocument} whose problem is disposed when the scope closes. */
export const acquireResolvedSpec = (
  document: SpecDocument,
  catalogue: ProblemCatalogue = builtinProblems,
): Effect.Effect<ResolvedSpec, SpecError, Scope.Scope> =>
  Effect.acquireRelease(resolveSpecDocument(document, catalogue), (resolved) => Effect.sync(resolved.problem.dispose))
