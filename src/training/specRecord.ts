/**
 * The spec a checkpoint was written for: a JSON description of the whole declaration (by default
 * derived from the spec and the rule; the command line gives the resolved spec document, with the
 * problem's and the method's options), and the SHA-256 digest of its canonical form. Resuming
 * compares the checkpoint's record with the current run's and names the first difference, so that
 * a changed λ, ρ, problem seed or problem size is never mixed silently into a resumed run.
 *
 * Canonical form: objects with their keys sorted, `undefined` and functions left out, NaN and ±∞
 * as the strings "NaN", "Infinity", "-Infinity"; a value met again inside itself (a cycle) is the
 * string "[cycle]". Two descriptions with the same canonical form have the same digest.
 */
import { Data } from "effect"
import { sha256 } from "../core/sha256.ts"

/** A JSON value. */
export type JsonValue = null | boolean | number | string | ReadonlyArray<JsonValue> | { readonly [key: string]: JsonValue }

/** What a checkpoint records of the spec it was written for. */
export interface SpecRecord {
  /** SHA-256 (hexadecimal) of the canonical JSON text of `description`. */
  readonly digest: string
  /** The canonical description itself, so that a resume can name the first difference. */
  readonly description: JsonValue
}

/** `value` in canonical form (see the module comment). */
export const canonicalJson = (value: unknown): JsonValue => {
  const onPath = new Set<object>()
  const visit = (v: unknown): JsonValue | undefined => {
    if (v === null || typeof v === "boolean" || typeof v === "string") return v
    if (typeof v === "number") return Number.isFinite(v) ? v : String(v)
    if (typeof v === "bigint") return v.toString()
    if (typeof v !== "object") return undefined
    if (onPath.has(v)) return "[cycle]"
    onPath.add(v)
    try {
      if (Array.isArray(v)) return v.map((e) => visit(e) ?? null)
      const entries: Array<readonly [string, JsonValue]> = []
      for (const key of Object.keys(v).sort()) {
        const e = visit((v as Record<string, unknown>)[key])
        if (e !== undefined) entries.push([key, e])
      }
      // fromEntries defines own properties, so even a key named "__proto__" stays a key.
      return Object.fromEntries(entries)
    } finally {
      onPath.delete(v)
    }
  }
  return visit(value) ?? null
}

const hex = (bytes: Uint8Array): string => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")

/** The record of a description: its canonical form and that form's digest. */
export const specRecordOf = (description: unknown): SpecRecord => {
  const canonical = canonicalJson(description)
  return { digest: hex(sha256(new TextEncoder().encode(JSON.stringify(canonical)))), description: canonical }
}

/** Where two descriptions first differ, with both values as short JSON texts. */
export interface SpecDifference {
  /** `structure.lambda`, `problem.options.seed`, `objectives[1].weight` ("" for the whole value). */
  readonly path: string
  readonly checkpoint: string
  readonly current: string
}

const kind = (v: JsonValue): string => (v === null ? "null" : Array.isArray(v) ? "array" : typeof v)

const shown = (v: JsonValue | undefined): string => {
  if (v === undefined) return "absent"
  let text: string
  try {
    text = JSON.stringify(v)
  } catch {
    return `an ${kind(v)} nested too deep to show`
  }
  return text.length <= 60 ? text : `${text.slice(0, 57)}...`
}

/** Keys that say what an object is come first, so that a changed kind is named before the fields it implies. */
const identifying = ["kind", "name", "rule", "_tag"]
const keyOrder = (a: string, b: string): number => {
  const ia = identifying.indexOf(a)
  const ib = identifying.indexOf(b)
  if (ia !== ib) return ia < 0 ? 1 : ib < 0 ? -1 : ia - ib
  return a < b ? -1 : a > b ? 1 : 0
}

/**
 * The first place (depth first; keys `kind`, `name`, `rule` first, then in sorted order; array
 * entries in order) where `checkpoint`
 * and `current` differ, or undefined when they are equal. Iterative, so deep descriptions are fine.
 */
export const firstDifference = (checkpoint: JsonValue, current: JsonValue): SpecDifference | undefined => {
  const stack: Array<{ readonly a: JsonValue | undefined; readonly b: JsonValue | undefined; readonly path: string }> = [{ a: checkpoint, b: current, path: "" }]
  while (stack.length > 0) {
    const { a, b, path } = stack.pop()!
    if (a === undefined || b === undefined || kind(a) !== kind(b)) {
      if (a === undefined && b === undefined) continue
      return { path, checkpoint: shown(a), current: shown(b) }
    }
    if (typeof a !== "object" || a === null) {
      if (a !== b) return { path, checkpoint: shown(a), current: shown(b) }
      continue
    }
    const children: Array<{ a: JsonValue | undefined; b: JsonValue | undefined; path: string }> = []
    if (Array.isArray(a)) {
      const bs = b as ReadonlyArray<JsonValue>
      for (let i = 0; i < Math.max(a.length, bs.length); i++) children.push({ a: a[i], b: bs[i], path: `${path}[${i}]` })
    } else {
      const ar = a as { readonly [key: string]: JsonValue }
      const br = b as { readonly [key: string]: JsonValue }
      const keys = [...new Set([...Object.keys(ar), ...Object.keys(br)])].sort(keyOrder)
      for (const key of keys) {
        children.push({ a: Object.hasOwn(ar, key) ? ar[key] : undefined, b: Object.hasOwn(br, key) ? br[key] : undefined, path: path === "" ? key : `${path}.${key}` })
      }
    }
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]!)
  }
  return undefined
}

/** `structure.lambda is 0.5 in the checkpoint but 0.6 in this spec`. */
export const describeDifference = (d: SpecDifference): string =>
  `${d.path === "" ? "the spec" : d.path} is ${d.checkpoint} in the checkpoint but ${d.current} in this spec`

/**
 * A resume from a checkpoint written for a different spec, refused: `difference` names the first
 * differing field and both values. Resuming anyway takes an explicit request
 * (`TrainingOptions.resumeWithChangedSpec`, `--resume-with-changed-spec` on the command line).
 */
export class SpecChangedOnResume extends Data.TaggedError("SpecChangedOnResume")<{
  /** The checkpoint file. */
  readonly path: string
  readonly difference: string
}> {
  override get message(): string {
    return `checkpoint '${this.path}' was written for a different spec: ${this.difference}. Resuming would mix two runs; to resume anyway, pass --resume-with-changed-spec (library: resumeWithChangedSpec: true)`
  }
}

/** The sentence comparing two records, or undefined when their digests agree. */
export const specChange = (checkpoint: SpecRecord, current: SpecRecord): string | undefined => {
  if (checkpoint.digest === current.digest) return undefined
  const d = firstDifference(checkpoint.description, current.description)
  return d === undefined ? `the spec's digest is ${checkpoint.digest} in the checkpoint but ${current.digest} in this spec` : describeDifference(d)
}
