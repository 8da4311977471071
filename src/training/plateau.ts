/**
 * Reduce the learning rate when a validation figure stops improving: Keras's
 * `ReduceLROnPlateau` (keras.io/api/callbacks/reduce_lr_on_plateau), as a pure state machine
 * driven by the run's evaluations.
 *
 * At each evaluation with value v (lower is better in mode `min`, higher in `max`):
 * - in cool-down (`cooldownLeft > 0`): the counter goes down by one and `wait` is reset to 0;
 * - v improves on the best by more than `minDelta` (v < best − minDelta): best ← v, wait ← 0;
 * - otherwise, outside cool-down, wait ← wait + 1; when wait reaches `patience` and the learning
 *   rate η·factor is above `minLearningRate`, factor ← max(factor·reduction, minLearningRate/η),
 *   the cool-down starts (`cooldown` evaluations) and wait ← 0.
 *
 * The factor multiplies the optimizer's step Δ, which is the same as multiplying its learning
 * rate for every optimizer whose step is proportional to η (SGD, momentum, Adam); a schedule
 * still applies on top.
 */

/** Settings of {@link plateauUpdate}; every field has Keras's default. */
export interface ReduceOnPlateau {
  /** Multiplier of the learning rate at each reduction (Keras `factor`, default 0.1). */
  readonly factor?: number
  /** Evaluations without improvement before a reduction (default 10). */
  readonly patience?: number
  /** Smallest change that counts as an improvement (default 1e-4). */
  readonly minDelta?: number
  /** Evaluations to wait after a reduction before counting again (default 0). */
  readonly cooldown?: number
  /** The learning rate is never reduced below this (default 0). */
  readonly minLearningRate?: number
}

/** Where the schedule stands. */
export interface PlateauState {
  /** The multiplier of the learning rate now (1 before any reduction). */
  readonly factor: number
  /** Best value so far (undefined before the first evaluation). */
  readonly best: number | undefined
  readonly wait: number
  readonly cooldownLeft: number
}

export const plateauStart: PlateauState = { factor: 1, best: undefined, wait: 0, cooldownLeft: 0 }

/** Refuse settings that cannot work, with the field named; undefined when they are fine. */
export const plateauProblem = (settings: ReduceOnPlateau): string | undefined => {
  const { factor = 0.1, patience = 10, minDelta = 1e-4, cooldown = 0, minLearningRate = 0 } = settings
  if (!(factor > 0 && factor < 1)) return `reduceOnPlateau.factor: expected a number in (0, 1), got ${factor}`
  if (!(Number.isInteger(patience) && patience >= 0)) return `reduceOnPlateau.patience: expected a non-negative integer, got ${patience}`
  if (!(minDelta >= 0)) return `reduceOnPlateau.minDelta: expected a non-negative number, got ${minDelta}`
  if (!(Number.isInteger(cooldown) && cooldown >= 0)) return `reduceOnPlateau.cooldown: expected a non-negative integer, got ${cooldown}`
  if (!(minLearningRate >= 0)) return `reduceOnPlateau.minLearningRate: expected a non-negative number, got ${minLearningRate}`
  return undefined
}

/**
 * The state after an evaluation of `value`, for a base learning rate `learningRate`; `mode`
 * `max` for figures where higher is better (an accuracy).
 */
export const plateauUpdate = (
  settings: ReduceOnPlateau,
  state: PlateauState,
  value: number,
  learningRate: number,
  mode: "min" | "max" = "min",
): PlateauState => {
  const { factor = 0.1, patience = 10, minDelta = 1e-4, cooldown = 0, minLearningRate = 0 } = settings
  let { wait, cooldownLeft, best } = state
  let current = state.factor
  const inCooldown = cooldownLeft > 0
  if (inCooldown) {
    cooldownLeft -= 1
    wait = 0
  }
  if (best === undefined || improves(value, best, minDelta, mode)) {
    best = value
    wait = 0
  } else if (!inCooldown) {
    wait += 1
    if (wait >= patience && learningRate * current > minLearningRate) {
      current = Math.max(current * factor, minLearningRate / learningRate)
      cooldownLeft = cooldown
      wait = 0
    }
  }
  return { factor: current, best, wait, cooldownLeft }
}

/** Whether `value` beats `best` by more than `minDelta`. */
export const improves = (value: number, best: number, minDelta: number, mode: "min" | "max"): boolean =>
  mode === "min" ? value < best - minDelta : value > best + minDelta
