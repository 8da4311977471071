/**
 * Parameter vectors: a set of named tensors seen as one flat vector.
 *
 * A {@link Layout} fixes an order (by variable name) and an offset for every variable, so that a
 * gradient over many variables becomes one `Tensor1D`. Every inner product in scalpel is global
 * across all variables, so one flat buffer turns each dot product, norm and projection into a
 * single kernel call instead of one per variable (see docs/architecture.md).
 */
import { ShapeMismatch } from "./errors.ts"
import { hostKernel } from "./hostKernels.ts"
import { copyFinite } from "./hostSweeps.ts"
import { tf, type Tensor, type Tensor1D } from "./tf.ts"

/** Where one named variable lives inside the flat vector. */
export interface LayoutEntry {
  readonly name: string
  readonly shape: ReadonlyArray<number>
  readonly size: number
  readonly offset: number
}

/** The order, shapes and offsets of a set of named variables. */
export interface Layout {
  readonly entries: ReadonlyArray<LayoutEntry>
  /** Total number of scalars. */
  readonly size: number
}

/** A flat vector together with the layout that gives it meaning. */
export interface ParamVector {
  readonly layout: Layout
  readonly values: Tensor1D
}

/** Build the layout of named tensors, ordered by name so that it does not depend on insertion order. */
export const layoutOf = (tensors: Readonly<Record<string, { readonly shape: ReadonlyArray<number> }>>): Layout => {
  let offset = 0
  const entries = Object.keys(tensors)
    .sort()
    .map((name) => {
      const shape = [...(tensors[name]?.shape ?? [])]
      const size = shape.reduce((a, b) => a * b, 1)
      const entry: LayoutEntry = { name, shape, size, offset }
      offset += size
      return entry
    })
  return { entries, size: offset }
}

const shapeText = (shape: ReadonlyArray<number>): string => `[${shape.join(", ")}]`

/** Check that `tensors` has exactly the variables and shapes of `layout`. */
export const checkLayout = (layout: Layout, tensors: Readonly<Record<string, Tensor>>, what: string): ShapeMismatch | undefined => {
  const names = Object.keys(tensors).sort()
  const expected = layout.entries.map((e) => e.name)
  if (names.length !== expected.length || names.some((n, i) => n !== expected[i])) {
    return new ShapeMismatch({ what, expected: `variables {${expected.join(", ")}}`, actual: `{${names.join(", ")}}` })
  }
  for (const entry of layout.entries) {
    const actual = tensors[entry.name]!.shape
    if (actual.length !== entry.shape.length || actual.some((d, i) => d !== entry.shape[i])) {
      return new ShapeMismatch({ what: `${what}.${entry.name}`, expected: shapeText(entry.shape), actual: shapeText(actual) })
    }
  }
  return undefined
}

/** Concatenate named tensors into one flat vector in layout order (one copy). */
export const flatten = (layout: Layout, tensors: Readonly<Record<string, Tensor>>): Tensor1D =>
  tf.tidy(() => {
    const parts = layout.entries.map((e) => tf.reshape(tensors[e.name]!, [e.size]) as Tensor1D)
    return parts.length === 1 ? (parts[0]!.clone() as Tensor1D) : (tf.concat(parts) as Tensor1D)
  })

/**
 * {@link flatten}, and whether every value is finite, in the same pass over memory (on the host
 * backends; elsewhere a concatenation and a reduction). The training loop checks every gradient
 * before it may touch parameters or state, and this makes the check free.
 */
export const flattenChecked = (layout: Layout, tensors: Readonly<Record<string, Tensor>>): { readonly flat: Tensor1D; readonly finite: boolean } => {
  let finite = true
  const host = hostKernel(
    layout.entries.map((e) => tensors[e.name]!),
    1,
    (parts, [flat]) =>
      layout.entries.forEach((e, i) => {
        finite = copyFinite(flat!.subarray(e.offset, e.offset + e.size), parts[i]!) && finite
      }),
    layout.size,
  )
  if (host !== undefined) return { flat: host[0]!, finite }
  const flat = flatten(layout, tensors)
  return { flat, finite: tf.tidy(() => Number.isFinite(tf.sum(tf.mul(flat, 0)).dataSync()[0])) }
}

/** Split a flat vector back into named tensors of the layout's shapes. */
export const unflatten = (layout: Layout, flat: Tensor1D): Record<string, Tensor> =>
  tf.tidy(() => {
    const out: Record<string, Tensor> = {}
    const pieces = layout.entries.length === 1 ? [flat] : tf.split(flat, layout.entries.map((e) => e.size))
    layout.entries.forEach((e, i) => {
      out[e.name] = tf.reshape(pieces[i]!, [...e.shape])
    })
    return out
  })

/** Two layouts describe the same variables with the same shapes. */
export const sameLayout = (a: Layout, b: Layout): boolean =>
  a === b ||
  (a.size === b.size &&
    a.entries.length === b.entries.length &&
    a.entries.every((e, i) => {
      const o = b.entries[i]!
      return e.name === o.name && e.size === o.size && e.shape.every((d, j) => d === o.shape[j])
    }))
