/**
 * `file://` model files for TensorFlow.js in Node without `@tensorflow/tfjs-node`.
 *
 * `@tensorflow/tfjs` (the union package, with the wasm or cpu backend) registers IO handlers for
 * browsers only (`http://`, `indexeddb://`, `localstorage://`, `downloads://`), so in Node
 * `model.save("file://DIR")` fails with "Cannot find any save handlers". This module registers a
 * save and a load router for `file://` that write and read the tfjs-layers model format exactly as
 * tfjs-node's `NodeFileSystem` does:
 *
 * - `DIR/model.json`: the `ModelJSON` (`modelTopology`, `format`, `generatedBy`, `convertedBy`,
 *   `weightsManifest` = one group `{ paths: ["weights.bin"], weights: [...] }`, and
 *   `trainingConfig`, `signature`, `userDefinedMetadata`, `modelInitializer`,
 *   `initializerSignature` when the model has them);
 * - `DIR/weights.bin`: the weights' bytes back to back in manifest order.
 *
 * That is the layout `tf.loadLayersModel` (here or in tfjs-node) and the tensorflowjs Python
 * converter (`--input_format tfjs_layers_model`) read. The folder is created if missing. Loading
 * reads every path of every manifest group relative to the folder of `model.json`, as tfjs-node
 * does. Every failure is a {@link ModelFileError} naming the file and what is wrong.
 *
 * The routers are registered when `scalpel/node` is imported, unless a `file://` handler is
 * already registered (tfjs-node's, imported first): two handlers for one URL make tfjs refuse both.
 */
import { mkdir, readFile, stat, writeFile } from "node:fs/promises"
import { dirname, join, resolve } from "node:path"
import { Data } from "effect"
import { tf } from "../core/tf.ts"

/** A model file cannot be written or read; `problem` says what is wrong. */
export class ModelFileError extends Data.TaggedError("ModelFileError")<{
  readonly path: string
  readonly problem: string
}> {
  override get message(): string {
    return `model file '${this.path}': ${this.problem}`
  }
}

/** The URL scheme the routers answer. */
export const fileUrlScheme = "file://"
const modelJsonName = "model.json"
const weightsBinaryName = "weights.bin"

const reason = (error: unknown): string => {
  const code = typeof error === "object" && error !== null && "code" in error ? String((error as { code: unknown }).code) : undefined
  if (code === "ENOENT") return "no such file or folder"
  if (code === "EACCES" || code === "EPERM") return "permission denied"
  if (code === "ENOTDIR") return "a part of the path is a file, not a folder"
  if (code === "EISDIR") return "is a folder, not a file"
  return error instanceof Error ? error.message : String(error)
}

const attempt = async <A>(path: string, run: () => Promise<A>, problem?: (e: unknown) => string): Promise<A> => {
  try {
    return await run()
  } catch (e) {
    if (e instanceof ModelFileError) throw e
    throw new ModelFileError({ path, problem: problem?.(e) ?? reason(e) })
  }
}

/** All of `weightData` (one buffer or several, as tfjs 4 may hand them) as one byte array. */
type IORouter = Parameters<typeof tf.io.registerSaveRouter>[0]

const bytesOf = (weightData: tf.io.WeightData): Uint8Array => new Uint8Array(new tf.io.CompositeArrayBuffer(weightData).slice())

/** The `model.json` of `artifacts`, with `weightsManifest` listing `weights.bin` (tfjs's `getModelJSONForModelArtifacts`). */
const modelJsonOf = (artifacts: tf.io.ModelArtifacts): tf.io.ModelJSON => {
  const json: { -readonly [K in keyof tf.io.ModelJSON]: tf.io.ModelJSON[K] } = {
    modelTopology: artifacts.modelTopology as tf.io.ModelJSON["modelTopology"],
    format: artifacts.format,
    generatedBy: artifacts.generatedBy,
    convertedBy: artifacts.convertedBy,
    weightsManifest: [{ paths: [weightsBinaryName], weights: artifacts.weightSpecs ?? [] }],
  }
  if (artifacts.signature != null) json.signature = artifacts.signature
  if (artifacts.userDefinedMetadata != null) json.userDefinedMetadata = artifacts.userDefinedMetadata
  if (artifacts.modelInitializer != null) json.modelInitializer = artifacts.modelInitializer
  if (artifacts.initializerSignature != null) json.initializerSignature = artifacts.initializerSignature
  if (artifacts.trainingConfig != null) json.trainingConfig = artifacts.trainingConfig
  return json
}

/**
 * Write `artifacts` to `folder` (created if missing): `weights.bin` first, then `model.json`, so a
 * `model.json` never lists weights that are not there yet.
 */
export const saveModelArtifacts = async (folder: string, artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> => {
  if (artifacts.modelTopology instanceof ArrayBuffer) {
    throw new ModelFileError({ path: folder, problem: "a binary model topology (a graph model) cannot be saved as model.json; save a layers model" })
  }
  await attempt(folder, async () => {
    const existing = await stat(folder).catch(() => undefined)
    if (existing !== undefined && !existing.isDirectory()) throw new ModelFileError({ path: folder, problem: "exists and is a file, not a folder" })
    await mkdir(folder, { recursive: true })
  })
  const binPath = join(folder, weightsBinaryName)
  const jsonPath = join(folder, modelJsonName)
  await attempt(binPath, () => writeFile(binPath, artifacts.weightData === undefined ? new Uint8Array(0) : bytesOf(artifacts.weightData)))
  await attempt(jsonPath, () => writeFile(jsonPath, JSON.stringify(modelJsonOf(artifacts))))
  return {
    modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts),
  }
}

const isRecord = (x: unknown): x is Record<string, unknown> => typeof x === "object" && x !== null && !Array.isArray(x)

/**
 * Read the `model.json` at `path` and the weight files its manifest lists (relative to its folder),
 * as the artifacts `tf.loadLayersModel` builds a model from.
 */
export const loadModelArtifacts = async (path: string): Promise<tf.io.ModelArtifacts> => {
  const info = await attempt(path, () => stat(path))
  if (info.isDirectory()) throw new ModelFileError({ path, problem: `is a folder: name the model.json inside it (file://${join(path, modelJsonName)})` })
  const text = await attempt(path, () => readFile(path, "utf8"))
  const json: unknown = await attempt(path, async () => JSON.parse(text) as unknown, (e) => `invalid JSON: ${reason(e)}`)
  if (!isRecord(json)) throw new ModelFileError({ path, problem: "expected a JSON object with modelTopology and weightsManifest" })
  const manifest = json.weightsManifest
  if (manifest !== undefined && !(Array.isArray(manifest) && manifest.every((g) => isRecord(g) && Array.isArray(g.paths) && Array.isArray(g.weights)))) {
    throw new ModelFileError({ path, problem: "weightsManifest must be a list of { paths, weights } groups" })
  }
  return tf.io.getModelArtifactsForJSON(json as unknown as tf.io.ModelJSON, async (groups) => {
    const folder = dirname(path)
    const buffers: Array<Uint8Array> = []
    const specs: Array<tf.io.WeightsManifestEntry> = []
    for (const group of groups) {
      for (const file of group.paths) {
        const filePath = join(folder, file)
        buffers.push(await attempt(filePath, () => readFile(filePath)))
      }
      specs.push(...group.weights)
    }
    const total = buffers.reduce((n, b) => n + b.byteLength, 0)
    const joined = new Uint8Array(total)
    let offset = 0
    for (const b of buffers) {
      joined.set(b, offset)
      offset += b.byteLength
    }
    return [specs, joined.buffer as ArrayBuffer]
  })
}

/** The file-system path of a `file://` URL: what follows the scheme, resolved against the working folder (as tfjs-node). */
const pathOfUrl = (url: string): string => resolve(url.slice(fileUrlScheme.length))

/** tfjs's IO router for `file://` URLs: a handler whose `save` and `load` are the functions above. */
export const fileSystemRouter = (url: string | ReadonlyArray<string>): tf.io.IOHandler | null => {
  if (typeof url !== "string" || !url.startsWith(fileUrlScheme)) return null
  const path = pathOfUrl(url)
  return {
    save: (artifacts) => saveModelArtifacts(path, artifacts),
    load: () => loadModelArtifacts(path),
  }
}

let registered = false

/**
 * Register {@link fileSystemRouter} with tfjs for saving and loading, once, and only when no
 * `file://` handler answers yet (tfjs-node registers its own; two would make tfjs refuse both).
 * `scalpel/node` calls it on import. Returns whether scalpel's routers are (now) the registered ones.
 */
export const registerFileSystemIo = (): boolean => {
  if (registered) return true
  const probe = `${fileUrlScheme}${resolve("scalpel-probe")}`
  if (tf.io.getSaveHandlers(probe).length > 0 || tf.io.getLoadHandlers(probe).length > 0) return false
  tf.io.registerSaveRouter(fileSystemRouter as IORouter)
  tf.io.registerLoadRouter(fileSystemRouter as IORouter)
  registered = true
  return true
}
