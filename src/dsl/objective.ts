/**
 * Objectives: named differentiable losses and the data they are measured on.
 */
import type { Tensor } from "../core/tf.ts"

/**
 * The trainable parameters as a loss sees them, by name.
 *
 * `Params<"w" | "b">` (names) or `Params<typeof parameters>` (the declaration record given to
 * `makeSpec`) has one tensor per declared name, so a loss reads `p.w` without `!`. The default,
 * `Params` = `Params<string>`, is a plain record whose entries may be missing (under
 * `noUncheckedIndexedAccess`), for code that does not know the names.
 */
export type Params<P extends string | { readonly [name: string]: unknown } = string> = {
  readonly [K in P extends string ? P : keyof P & string]: Tensor
}

/**
 * Where mini-batches come from. `batch` builds the tensors for the given example indices; the
 * training loop draws the indices from the spec's seed and releases the tensors after the step.
 */
export interface DataSource<B> {
  readonly name: string
  /** Number of examples; indices passed to `batch` lie in [0, size). */
  readonly size: number
  readonly batch: (indices: Int32Array) => B
}

/**
 * What a loss is told about the evaluation it is part of. `training` is true in a training step
 * and false when the loss is measured for a report (final losses, evaluations, validation): pass
 * it to a model, `model.apply(x, { training })`, so that Dropout and BatchNorm work as in
 * `model.fit` (on in the step, off in what is reported).
 */
export interface LossContext {
  readonly training: boolean
}

/** The context of a training step. */
export const trainingContext: LossContext = { training: true }
/** The context of a reported measurement. */
export const inferenceContext: LossContext = { training: false }

/**
 * A named differentiable loss. Without `data` the loss is deterministic (a prior on the weights,
 * a regulariser) and is called with `undefined` as its batch. `P` names the parameters the loss
 * reads (`string`: not known).
 */
export interface Objective<B = unknown, P extends string = string> {
  readonly _tag: "Objective"
  readonly name: string
  // Method syntax on purpose: an objective typed by its parameter names (`Objective<B, "w">`)
  // must fit where any objective is expected (`Structure`), and the training loop passes it the
  // full record of declared parameters.
  //
  // The value must be a rank-0 tensor (a `tf.Scalar`, or any `tf.Tensor` of rank 0 such as
  // `tf.addN(...)` of scalars); the training loop checks the rank and fails with `LossNotScalar`.
  // `context` is optional here so that code calling a loss itself (`o.loss(p, b)`) still compiles;
  // the training loop always passes it.
  loss(params: { readonly [K in P]: Tensor }, batch: B, context?: LossContext): Tensor
  readonly data?: DataSource<B>
}

/**
 * Declare an objective measured on mini-batches of `data`. Annotate the loss's first argument
 * (`(p: Params<typeof parameters>, b: Batch) => ...`) to read the parameters by name, typed.
 */
export function objective<B, P extends string = string, const N extends string = string>(
  name: N,
  loss: (params: { readonly [K in P]: Tensor }, batch: B, context: LossContext) => Tensor,
  data: DataSource<B>,
): Objective<B, P> & { readonly name: N }
/** Declare a deterministic objective (no data). */
export function objective<P extends string = string, const N extends string = string>(
  name: N,
  loss: (params: { readonly [K in P]: Tensor }, batch: undefined, context: LossContext) => Tensor,
): Objective<undefined, P> & { readonly name: N }
export function objective<B, P extends string>(
  name: string,
  loss: (params: { readonly [K in P]: Tensor }, batch: B, context: LossContext) => Tensor,
  data?: DataSource<B>,
): Objective<B, P> {
  return data === undefined ? { _tag: "Objective", name, loss } : { _tag: "Objective", name, loss, data }
}
