/**
 * The checkpoint file format (version 1): a JSON header describing the run and its states, and a
 * binary payload holding every tensor's values, sealed by a SHA-256 checksum.
 *
 * ```
 * offset      size  content
 * 0           8     magic, ASCII "SCPLCKPT"
 * 8           4     format version, unsigned 32-bit little-endian (1)
 * 12          4     H, header length in bytes, u32 LE
 * 16          8     P, payload length in bytes, u64 LE (a multiple of 4)
 * 24          H     header: UTF-8 JSON, see {@link CheckpointHeader}
 * 24+H        P     payload: tensors back to back, 4-byte little-endian elements (float32 or int32)
 * 24+H+P      32    SHA-256 of bytes [0, 24+H+P)
 * ```
 *
 * Float32 values travel as their exact bytes, so a restored tensor is bit-identical to the saved
 * one. Numbers in the header (step counters, RNG states, scalar hyper-parameters) are JSON
 * numbers, which round-trip every finite float64 exactly; NaN and ±∞ are written as tagged
 * strings. Decoding never throws: every way a file can be wrong (truncated, padded, flipped bits,
 * wrong version, inconsistent header) is a {@link CheckpointError} naming the problem.
 *
 * This module is pure (bytes in, bytes out) and knows nothing of tfjs; `checkpoint.ts` moves
 * values between host arrays and tensors and does the file I/O.
 */
import { Data, Either, Schema } from "effect"
import { sha256 } from "../core/sha256.ts"
import { decodeIssues } from "../dsl/parseIssues.ts"
import type { JsonValue, SpecRecord } from "./specRecord.ts"

/** The current format version; readers refuse other versions instead of guessing. */
export const checkpointFormatVersion = 1

const magic = Uint8Array.from("SCPLCKPT", (c) => c.charCodeAt(0))
const prefixBytes = 24
const checksumBytes = 32

/** A checkpoint cannot be read or written; `problem` says what is wrong with it. */
export class CheckpointError extends Data.TaggedError("CheckpointError")<{
  /** The file (or "<bytes>" when decoding a buffer). */
  readonly path: string
  readonly problem: string
}> {
  override get message(): string {
    return `checkpoint '${this.path}': ${this.problem}`
  }
}

/** Element types a checkpoint stores (both 4 bytes wide). */
export type HostDType = "float32" | "int32"

/** A tensor's values on the host, with its shape. */
export class HostTensor {
  constructor(
    readonly dtype: HostDType,
    readonly shape: ReadonlyArray<number>,
    readonly values: Float32Array | Int32Array,
  ) {}
}

/** A rule state on the host: the shape of `RuleState` with tensors replaced by {@link HostTensor}. */
export type HostState =
  | HostTensor
  | number
  | string
  | boolean
  | ReadonlyArray<HostState>
  | { readonly [key: string]: HostState }

/** Everything a checkpoint holds. */
export interface CheckpointContents {
  /** Steps completed when the checkpoint was written. */
  readonly step: number
  /**
   * What identifies the run (rule, objectives, parameter shapes, optimizer, seed, batch size), as
   * JSON values; a resume compares it field by field and names the first difference.
   */
  readonly run: Readonly<Record<string, unknown>>
  /**
   * The spec the run was declared with (see `specRecord.ts`): a resume refuses a checkpoint whose
   * spec differs, naming the first difference. Absent in checkpoints written before scalpel
   * recorded it; such a checkpoint is resumed with a warning that its spec cannot be verified.
   */
  readonly spec?: SpecRecord
  /**
   * The matrix-product kernel that computed the run up to this step (`matMulKernelVariant()`:
   * `plain-simd`, `relaxed-fma` or `tfjs`): a record of how its bits were made (the relaxed
   * variant's depend on the CPU), not checked on resume. Absent in older checkpoints.
   */
  readonly matMulKernel?: string
  /** State of the data-sampling generator (mulberry32, see `core/random.ts`). */
  readonly dataRng: number
  readonly skippedSteps: number
  readonly parameters: Readonly<Record<string, HostTensor>>
  readonly ruleState: HostState
  readonly optimizer: { readonly t: number; readonly slots: Readonly<Record<string, HostTensor>> }
}

// ---------------------------------------------------------------------------------------------
// Header schema

/** A node of an encoded state tree: exactly one key says what the node is. */
type StateNode =
  | { readonly tensor: number }
  | { readonly number: number }
  | { readonly nonFinite: "NaN" | "Infinity" | "-Infinity" }
  | { readonly string: string }
  | { readonly boolean: boolean }
  | { readonly array: ReadonlyArray<StateNode> }
  | { readonly record: { readonly [key: string]: StateNode } }

const Index = Schema.Number.pipe(Schema.int(), Schema.nonNegative())

const StateNode: Schema.Schema<StateNode> = Schema.Union(
  Schema.Struct({ tensor: Index }),
  Schema.Struct({ number: Schema.Number }),
  Schema.Struct({ nonFinite: Schema.Literal("NaN", "Infinity", "-Infinity") }),
  Schema.Struct({ string: Schema.String }),
  Schema.Struct({ boolean: Schema.Boolean }),
  Schema.Struct({ array: Schema.Array(Schema.suspend(() => StateNode)) }),
  Schema.Struct({ record: Schema.Record({ key: Schema.String, value: Schema.suspend(() => StateNode) }) }),
)

const TensorEntry = Schema.Struct({
  dtype: Schema.Literal("float32", "int32"),
  shape: Schema.Array(Index),
  /** Byte offset into the payload. */
  offset: Index,
  /** Number of elements. */
  length: Index,
})

/** The JSON header of a version-1 checkpoint. */
export const CheckpointHeader = Schema.Struct({
  format: Schema.Literal("scalpel-checkpoint"),
  step: Index,
  run: Schema.Record({ key: Schema.String, value: Schema.Unknown }),
  /** Optional: older version-1 files do not have it (and older readers ignore it). */
  spec: Schema.optional(Schema.Struct({ digest: Schema.String, description: Schema.Unknown })),
  /** Optional, likewise: the matrix-product kernel of the run. */
  matMulKernel: Schema.optional(Schema.String),
  dataRng: Index,
  skippedSteps: Index,
  tensors: Schema.Array(TensorEntry),
  parameters: Schema.Record({ key: Schema.String, value: Index }),
  ruleState: StateNode,
  optimizer: Schema.Struct({ t: Index, slots: Schema.Record({ key: Schema.String, value: Index }) }),
})
type CheckpointHeader = typeof CheckpointHeader.Type

// ---------------------------------------------------------------------------------------------
// Encoding

/** Serialise `contents` to the bytes of a version-1 checkpoint file. */
export const encodeCheckpoint = (contents: CheckpointContents): Uint8Array => {
  const tensors: Array<HostTensor> = []
  let payloadBytes = 0
  const entries: Array<typeof TensorEntry.Type> = []
  const add = (t: HostTensor): number => {
    tensors.push(t)
    entries.push({ dtype: t.dtype, shape: [...t.shape], offset: payloadBytes, length: t.values.length })
    payloadBytes += 4 * t.values.length
    return tensors.length - 1
  }
  const encodeState = (s: HostState): StateNode => {
    if (s instanceof HostTensor) return { tensor: add(s) }
    if (typeof s === "number") return Number.isFinite(s) ? { number: s } : { nonFinite: String(s) as "NaN" | "Infinity" | "-Infinity" }
    if (typeof s === "string") return { string: s }
    if (typeof s === "boolean") return { boolean: s }
    if (Array.isArray(s)) return { array: s.map(encodeState) }
    const record = s as { readonly [key: string]: HostState }
    return { record: Object.fromEntries(Object.keys(record).map((k) => [k, encodeState(record[k]!)])) }
  }
  const indexRecord = (r: Readonly<Record<string, HostTensor>>) =>
    Object.fromEntries(Object.keys(r).sort().map((k) => [k, add(r[k]!)]))
  const header: CheckpointHeader = {
    format: "scalpel-checkpoint",
    step: contents.step,
    run: contents.run,
    ...(contents.spec === undefined ? {} : { spec: contents.spec }),
    ...(contents.matMulKernel === undefined ? {} : { matMulKernel: contents.matMulKernel }),
    dataRng: contents.dataRng,
    skippedSteps: contents.skippedSteps,
    parameters: indexRecord(contents.parameters),
    optimizer: { t: contents.optimizer.t, slots: indexRecord(contents.optimizer.slots) },
    ruleState: encodeState(contents.ruleState),
    tensors: entries,
  }
  const headerBytes = new TextEncoder().encode(JSON.stringify(header))
  const total = prefixBytes + headerBytes.length + payloadBytes + checksumBytes
  const out = new Uint8Array(total)
  const view = new DataView(out.buffer)
  out.set(magic, 0)
  view.setUint32(8, checkpointFormatVersion, true)
  view.setUint32(12, headerBytes.length, true)
  view.setBigUint64(16, BigInt(payloadBytes), true)
  out.set(headerBytes, prefixBytes)
  const payloadStart = prefixBytes + headerBytes.length
  tensors.forEach((t, i) => writeElements(out, view, payloadStart + entries[i]!.offset, t))
  out.set(sha256(out.subarray(0, total - checksumBytes)), total - checksumBytes)
  return out
}

/** The file stores little-endian elements; on such hosts (all usual ones) bytes are copied as a block. */
const hostIsLittleEndian = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1

const writeElements = (out: Uint8Array, view: DataView, start: number, t: HostTensor): void => {
  if (hostIsLittleEndian) {
    out.set(new Uint8Array(t.values.buffer, t.values.byteOffset, t.values.byteLength), start)
    return
  }
  for (let j = 0; j < t.values.length; j++) {
    if (t.dtype === "float32") view.setFloat32(start + 4 * j, t.values[j]!, true)
    else view.setInt32(start + 4 * j, t.values[j]!, true)
  }
}

const readElements = (bytes: Uint8Array, view: DataView, start: number, dtype: HostDType, length: number): Float32Array | Int32Array => {
  if (hostIsLittleEndian) {
    // slice copies into a fresh, 4-aligned buffer (the payload itself may start at any offset).
    const buffer = bytes.slice(start, start + 4 * length).buffer
    return dtype === "float32" ? new Float32Array(buffer) : new Int32Array(buffer)
  }
  const values = dtype === "float32" ? new Float32Array(length) : new Int32Array(length)
  for (let j = 0; j < length; j++) values[j] = dtype === "float32" ? view.getFloat32(start + 4 * j, true) : view.getInt32(start + 4 * j, true)
  return values
}

// ---------------------------------------------------------------------------------------------
// Decoding

/** A problem found while decoding; turned into a {@link CheckpointError} at the boundary. */
class Invalid {
  constructor(readonly problem: string) {}
}

/**
 * Parse the bytes of a checkpoint file. Every defect is a {@link CheckpointError} (never an
 * exception), checked in this order so the message names the most basic problem: size, magic,
 * version, announced lengths against the file size (truncation), checksum, header JSON and
 * schema, then each tensor's place inside the payload.
 */
export const decodeCheckpoint = (bytes: Uint8Array, path = "<bytes>"): Either.Either<CheckpointContents, CheckpointError> => {
  try {
    return Either.right(decodeOrThrowInvalid(bytes))
  } catch (error) {
    if (error instanceof Invalid) return Either.left(new CheckpointError({ path, problem: error.problem }))
    // Anything else is a bug in this decoder; still report it as a typed error naming it.
    return Either.left(new CheckpointError({ path, problem: `unreadable (${error instanceof Error ? error.message : String(error)})` }))
  }
}

const decodeOrThrowInvalid = (bytes: Uint8Array): CheckpointContents => {
  const minimum = prefixBytes + checksumBytes
  if (bytes.length < minimum) throw new Invalid(`file is ${bytes.length} bytes, shorter than the smallest checkpoint (${minimum} bytes): truncated or not a checkpoint`)
  if (!magic.every((b, i) => bytes[i] === b)) throw new Invalid(`does not start with the magic bytes "SCPLCKPT": not a scalpel checkpoint`)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const version = view.getUint32(8, true)
  if (version !== checkpointFormatVersion) throw new Invalid(`format version ${version} is not supported (this scalpel reads version ${checkpointFormatVersion})`)
  const headerLength = view.getUint32(12, true)
  const payloadLength = view.getBigUint64(16, true)
  const announced = BigInt(prefixBytes) + BigInt(headerLength) + payloadLength + BigInt(checksumBytes)
  if (announced !== BigInt(bytes.length)) {
    throw new Invalid(
      BigInt(bytes.length) < announced
        ? `file is ${bytes.length} bytes but its header announces ${announced}: truncated`
        : `file is ${bytes.length} bytes but its header announces ${announced}: trailing bytes or a corrupt length field`,
    )
  }
  const sealed = bytes.length - checksumBytes
  const expected = sha256(bytes.subarray(0, sealed))
  if (!expected.every((b, i) => bytes[sealed + i] === b)) throw new Invalid("checksum mismatch: the file is corrupt")
  const payloadBytes = Number(payloadLength)
  if (payloadBytes % 4 !== 0) throw new Invalid(`payload length ${payloadBytes} is not a multiple of 4`)

  let json: unknown
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(prefixBytes, prefixBytes + headerLength)))
  } catch (error) {
    throw new Invalid(`header is not valid UTF-8 JSON (${error instanceof Error ? error.message : String(error)})`)
  }
  const decoded = Schema.decodeUnknownEither(CheckpointHeader)(json, { errors: "first" })
  if (Either.isLeft(decoded)) {
    const issue = decodeIssues(decoded.left, "header")[0]
    throw new Invalid(issue === undefined ? "header does not match the version-1 schema" : `${issue.path}: ${issue.message}`)
  }
  const header = decoded.right

  const payloadStart = prefixBytes + headerLength
  const tensors = header.tensors.map((entry, i) => {
    const size = entry.shape.reduce((a, b) => a * b, 1)
    if (size !== entry.length) throw new Invalid(`header.tensors[${i}]: shape [${entry.shape.join(", ")}] holds ${size} elements, not ${entry.length}`)
    if (entry.offset % 4 !== 0 || entry.offset + 4 * entry.length > payloadBytes) {
      throw new Invalid(`header.tensors[${i}]: bytes [${entry.offset}, ${entry.offset + 4 * entry.length}) lie outside the ${payloadBytes}-byte payload`)
    }
    return new HostTensor(entry.dtype, entry.shape, readElements(bytes, view, payloadStart + entry.offset, entry.dtype, entry.length))
  })
  const tensorAt = (index: number, where: string): HostTensor => {
    const t = tensors[index]
    if (t === undefined) throw new Invalid(`${where} refers to tensor ${index}, but the header lists ${tensors.length}`)
    return t
  }
  const decodeState = (node: StateNode, where: string): HostState => {
    if ("tensor" in node) return tensorAt(node.tensor, where)
    if ("number" in node) return node.number
    if ("nonFinite" in node) return Number(node.nonFinite)
    if ("string" in node) return node.string
    if ("boolean" in node) return node.boolean
    if ("array" in node) return node.array.map((n, i) => decodeState(n, `${where}[${i}]`))
    return Object.fromEntries(Object.keys(node.record).map((k) => [k, decodeState(node.record[k]!, `${where}.${k}`)]))
  }
  const tensorRecord = (r: Readonly<Record<string, number>>, where: string) =>
    Object.fromEntries(Object.keys(r).map((k) => [k, tensorAt(r[k]!, `${where}.${k}`)]))
  return {
    step: header.step,
    run: header.run,
    ...(header.spec === undefined ? {} : { spec: { digest: header.spec.digest, description: header.spec.description as JsonValue } }),
    ...(header.matMulKernel === undefined ? {} : { matMulKernel: header.matMulKernel }),
    dataRng: header.dataRng,
    skippedSteps: header.skippedSteps,
    parameters: tensorRecord(header.parameters, "header.parameters"),
    ruleState: decodeState(header.ruleState, "header.ruleState"),
    optimizer: { t: header.optimizer.t, slots: tensorRecord(header.optimizer.slots, "header.optimizer.slots") },
  }
}
