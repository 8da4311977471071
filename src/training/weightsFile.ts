/**
 * Reading and writing a run's weights files (`model.json` and `weights.bin` in a folder; format
 * in `weights.ts`). Node only: exported by the `scalpel/node` entry.
 */
import { mkdir, readFile, stat, writeFile } from "node:fs/promises"
import { dirname, join } from "node:path"
import { Effect } from "effect"
import type { Params } from "../dsl/objective.ts"
import type { HostTensor } from "./checkpointFormat.ts"
import { decodeWeights, encodeWeights, WeightsError } from "./weights.ts"

const reason = (error: unknown): string => {
  const code = typeof error === "object" && error !== null && "code" in error ? String((error as { code: unknown }).code) : undefined
  if (code === "ENOENT") return "no such file or folder"
  if (code === "EACCES" || code === "EPERM") return "permission denied"
  if (code === "ENOTDIR" || code === "EEXIST") return "a part of the path is a file, not a folder"
  return error instanceof Error ? error.message : String(error)
}

/** The manifest's file name; runs before it was introduced wrote the same contents as `weights.json`. */
export const weightsManifestName = "model.json"
const legacyManifestName = "weights.json"

/**
 * Write `parameters` to `folder/weights.bin` and `folder/model.json`, creating `folder` (and its
 * parents) if missing. The values file is written first, so a manifest never points at values
 * that are not there yet.
 */
export const writeWeights = (folder: string, parameters: Params): Effect.Effect<void, WeightsError> =>
  Effect.gen(function* () {
    const { manifest, data } = encodeWeights(parameters, "weights.bin")
    const binPath = join(folder, "weights.bin")
    const jsonPath = join(folder, weightsManifestName)
    yield* Effect.tryPromise({ try: () => mkdir(folder, { recursive: true }), catch: (e) => new WeightsError({ path: folder, problem: `cannot create the folder: ${reason(e)}` }) })
    yield* Effect.tryPromise({ try: () => writeFile(binPath, data), catch: (e) => new WeightsError({ path: binPath, problem: reason(e) }) })
    yield* Effect.tryPromise({
      try: () => writeFile(jsonPath, `${JSON.stringify(manifest, null, 2)}\n`),
      catch: (e) => new WeightsError({ path: jsonPath, problem: reason(e) }),
    })
  })

/** The manifest of `location`: the file itself, or `model.json` (else a run's older `weights.json`) in the folder. */
const manifestPath = async (location: string): Promise<string> => {
  const info = await stat(location)
  if (!info.isDirectory()) return location
  const current = join(location, weightsManifestName)
  if (await stat(current).then(() => true, () => false)) return current
  const legacy = join(location, legacyManifestName)
  if (await stat(legacy).then(() => true, () => false)) return legacy
  return current
}

/**
 * Read the weights a run (or `writeWeights`, or a tfjs-layers `model.save`) wrote, by name.
 * `location` is the folder or its `model.json`; a folder from before `model.json` was the name
 * (it holds `weights.json`) is read too. Every defect is a {@link WeightsError}.
 */
export const readWeights = (location: string): Effect.Effect<Record<string, HostTensor>, WeightsError> =>
  Effect.gen(function* () {
    const jsonPath = yield* Effect.tryPromise({ try: () => manifestPath(location), catch: (e) => new WeightsError({ path: location, problem: reason(e) }) })
    const text = yield* Effect.tryPromise({ try: () => readFile(jsonPath, "utf8"), catch: (e) => new WeightsError({ path: jsonPath, problem: reason(e) }) })
    const manifest = yield* Effect.try({ try: () => JSON.parse(text) as unknown, catch: (e) => new WeightsError({ path: jsonPath, problem: `invalid JSON: ${reason(e)}` }) })
    const groups = typeof manifest === "object" && manifest !== null && "weightsManifest" in manifest ? manifest.weightsManifest : undefined
    const files = Array.isArray(groups) ? groups.flatMap((g: unknown) => (typeof g === "object" && g !== null && "paths" in g && Array.isArray(g.paths) ? (g.paths as Array<unknown>) : [])) : []
    const parts: Array<Uint8Array> = []
    for (const file of files) {
      if (typeof file !== "string") return yield* new WeightsError({ path: jsonPath, problem: "weightsManifest paths must be file names" })
      const binPath = join(dirname(jsonPath), file)
      const bytes = yield* Effect.tryPromise({ try: () => readFile(binPath), catch: (e) => new WeightsError({ path: binPath, problem: reason(e) }) })
      parts.push(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength))
    }
    const data = parts.length === 1 ? parts[0]! : concat(parts)
    return yield* decodeWeights(manifest, data, jsonPath)
  })

const concat = (parts: ReadonlyArray<Uint8Array>): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0))
  let offset = 0
  for (const p of parts) {
    out.set(p, offset)
    offset += p.byteLength
  }
  return out
}
