/**
 * The weights format of a finished run (what `scalpel run` and `writeWeights` write as
 * `model.json` + `weights.bin`): TensorFlow.js's own model-artifacts layout without a topology,
 * so that `tf.io.decodeWeights`, tfjs-node's and scalpel's `file://` load handlers and the
 * tensorflowjs Python package (`read_weights`) read it too.
 *
 * `model.json`:
 * ```json
 * { "format": "scalpel-weights", "version": 1, "generatedBy": "scalpel",
 *   "weightsManifest": [{ "paths": ["weights.bin"],
 *                         "weights": [{ "name": "w", "shape": [256, 1], "dtype": "float32" }] }] }
 * ```
 * `weights.bin`: each listed tensor's values in row-major order, float32 little-endian, back to
 * back in the listed order (parameter names sorted), nothing else.
 *
 * Runs before this layout named the manifest `weights.json` (same contents); readers accept both.
 * The decoder also reads the weights of a tfjs-layers `model.json` (`"format": "layers-model"`,
 * as `model.save` writes), whose names are those `fromModel` gives the parameters.
 *
 * This module is pure (tensors or bytes in, bytes or host arrays out) and browser-safe; the files
 * are written and read by `weightsFile.ts`.
 */
import { Data, Either } from "effect"
import type { Params } from "../dsl/objective.ts"
import type { ParameterDeclaration } from "../dsl/spec.ts"
import { HostTensor } from "./checkpointFormat.ts"

/** The format name and version written in `model.json`; readers refuse other versions. */
export const weightsFormat = "scalpel-weights"
export const weightsFormatVersion = 1

/** One tensor of the manifest. */
export interface WeightEntry {
  readonly name: string
  readonly shape: ReadonlyArray<number>
  readonly dtype: "float32"
}

/** The contents of `model.json`. */
export interface WeightsManifest {
  readonly format: typeof weightsFormat
  readonly version: number
  readonly generatedBy: string
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
  return { manifest: { format: weightsFormat, version: weightsFormatVersion, generatedBy: "scalpel", weightsManifest: [{ paths: [binaryName], weights: entries }] }, data }
}

const isRecord = (x: unknown): x is Record<string, unknown> => typeof x === "object" && x !== null && !Array.isArray(x)

/**
 * The tensors of a weights file, by name, from its parsed `model.json` (or a run's older
 * `weights.json`) and the bytes of the files its manifest lists, joined in the listed order. A
 * tfjs-layers `model.json` (`"format": "layers-model"`) is read too, when its weights are float32
 * and not quantized. Every way the pair can be wrong is a {@link WeightsError} naming the problem.
 */
export const decodeWeights = (manifest: unknown, data: Uint8Array, path = "<weights>"): Either.Either<Record<string, HostTensor>, WeightsError> => {
  const fail = (problem: string) => Either.left(new WeightsError({ path, problem }))
  if (!isRecord(manifest) || (manifest.format !== weightsFormat && manifest.format !== "layers-model")) {
    return fail(`expected an object with "format": "${weightsFormat}" (or a tfjs-layers model.json, "format": "layers-model")`)
  }
  if (manifest.format === weightsFormat && manifest.version !== weightsFormatVersion) {
    return fail(`format version ${String(manifest.version)} is not supported (expected ${weightsFormatVersion})`)
  }
  const groups = manifest.weightsManifest
  if (!Array.isArray(groups) || groups.length === 0 || !groups.every((g) => isRecord(g) && Array.isArray(g.weights))) {
    return fail("expected weightsManifest to be a list of groups, each with a list of weights")
  }
  const entries: ReadonlyArray<unknown> = groups.flatMap((g: Record<string, unknown>) => g.weights as ReadonlyArray<unknown>)
  const out: Record<string, HostTensor> = {}
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength)
  let offset = 0
  for (const [i, entry] of entries.entries()) {
    if (!isRecord(entry) || typeof entry.name !== "string" || entry.dtype !== "float32" || !Array.isArray(entry.shape)) {
      return fail(`weights[${i}]: expected { name, shape, dtype: "float32" }`)
    }
    if (entry.quantization !== undefined) return fail(`weights[${i}] ('${entry.name}'): quantized weights are not supported`)
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

/**
 * Parameter declarations that start from `weights` (as `readWeights` returns them): each name
 * declared with its shape and `init: { kind: "values" }` holding exactly the stored float32
 * values, so a spec built with `parameters: fromWeights(weights)` resumes from a saved run's
 * weights bit for bit. `only` keeps the listed names (a spec that declares fewer parameters).
 */
export const fromWeights = <N extends string = string>(
  weights: Readonly<Record<N, HostTensor>>,
  only?: ReadonlyArray<N>,
): { readonly [K in N]: ParameterDeclaration } =>
  Object.fromEntries(
    (only ?? (Object.keys(weights) as Array<N>)).map((name) => {
      const w = weights[name]
      return [name, { shape: [...w.shape], init: { kind: "values", values: w.values } } satisfies ParameterDeclaration]
    }),
  ) as unknown as { readonly [K in N]: ParameterDeclaration }
