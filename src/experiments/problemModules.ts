/**
 * Problem modules: user code that adds problems to the catalogue a sweep resolves its documents
 * against. A sweep names them (a path or a package name); the sweep's own process, every local
 * worker process and every queue worker loads them before training anything.
 *
 * A problem module exports its factories as `problems` (or as its default export), an array of
 * {@link AnyProblemFactory} values declared with `problemFactory`:
 *
 * ```ts
 * export const problems = [problemFactory({ name: "ring", description: "...", optionsSchema, make })]
 * ```
 */
import { isAbsolute, resolve } from "node:path"
import { pathToFileURL } from "node:url"
import { Data, Effect, Schema } from "effect"
import { type AnyProblemFactory, builtinProblems, type ProblemCatalogue, registerProblem } from "../problems/catalogue.ts"

/** A problem module cannot be loaded, or does not export problem factories. */
export class ProblemModuleError extends Data.TaggedError("ProblemModuleError")<{
  /** The module as the user named it. */
  readonly module: string
  readonly reason: string
}> {
  override get message(): string {
    return `cannot load problem module '${this.module}': ${this.reason}`
  }
}

const looksLikePath = (specifier: string): boolean =>
  specifier.startsWith(".") || isAbsolute(specifier) || /\.[cm]?[jt]s$/.test(specifier)

/**
 * What `import()` needs for `specifier`: a `file:` URL for a path (relative to `cwd`), the name
 * itself for a package (resolved from scalpel's own location, i.e. the project it is installed in).
 */
export const moduleLocation = (specifier: string, cwd: string = process.cwd()): string =>
  specifier.startsWith("file:") || !looksLikePath(specifier) ? specifier : pathToFileURL(resolve(cwd, specifier)).href

const isFactory = (value: unknown): value is AnyProblemFactory => {
  if (typeof value !== "object" || value === null) return false
  const candidate = value as Record<string, unknown>
  return (
    typeof candidate["name"] === "string" &&
    typeof candidate["description"] === "string" &&
    typeof candidate["make"] === "function" &&
    Schema.isSchema(candidate["optionsSchema"])
  )
}

/**
 * Why `import()` of a user module failed, in one line. A TypeScript module on a Node that does not
 * strip types (Node 20; Node 22 before 22.18 without `--experimental-strip-types`) fails with
 * ERR_UNKNOWN_FILE_EXTENSION: say what to do instead.
 */
export const importFailureReason = (specifier: string, error: unknown): string => {
  const code = typeof error === "object" && error !== null ? (error as { code?: unknown }).code : undefined
  if (code === "ERR_UNKNOWN_FILE_EXTENSION" && /\.[cm]?ts$/.test(specifier)) {
    return (
      `Node ${process.version} cannot import TypeScript files; compile the module to .js or .mjs, ` +
      "use Node ≥ 22.18 (which strips types by default), or run scalpel under tsx (npx tsx node_modules/scalpel/dist/cli/main.js ...)"
    )
  }
  return error instanceof Error ? error.message.split("\n")[0]! : String(error)
}

/** Import a user module (a path relative to `cwd`, or a package name), with a one-line reason on failure. */
export const importUserModule = <E>(module: string, cwd: string, failure: (reason: string) => E): Effect.Effect<Record<string, unknown>, E> =>
  Effect.tryPromise({
    try: () => import(moduleLocation(module, cwd)) as Promise<Record<string, unknown>>,
    catch: (error) => failure(importFailureReason(module, error)),
  })

/** The factories `module` exports, checked one by one. */
const factoriesOf = (module: string, exports: Record<string, unknown>): Effect.Effect<ReadonlyArray<AnyProblemFactory>, ProblemModuleError> => {
  const exported = exports["problems"] ?? exports["default"]
  if (!Array.isArray(exported)) {
    return new ProblemModuleError({
      module,
      reason: "it exports no 'problems' array (expected `export const problems = [problemFactory({ name, description, optionsSchema, make })]`)",
    })
  }
  const bad = exported.findIndex((f) => !isFactory(f))
  if (bad >= 0) {
    return new ProblemModuleError({
      module,
      reason: `problems[${bad}] is not a problem factory (expected { name, description, optionsSchema, make })`,
    })
  }
  return Effect.succeed(exported as ReadonlyArray<AnyProblemFactory>)
}

/** Import one problem module and return its factories. */
export const importProblemModule = (module: string, cwd: string = process.cwd()) =>
  importUserModule(module, cwd, (reason) => new ProblemModuleError({ module, reason })).pipe(Effect.flatMap((exports) => factoriesOf(module, exports)))

/** `base` (the built-in problems by default) with the problems of every module added, in order. */
export const loadProblemModules = (
  modules: ReadonlyArray<string>,
  cwd: string = process.cwd(),
  base: ProblemCatalogue = builtinProblems,
): Effect.Effect<ProblemCatalogue, ProblemModuleError> =>
  Effect.reduce(modules, base, (catalogue, module) =>
    Effect.map(importProblemModule(module, cwd), (factories) => factories.reduce(registerProblem, catalogue)),
  )
