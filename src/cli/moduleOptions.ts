/**
 * `--problems MODULE` and `--interpreters MODULE`: the user's own problems and update rules, on
 * every command that trains (run, sweep, experiment, worker). Each may be given more than once, and
 * each value may list several modules separated by commas. Paths are relative to the current
 * folder; a bare name is a package installed in the project.
 */
import { Options } from "@effect/cli"
import { Effect, Option } from "effect"
import { loadInterpreterModules } from "../experiments/interpreterModules.ts"
import { loadProblemModules } from "../experiments/problemModules.ts"

const moduleHelp =
  " (a .js or .mjs path, or a package name; .ts where Node strips types, Node ≥ 22.18, or under tsx); repeat the flag or separate modules with commas"

export const problemsOption = Options.text("problems").pipe(
  Options.withPseudoName("MODULE"),
  Options.withDescription(`a module exporting \`problems\`, an array of problemFactory(...) values added to the built-in problems${moduleHelp}`),
  Options.repeated,
  // Optional in the usage line ([--problems MODULE]...); none given is the empty list.
  Options.optional,
  Options.map(Option.getOrElse((): ReadonlyArray<string> => [])),
)

export const interpretersOption = Options.text("interpreters").pipe(
  Options.withPseudoName("MODULE"),
  Options.withDescription(`a module exporting \`interpreters\`, an array of Interpreter values that specs and --method may then name${moduleHelp}`),
  Options.repeated,
  // Optional in the usage line ([--problems MODULE]...); none given is the empty list.
  Options.optional,
  Options.map(Option.getOrElse((): ReadonlyArray<string> => [])),
)

/** The modules of a repeated, comma-separated flag, in order. */
export const modulesOf = (values: ReadonlyArray<string>): ReadonlyArray<string> =>
  values.flatMap((value) => value.split(",")).map((s) => s.trim()).filter((s) => s !== "")

/** The catalogue and registry with the modules' problems and interpreters added to the built-in ones. */
export const loadModules = (problems: ReadonlyArray<string>, interpreters: ReadonlyArray<string>) =>
  Effect.all({ catalogue: loadProblemModules(modulesOf(problems)), registry: loadInterpreterModules(modulesOf(interpreters)) })
