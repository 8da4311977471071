/**
 * The weights format of a finished run (what `scalpel run` writes as `weights.json` +
 * `weights.bin`): TensorFlow.js's own weights-manifest layout, so that `tf.io.decodeWeights`
 * reads it too.
 *
 * `weights.json`:
 * ```json
 * { "format": "scalpel-weights", "version": 1,
 *   "weightsManifest": [{ "paths": ["weights.bin"],
 *                         "weights": [{ "name": "w", "shape": [256, 1], "dtype": "float32" }] }] }
 * ```
 * `weights.bin`: each listed tensor's values in row-major order, float32 little-endian, back to
 * back in the listed order (parameter names sorted), nothing else.
 *
 * This module is pure (tensors or bytes in, bytes or host arrays out) and browser-safe; the files
 * are written and read by `weightsFile.ts`.
 */
import { Data, Either } from "effect"
import type { Params } from "../dsl/objective.ts"
import { HostTensor } from "./checkpointFormat.ts"

/** The format name and version written in `weights.json`; readers refuse others. */
export const weightsFormat = "scalpel-weights"
export const weightsFormatVersion = 1

/** One tensor of the manifest. */
export interface WeightEntry {
  readonly name: string
  readonly shape: ReadonlyArray<number>
  readonly dtype: "float32"
}

/** The contents of `weights.json`. */
export interface WeightsManifest {
  readonly format: typeof weightsFormat
  readonly version: number
  readonly weightsManifest: ReadonlyArray<{ readonly paths: ReadonlyArray<string>; readonly weights: ReadonlyArray<WeightEntry> }>
}

/** A weights file cannot be read or written; `problem` says what is wrong. */
export class WeightsError extends Data.TaggedError("WeightsError")<{
  readonly path: string
  readonly problem: string
}> {
  override get message(): string {
    return `weights '${this.path}': ${this.problem}`
  }
}

/**
 * The manifest and the bytes of `parameters` (names sorted), with `binaryName` as the manifest's
 * path of the values file. Reads each tensor's values once (`dataSync`).
 */
export const encodeWeights = (parameters: Params, binaryName = "weights.bin"): { readonly manifest: WeightsManifest; readonly data: Uint8Array } => {
  const names = Object.keys(parameters).sort()
  const entries: Array<WeightEntry> = []
  const arrays: Array<Float32Array> = []
  for (const name of names) {
    const tensor = parameters[name]!
    entries.push({ name, shape: [...tensor.shape], dtype: "float32" })
    arrays.push(tensor.dataSync() as Float32Array)
  }
  const data = new Uint8Array(arrays.reduce((n, a) => n + 4 * a.length, 0))
  const view = new DataView(data.buffer)
  let offset = 0
  for (const values of arrays) {
    for (let i = 0; i < values.length; i++, offset += 4) view.setFloat32(offset, values[i]!, true)
  }
  return { manifest: { format: weightsFormat, version: weightsFormatVersion, weightsManifest: [{ paths: [binaryName], weights: entries }] }, data }
}

const isRecord = (x: unknown): x is Record<string, unknown> => typeof x === "object" && x !== null && !Array.isArray(x)

/**
 * The tensors of a weights file, by name, from its parsed `weights.json` and the bytes of its
 * values file. Every way the pair can be wrong is a {@link WeightsError} naming the problem.
 */
export const decodeWeights = (manifest: unknown, data: Uint8Array, path = "<weights>"): Either.Either<Record<string, HostTensor>, WeightsError> => {
  const fail = (problem: string) => Either.left(new WeightsError({ path, problem }))
  if (!isRecord(manifest) || manifest.format !== weightsFormat) return fail(`expected an object with "format": "${weightsFormat}"`)
  if (manifest.version !== weightsFormatVersion) return fail(`format version ${String(manifest.version)} is not supported (expected ${weightsFormatVersion})`)
  const groups = manifest.weightsManifest
  if (!Array.isArray(groups) || groups.length !== 1 || !isRecord(groups[0]) || !Array.isArray(groups[0].weights)) {
    return fail("expected weightsManifest to hold one group with a list of weights")
  }
  const entries: ReadonlyArray<unknown> = groups[0].weights
  const out: Record<string, HostTensor> = {}
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength)
  let offset = 0
  for (const [i, entry] of entries.entries()) {
    if (!isRecord(entry) || typeof entry.name !== "string" || entry.dtype !== "float32" || !Array.isArray(entry.shape)) {
      return fail(`weights[${i}]: expected { name, shape, dtype: "float32" }`)
    }
    const shape = entry.shape as ReadonlyArray<unknown>
    if (!shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) return fail(`weights[${i}] ('${entry.name}'): shape must list non-negative integers`)
    if (entry.name in out) return fail(`weights[${i}]: name '${entry.name}' appears twice`)
    const size = (shape as ReadonlyArray<number>).reduce((a, b) => a * b, 1)
    if (offset + 4 * size > data.byteLength) return fail(`values file too short: '${entry.name}' needs bytes ${offset}..${offset + 4 * size}, the file has ${data.byteLength}`)
    const values = new Float32Array(size)
    for (let k = 0; k < size; k++, offset += 4) values[k] = view.getFloat32(offset, true)
    out[entry.name] = new HostTensor("float32", shape as ReadonlyArray<number>, values)
  }
  if (offset !== data.byteLength) return fail(`values file has ${data.byteLength - offset} bytes beyond the listed weights`)
  return Either.right(out)
}
