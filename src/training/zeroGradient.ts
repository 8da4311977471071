/**
 * The zero-gradient check: an objective whose gradient is exactly zero for every parameter at the
 * start of a run trains nothing (usually a loss that reads no declared parameter). Checked at step
 * 1 for every objective and at step 2 for the suspects of step 1 (see {@link ZeroGradient}).
 */
import { Data } from "effect"

/**
 * An objective's gradient was exactly zero for every parameter at the start of the run and the
 * run's `zeroGradient` policy is `fail`. `readsParameters` is false when the loss did not read any
 * declared parameter at all (the usual cause: a loss that calls a model whose weights were not
 * declared as parameters); that is known at step 1. A loss that reads the parameters is reported
 * when its gradient is zero at steps 1 *and* 2 (or at step 1 of a one-step run): a loss that
 * merely starts at a stationary point (a weight penalty at zero weights) leaves it after one step
 * of the others.
 */
export class ZeroGradient extends Data.TaggedError("ZeroGradient")<{
  readonly objective: string
  readonly step: number
  readonly readsParameters: boolean
}> {
  override get message(): string {
    return zeroGradientMessage(this.objective, this.step, this.readsParameters)
  }
}

export const zeroGradientMessage = (objective: string, step: number, readsParameters: boolean): string =>
  readsParameters
    ? `the gradient of objective '${objective}' is exactly zero for every parameter at ${step === 1 ? "step 1" : "steps 1 and 2"}, ` +
      "so training does not move it. Does the loss read the declared parameters? " +
      "(Or does the run start at a stationary point of this loss that nothing else moves it from?)"
    : `objective '${objective}' does not read any declared parameter: its gradient is zero for every parameter at step ${step}, ` +
      "so it trains nothing. Does the loss read the declared parameters? " +
      "(A loss that calls a tf.LayersModel must declare the model's weights: parameters: fromModel(model).)"

/** What to do when an objective's gradient is exactly zero at the start (see {@link ZeroGradient}): log a warning (default), fail, or nothing. */
export type ZeroGradientPolicy = "warn" | "fail" | "ignore"


/** An objective found with an all-zero gradient, and whether its loss reached any parameter. */
export type ZeroFinding = {
  readonly objective: string
  readonly readsParameters: boolean
}

/** The objectives whose gradient step `t` must check for being all zero. */
export const zeroChecksAt = (
  policy: ZeroGradientPolicy,
  t: number,
  objectives: ReadonlyArray<string>,
  suspects: ReadonlySet<string>,
): ReadonlySet<string> => (policy === "ignore" ? new Set() : t === 1 ? new Set(objectives) : t === 2 ? suspects : new Set())

/**
 * What step `t` (of a run of `steps`) reports from its findings, and the suspects it leaves for
 * step 2. At step 1 of a longer run, a loss that reads the parameters is only a suspect: it may
 * merely start at a stationary point.
 */
export const judgeZeroGradients = (
  t: number,
  steps: number,
  found: ReadonlyArray<ZeroFinding>,
  suspects: ReadonlySet<string>,
): { readonly report: ReadonlyArray<ZeroFinding>; readonly suspects: ReadonlySet<string> } =>
  t === 1 && steps > 1
    ? { report: found.filter((z) => !z.readsParameters), suspects: new Set(found.filter((z) => z.readsParameters).map((z) => z.objective)) }
    : { report: found, suspects }
