/**
 * The problems a spec file can name. Immutable like the interpreter registry: `registerProblem`
 * returns a new catalogue, so a user's additions never change what another part of the program
 * sees. A new built-in problem is one more entry in {@link builtinProblems}.
 */
import { Either } from "effect"
import { SpecError } from "../dsl/errors.ts"
import { quoteName } from "../dsl/issueMessage.ts"
import { didYouMean } from "../dsl/suggest.ts"
import { jointFactory, multiTaskFactory } from "./glyphTasks.ts"
import { irisFactory } from "./iris.ts"
import { leastSquaresFactory } from "./leastSquares.ts"
import { mnistAuthorsFactory } from "./mnistAuthors.ts"
import { mnistJointFactory, mnistMultiTaskFactory, mnistSmoothFactory } from "./mnistTasks.ts"
import type { AnyProblemFactory } from "./problemFactory.ts"

export { problemFactory, type AnyProblemFactory, type ProblemFactory } from "./problemFactory.ts"

/** Problem factories by name. */
export type ProblemCatalogue = ReadonlyMap<string, AnyProblemFactory>

/** A catalogue holding `factories` (a later factory replaces an earlier one of the same name). */
export const makeCatalogue = (factories: ReadonlyArray<AnyProblemFactory>): ProblemCatalogue =>
  new Map(factories.map((f) => [f.name, f]))

/** The problems scalpel ships. */
export const builtinProblems: ProblemCatalogue = makeCatalogue([
  leastSquaresFactory,
  irisFactory,
  multiTaskFactory,
  jointFactory,
  mnistSmoothFactory,
  mnistAuthorsFactory,
  mnistMultiTaskFactory,
  mnistJointFactory,
])

/** A new catalogue with `factory` added (replacing one of the same name). */
export const registerProblem = (catalogue: ProblemCatalogue, factory: AnyProblemFactory): ProblemCatalogue =>
  new Map([...catalogue, [factory.name, factory]])

/** The factory named `name`, or a {@link SpecError} at `problem.name` listing the known names. */
export const lookupProblem = (catalogue: ProblemCatalogue, name: string): Either.Either<AnyProblemFactory, SpecError> => {
  const found = catalogue.get(name)
  return found !== undefined
    ? Either.right(found)
    : Either.left(
        new SpecError({
          path: "problem.name",
          problem: `unknown problem ${quoteName(name)}${didYouMean(name, catalogue.keys())} (known: ${[...catalogue.keys()].join(", ") || "none"})`,
        }),
      )
}
