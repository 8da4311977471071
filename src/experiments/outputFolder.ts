/**
 * Output folders are checked before any training: a run or sweep that cannot write its results
 * should say so at once, not after hours of work. Checking means creating the folder and writing
 * (then removing) a small probe file in it, which is what the real writes will need; system roots
 * (`/`, `/usr`, `C:\`, ...) are refused unless the user forces them.
 */
import { mkdir, rm, stat, writeFile } from "node:fs/promises"
import { dirname, parse, resolve } from "node:path"
import { Effect } from "effect"
import { OutputError } from "./sweepReport.ts"

/** Top-level folders of a Unix system that no run should write into. */
const systemFolders = new Set(["/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/proc", "/run", "/sbin", "/sys", "/usr", "/var"])

/** Whether `path` is a file-system root or a top-level system folder. */
export const isSystemFolder = (path: string): boolean => {
  const absolute = resolve(path)
  return absolute === parse(absolute).root || systemFolders.has(absolute.replace(/\/+$/, ""))
}

/**
 * Kernel file systems: they hold no files a run could write, and Node's recursive `mkdir` loops
 * forever under /proc (it retries the EEXIST/ENOENT it gets there), so a path inside them is refused
 * at once, whatever --force-out says.
 */
const virtualFolders = ["/proc", "/sys", "/dev"]

/** Whether `path` is, or lies inside, one of the kernel's virtual file systems. */
export const isVirtualFolder = (path: string): boolean => {
  const absolute = resolve(path)
  return virtualFolders.some((root) => absolute === root || absolute.startsWith(`${root}/`))
}

const reasonOf = (error: unknown): string => (error instanceof Error ? error.message : String(error))

/** The nearest existing ancestor of `folder` (or `folder` itself) that is not a folder, if any. */
const fileInTheWay = async (folder: string): Promise<string | undefined> => {
  let current = resolve(folder)
  for (;;) {
    const found = await stat(current).catch(() => undefined)
    if (found !== undefined) return found.isDirectory() ? undefined : current
    const parent = dirname(current)
    if (parent === current) return undefined
    current = parent
  }
}

/**
 * Create `folder` (and its parents) and prove it writable by writing and removing a probe file.
 * Fails with an {@link OutputError} naming the folder and the reason; a system folder is refused
 * unless `force` (the commands' `--force-out`).
 */
export const prepareOutputFolder = (folder: string, options: { readonly force?: boolean; readonly flag?: string } = {}): Effect.Effect<void, OutputError> =>
  Effect.gen(function* () {
    if (isSystemFolder(folder) && options.force !== true) {
      return yield* new OutputError({
        path: folder,
        reason: `it is a system folder (${resolve(folder)}); choose another ${options.flag ?? "--out"}, or pass --force-out to write there anyway`,
      })
    }
    if (isVirtualFolder(folder)) {
      return yield* new OutputError({
        path: folder,
        reason: `it is inside ${virtualFolders.find((root) => resolve(folder).startsWith(root))}, a kernel file system that holds no files; choose another ${options.flag ?? "--out"}`,
      })
    }
    const file = yield* Effect.promise(() => fileInTheWay(folder))
    if (file !== undefined) {
      return yield* new OutputError({
        path: folder,
        reason: `${file === resolve(folder) ? "it is" : `${file} is`} a file, not a folder; choose another ${options.flag ?? "--out"}`,
      })
    }
    const probe = resolve(folder, `.scalpel-write-probe-${process.pid}`)
    yield* Effect.tryPromise({
      try: async () => {
        await mkdir(folder, { recursive: true })
        await writeFile(probe, "")
        await rm(probe, { force: true })
      },
      catch: (error) => new OutputError({ path: folder, reason: `the folder is not writable (${reasonOf(error)}); nothing was trained` }),
    })
  })
