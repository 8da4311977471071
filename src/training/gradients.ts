/**
 * One step's losses and flat gradients, one per objective the rule reads, with their finiteness
 * and the zero-gradient findings: on this thread, or split across gradient workers
 * (`parallel/`). Mini-batch indices are drawn first (`sampling.ts`), so both paths see the same.
 */
import { Effect, Exit } from "effect"
import { hostValues } from "../core/hostKernels.ts"
import { flattenChecked } from "../core/paramVector.ts"
import { linearCombination } from "../core/vector.ts"
import { tf, type Scalar, type Tensor, type Tensor1D, type Variable } from "../core/tf.ts"
import { trainingContext } from "../dsl/objective.ts"
import type { RunContext } from "./context.ts"
import { LossNotScalar } from "./errors.ts"
import type { GradientWorkerError, WorkerPool } from "./parallel/protocol.ts"
import { shareOf } from "./parallel/sources.ts"
import type { ZeroFinding } from "./zeroGradient.ts"

/** One step's losses, flat gradients and finiteness by objective, and the objectives found with an all-zero gradient. */
export type StepGradients = {
  readonly losses: Record<string, Scalar>
  readonly gradients: Record<string, Tensor1D>
  readonly finite: Record<string, boolean>
  readonly zero: Array<ZeroFinding>
}

/**
 * The loss and its gradient with respect to every variable, in `names` order. A loss need not use
 * every parameter (a task head, a prior on one layer): a parameter it does not reach gets a zero
 * gradient, which is its exact gradient. (`tf.valueAndGrads` would throw instead, and
 * `tf.variableGrads` leaves such variables out, or throws when the loss reaches none of them.)
 */
export const lossAndGradients = (
  loss: () => Scalar,
  variables: Readonly<Record<string, Variable>>,
  names: ReadonlyArray<string>,
): { readonly value: Scalar; readonly grads: ReadonlyArray<Tensor>; readonly reached: boolean } => {
  const list = names.map((n) => variables[n]!)
  let value: Scalar
  let found: Record<string, Tensor>
  try {
    const result = tf.variableGrads(loss, list)
    value = result.value
    found = result.grads
  } catch (error) {
    if (!(error instanceof Error && /connection between any variable/.test(error.message))) throw error
    value = loss()
    found = {}
  }
  return { value, grads: list.map((v) => found[v.name] ?? tf.zerosLike(v)), reached: Object.keys(found).length > 0 }
}

const isAllZero = (flat: Tensor1D): boolean => tf.tidy(() => tf.all(tf.equal(flat, 0)).dataSync()[0] === 1)

/** The flat gradient of `o`'s loss on `batch`, checked for finiteness, and whether the loss reached a parameter. */
const objectiveGradient = (ctx: RunContext, index: number, batch: unknown) => {
  const o = ctx.objectives[index]!
  // A loss of the wrong rank is reported after tf.variableGrads returns: an exception thrown
  // from inside it leaves a tensor of the tape behind.
  let shape: ReadonlyArray<number> = []
  const { value, grads, reached } = lossAndGradients(
    () => {
      const loss = o.loss(ctx.variables, batch, trainingContext)
      shape = loss.shape
      return loss.rank === 0 ? (loss as Scalar) : tf.sum(loss)
    },
    ctx.variables,
    ctx.names,
  )
  if (shape.length !== 0) throw new LossNotScalar({ objective: o.name, rank: shape.length, shape: [...shape] })
  const byName: Record<string, Tensor> = {}
  ctx.names.forEach((n, i) => (byName[n] = grads[i]!))
  const checked = flattenChecked(ctx.layout, byName)
  return { value, flat: checked.flat, finite: checked.finite, reached }
}

/**
 * Losses, flat gradients and their finiteness on this thread, from the mini-batch `indices` of
 * each source; for the objectives named in `checkZero`, also which have a gradient that is
 * exactly zero everywhere (and whether their loss reached any parameter).
 */
export const serialGradients = (ctx: RunContext, indices: ReadonlyArray<Int32Array>, checkZero: ReadonlySet<string>): StepGradients =>
  tf.tidy(() => {
    const batches = ctx.sources.map((source, s) => source.batch(indices[s]!))
    const losses: Record<string, Scalar> = {}
    const gradients: Record<string, Tensor1D> = {}
    const finite: Record<string, boolean> = {}
    const zero: Array<ZeroFinding> = []
    ctx.objectives.forEach((o, k) => {
      const source = ctx.sourceOf[k]!
      const result = objectiveGradient(ctx, k, source === -1 ? undefined : batches[source])
      losses[o.name] = result.value
      gradients[o.name] = result.flat
      finite[o.name] = result.finite
      if (checkZero.has(o.name) && (!result.reached || isAllZero(result.flat))) zero.push({ objective: o.name, readsParameters: result.reached })
    })
    return { losses, gradients, finite, zero }
  })

/**
 * The gradients of a data-parallel step: θ to the workers, share 0 of each source's indices
 * here while the workers compute the others, then the size-weighted combination of the shares.
 * Objectives without data are computed here, once.
 */
export const parallelGradients = (
  ctx: RunContext,
  workers: WorkerPool,
  t: number,
  indices: ReadonlyArray<Int32Array>,
  checkZero: ReadonlySet<string>,
): Effect.Effect<StepGradients, GradientWorkerError> =>
  Effect.suspend(() => {
    const { objectives, sourceOf } = ctx
    for (const entry of ctx.layout.entries) workers.theta.set(hostValues(ctx.variables[entry.name]!), entry.offset)
    const replies = workers.request(t, indices)
    const own = tf.tidy(() => {
      const batches = ctx.sources.map((source, s) => source.batch(indices[s]!.subarray(...shareOf(indices[s]!.length, 0, workers.parts))))
      const losses: Record<string, Scalar> = {}
      const gradients: Record<string, Tensor1D> = {}
      const finite: Record<string, boolean> = {}
      const reached: Record<string, boolean> = {}
      objectives.forEach((o, k) => {
        const result = objectiveGradient(ctx, k, sourceOf[k] === -1 ? undefined : batches[sourceOf[k]!])
        losses[o.name] = result.value
        gradients[o.name] = result.flat
        finite[o.name] = result.finite
        reached[o.name] = result.reached
      })
      return { losses, gradients, finite, reached }
    })
    const release = () => tf.dispose([...Object.values(own.losses), ...Object.values(own.gradients)])
    return Effect.tryPromise({ try: () => replies, catch: (e) => e as GradientWorkerError }).pipe(
      Effect.onExit((exit) => (Exit.isSuccess(exit) ? Effect.void : Effect.sync(release))),
      Effect.map((answers) => {
        const combined = tf.tidy((): StepGradients => {
          const losses: Record<string, Scalar> = {}
          const gradients: Record<string, Tensor1D> = {}
          const finite: Record<string, boolean> = {}
          const zero: Array<ZeroFinding> = []
          objectives.forEach((o, k) => {
            if (sourceOf[k] === -1) {
              losses[o.name] = tf.clone(own.losses[o.name]!)
              gradients[o.name] = tf.clone(own.gradients[o.name]!)
              finite[o.name] = own.finite[o.name]!
            } else {
              const count = indices[sourceOf[k]!]!.length
              const weight = (part: number) => {
                const [start, end] = shareOf(count, part, workers.parts)
                return (end - start) / count
              }
              const terms: Array<readonly [number, Tensor1D]> = [[weight(0), own.gradients[o.name]!]]
              let loss = weight(0) * own.losses[o.name]!.dataSync()[0]!
              answers.forEach((answer, w) => {
                terms.push([weight(w + 1), tf.tensor1d(workers.gradient(w + 1, k))])
                loss += weight(w + 1) * answer.losses[k]!
              })
              losses[o.name] = tf.scalar(loss)
              gradients[o.name] = linearCombination(terms)
              finite[o.name] = own.finite[o.name]! && answers.every((a) => a.finite[k]!)
            }
            const reached = own.reached[o.name]!
            if (checkZero.has(o.name) && (!reached || isAllZero(gradients[o.name]!))) zero.push({ objective: o.name, readsParameters: reached })
          })
          return { losses, gradients, finite, zero }
        })
        release()
        return combined
      }),
    )
  })
