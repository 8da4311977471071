/**
 * Checkpoints of a training run: moving states between tensors and host arrays, and writing and
 * reading checkpoint files safely. The byte layout is in `checkpointFormat.ts`.
 *
 * Writes are atomic: the bytes go to a temporary file in the same folder, which is flushed to
 * disk (fsync) and then renamed over the target. A crash or a full disk at any point leaves either
 * the previous checkpoint or the new one, never a mix; a failed write removes its temporary file.
 *
 * The file functions load `node:fs` and `node:path` on first use, so that importing this module
 * (which the training loop does) loads no Node built-in and the `scalpel` entry runs in browsers;
 * there, only runs with checkpoint files fail, with a {@link CheckpointError}.
 */
import { Effect, Either, Exit } from "effect"
import type { Layout } from "../core/paramVector.ts"
import { tf, type Tensor } from "../core/tf.ts"
import type { RuleState } from "../interpreters/interpreter.ts"
import { CheckpointError, type CheckpointContents, decodeCheckpoint, encodeCheckpoint, type HostState, HostTensor } from "./checkpointFormat.ts"

export { CheckpointError, checkpointFormatVersion, type CheckpointContents, HostTensor, type HostState } from "./checkpointFormat.ts"

/** Where and how often a run writes its checkpoint. */
export interface CheckpointSettings {
  /** The checkpoint file; replaced atomically at every write. */
  readonly path: string
  /** Write after every `every` completed steps (and after the last step, and on interruption). */
  readonly every: number
}

type FileSystem = typeof import("node:fs/promises")
type PathModule = typeof import("node:path")

/**
 * Node's file system and path modules, imported on first use. The names are computed so that
 * bundlers for browsers neither follow nor reject them.
 */
const nodeFileSystem = (path: string): Effect.Effect<{ readonly fs: FileSystem; readonly nodePath: PathModule }, CheckpointError> =>
  Effect.tryPromise({
    try: async () => {
      const load = (name: string): Promise<unknown> => import(/* webpackIgnore: true */ /* @vite-ignore */ name)
      const [fs, nodePath] = await Promise.all([load("node:fs/promises"), load("node:path")])
      return { fs: fs as FileSystem, nodePath: nodePath as PathModule }
    },
    catch: (error) => new CheckpointError({ path, problem: `checkpoint files need Node.js's file system (${describe(error)})` }),
  })

/** `bytes` random bytes as hexadecimal (Web Crypto, which Node ≥ 19 and browsers provide). */
const randomHex = (bytes: number): string =>
  Array.from(globalThis.crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, "0")).join("")

const describe = (error: unknown): string => (error instanceof Error ? error.message : String(error))

/** Copy a tensor's values to the host (float32 and int32 only: the format's element types). */
export const toHostTensor = (t: Tensor, where: string): Either.Either<HostTensor, CheckpointError> =>
  t.dtype === "float32" || t.dtype === "int32"
    ? Either.right(new HostTensor(t.dtype, [...t.shape], t.dataSync().slice() as Float32Array | Int32Array))
    : Either.left(new CheckpointError({ path: where, problem: `tensor of dtype ${t.dtype} cannot be saved (float32 and int32 only)` }))

/** The host copy of a rule state (tensors copied, everything else as is). */
export const hostStateOf = (state: RuleState, where = "ruleState"): Either.Either<HostState, CheckpointError> => {
  if (state instanceof tf.Tensor) return toHostTensor(state, where)
  if (typeof state !== "object" || state === null) return Either.right(state)
  if (Array.isArray(state)) return Either.all(state.map((s, i) => hostStateOf(s, `${where}[${i}]`)))
  const record = state as { readonly [key: string]: RuleState }
  return Either.map(
    Either.all(Object.keys(record).map((k) => Either.map(hostStateOf(record[k]!, `${where}.${k}`), (v) => [k, v] as const))),
    (pairs) => Object.fromEntries(pairs),
  )
}

const kindOf = (s: HostState | RuleState): string =>
  s instanceof HostTensor || s instanceof tf.Tensor ? "a tensor" : Array.isArray(s) ? "an array" : typeof s === "object" ? "a record" : `a ${typeof s}`

/**
 * The first place where `saved` does not have the outline of `template` (same kinds, record keys,
 * array lengths, tensor shapes and dtypes; numbers, strings and booleans may differ), or undefined.
 */
export const outlineMismatch = (saved: HostState, template: RuleState, where: string): string | undefined => {
  if (template instanceof tf.Tensor) {
    if (!(saved instanceof HostTensor)) return `${where}: expected a tensor, found ${kindOf(saved)}`
    const sameShape = saved.shape.length === template.shape.length && saved.shape.every((d, i) => d === template.shape[i])
    if (!sameShape || saved.dtype !== template.dtype) {
      return `${where}: expected a ${template.dtype} tensor of shape [${template.shape.join(", ")}], found ${saved.dtype} [${saved.shape.join(", ")}]`
    }
    return undefined
  }
  if (Array.isArray(template)) {
    if (!Array.isArray(saved)) return `${where}: expected an array, found ${kindOf(saved)}`
    if (saved.length !== template.length) return `${where}: expected ${template.length} entries, found ${saved.length}`
    for (let i = 0; i < template.length; i++) {
      const m = outlineMismatch(saved[i]!, template[i]!, `${where}[${i}]`)
      if (m !== undefined) return m
    }
    return undefined
  }
  if (typeof template === "object" && template !== null) {
    if (typeof saved !== "object" || saved === null || saved instanceof HostTensor || Array.isArray(saved)) {
      return `${where}: expected a record, found ${kindOf(saved)}`
    }
    const record = template as { readonly [key: string]: RuleState }
    const savedRecord = saved as { readonly [key: string]: HostState }
    const expected = Object.keys(record).sort()
    const found = Object.keys(savedRecord).sort()
    if (expected.join("\u0000") !== found.join("\u0000")) return `${where}: expected keys {${expected.join(", ")}}, found {${found.join(", ")}}`
    for (const k of expected) {
      const m = outlineMismatch(savedRecord[k]!, record[k]!, `${where}.${k}`)
      if (m !== undefined) return m
    }
    return undefined
  }
  return typeof saved === typeof template ? undefined : `${where}: expected ${kindOf(template)}, found ${kindOf(saved)}`
}

/** Tensors for a host state whose outline has been checked. */
export const tensorStateOf = (host: HostState): RuleState => {
  if (host instanceof HostTensor) return tf.tensor(host.values, [...host.shape], host.dtype)
  if (typeof host !== "object" || host === null) return host
  if (Array.isArray(host)) return host.map(tensorStateOf)
  const record = host as { readonly [key: string]: HostState }
  return Object.fromEntries(Object.keys(record).map((k) => [k, tensorStateOf(record[k]!)]))
}

/** The parameter tensors of a checkpoint checked against `layout`: same names, same shapes. */
export const checkParameters = (contents: CheckpointContents, layout: Layout, path: string): CheckpointError | undefined => {
  const expected = layout.entries.map((e) => e.name)
  const found = Object.keys(contents.parameters).sort()
  if (expected.join("\u0000") !== found.join("\u0000")) {
    return new CheckpointError({ path, problem: `holds parameters {${found.join(", ")}} but the run declares {${expected.join(", ")}}` })
  }
  for (const entry of layout.entries) {
    const saved = contents.parameters[entry.name]!
    if (saved.dtype !== "float32" || saved.shape.join(",") !== entry.shape.join(",")) {
      return new CheckpointError({
        path,
        problem: `parameter '${entry.name}' is ${saved.dtype} [${saved.shape.join(", ")}] but the run declares float32 [${entry.shape.join(", ")}]`,
      })
    }
  }
  return undefined
}

/**
 * The first field in which a checkpoint's run identity differs from the current run's, as a
 * problem sentence, or undefined when they describe the same run.
 */
export const runMismatch = (saved: Readonly<Record<string, unknown>>, current: Readonly<Record<string, unknown>>): string | undefined => {
  for (const key of [...new Set([...Object.keys(current), ...Object.keys(saved)])].sort()) {
    const a = JSON.stringify(saved[key])
    const b = JSON.stringify(current[key])
    if (a !== b) return `was written by a different run: ${key} is ${a ?? "absent"} in the checkpoint but ${b ?? "absent"} in this run`
  }
  return undefined
}

/**
 * Write `contents` to `path` atomically: temporary file in the same folder, fsync, rename, then a
 * best-effort fsync of the folder so the rename itself is durable. The temporary file is removed
 * if anything fails, and the previous checkpoint at `path` is then untouched.
 */
export const writeCheckpoint = (path: string, contents: CheckpointContents): Effect.Effect<void, CheckpointError> => {
  const poisoned = firstNonFinite(contents)
  if (poisoned !== undefined) {
    return Effect.fail(
      new CheckpointError({ path, problem: `not written: ${poisoned} (a checkpoint never holds non-finite values; the previous one is kept)` }),
    )
  }
  return Effect.flatMap(nodeFileSystem(path), ({ fs, nodePath }) => writeAtomically(fs, nodePath, path, contents))
}

/**
 * The first float tensor value of `contents` that is NaN or infinite, as `parameters.w[3] is NaN`,
 * or undefined. A run refuses non-finite parameters before applying a step, but an optimizer or
 * rule state can still overflow; such a state would resume into a run of NaN.
 */
export const firstNonFinite = (contents: CheckpointContents): string | undefined => {
  const visit = (node: HostState, where: string): string | undefined => {
    if (node instanceof HostTensor) {
      if (node.dtype !== "float32") return undefined
      const at = node.values.findIndex((v) => !Number.isFinite(v))
      return at < 0 ? undefined : `${where}[${at}] is ${node.values[at]}`
    }
    if (typeof node !== "object" || node === null) return undefined
    const entries: ReadonlyArray<readonly [string, HostState]> = Array.isArray(node)
      ? node.map((v, i) => [`[${i}]`, v] as const)
      : Object.keys(node).map((k) => [`.${k}`, (node as { readonly [key: string]: HostState })[k]!] as const)
    for (const [key, value] of entries) {
      const found = visit(value, `${where}${key}`)
      if (found !== undefined) return found
    }
    return undefined
  }
  return visit(contents.parameters, "parameters") ?? visit(contents.optimizer.slots, "optimizer.slots") ?? visit(contents.ruleState, "ruleState")
}

const writeAtomically = (fs: FileSystem, nodePath: PathModule, path: string, contents: CheckpointContents): Effect.Effect<void, CheckpointError> => {
  const folder = nodePath.dirname(path)
  const temporary = nodePath.join(folder, `.${nodePath.basename(path)}.${process.pid}.${randomHex(4)}.tmp`)
  const fail = (what: string) => (error: unknown) => new CheckpointError({ path, problem: `${what} failed: ${describe(error)}` })
  const writeTemporary = Effect.acquireUseRelease(
    Effect.tryPromise({ try: () => fs.open(temporary, "wx"), catch: fail(`creating ${temporary}`) }),
    (handle) =>
      Effect.tryPromise({
        try: async () => {
          await handle.writeFile(encodeCheckpoint(contents))
          await handle.sync()
        },
        catch: fail(`writing ${temporary}`),
      }),
    (handle) => Effect.promise(() => handle.close().catch(() => undefined)),
  )
  // Uninterruptible: a Ctrl-C or SIGTERM (an interruption under NodeRuntime.runMain) arriving
  // during a write waits the few milliseconds until the new checkpoint is in place, instead of
  // abandoning the write half done and leaving its temporary file behind. Any failure removes it.
  return writeTemporary.pipe(
    Effect.zipRight(Effect.tryPromise({ try: () => fs.rename(temporary, path), catch: fail(`renaming ${temporary}`) })),
    Effect.onExit((exit) => (Exit.isSuccess(exit) ? Effect.void : Effect.promise(() => fs.rm(temporary, { force: true }).catch(() => undefined)))),
    Effect.zipRight(Effect.promise(() => syncFolder(fs, folder))),
    Effect.uninterruptible,
  )
}

const syncFolder = async (fs: FileSystem, folder: string): Promise<void> => {
  // Not every platform can open a folder for fsync (Windows cannot); durability of the rename is
  // then up to the file system, and the checkpoint itself is already complete.
  try {
    const handle = await fs.open(folder, "r")
    try {
      await handle.sync()
    } finally {
      await handle.close()
    }
  } catch {
    return
  }
}

/** Read and decode the checkpoint at `path`; every defect is a {@link CheckpointError}. */
export const readCheckpoint = (path: string): Effect.Effect<CheckpointContents, CheckpointError> =>
  Effect.flatMap(nodeFileSystem(path), ({ fs }) => readBytes(fs, path))

const readBytes = (fs: FileSystem, path: string): Effect.Effect<CheckpointContents, CheckpointError> =>
  Effect.tryPromise({
    try: () => fs.readFile(path),
    catch: (error) => new CheckpointError({ path, problem: `cannot be read: ${describe(error)}` }),
  }).pipe(Effect.flatMap((bytes) => Either.match(decodeCheckpoint(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), path), { onLeft: Effect.fail, onRight: Effect.succeed })))
