/**
 * Packages only some commands need (the queue engine, plotting) are optional peer dependencies of
 * scalpel: a library user does not install them. The modules that use them load them on use, here,
 * and a missing one is a {@link MissingOptionalDependency} that says what to install.
 */
import { Data, Effect } from "effect"

/** A feature needs packages that are not installed; the message is the install command. */
export class MissingOptionalDependency extends Data.TaggedError("MissingOptionalDependency")<{
  /** What needs them, in the plural: "plots", "queue sweeps". */
  readonly feature: string
  readonly packages: ReadonlyArray<string>
}> {
  override get message(): string {
    return `${this.feature} need ${this.packages.join(" and ")}, optional dependencies of scalpel that are not installed: npm install ${this.packages.join(" ")}`
  }
}

const notFound = (error: unknown): boolean =>
  typeof error === "object" && error !== null && "code" in error && (error.code === "ERR_MODULE_NOT_FOUND" || error.code === "MODULE_NOT_FOUND")

/**
 * `load()` (a dynamic import of `packages`), or a {@link MissingOptionalDependency} when one of them
 * is not installed. Any other failure of the import is a defect (a broken installation).
 */
export const importOptional = <A>(feature: string, packages: ReadonlyArray<string>, load: () => Promise<A>): Effect.Effect<A, MissingOptionalDependency> =>
  Effect.tryPromise({ try: load, catch: (error) => error }).pipe(
    Effect.catchAll((error) => (notFound(error) ? Effect.fail(new MissingOptionalDependency({ feature, packages })) : Effect.die(error))),
  )
