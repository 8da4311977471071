/**
 * Optimizers that turn a descent direction d (a flat vector, already combined by an update rule)
 * into a parameter step. Like Optax, an optimizer is a pair of pure functions with explicit state,
 * so the state can be checkpointed and a resumed run continues bit for bit.
 *
 * - SGD:       θ ← θ − η·d
 * - Momentum:  m ← μ·m + d;  θ ← θ − η·m            (heavy ball, as in PyTorch's SGD(momentum=μ))
 * - Nesterov:  m ← μ·m + d;  θ ← θ − η·(d + μ·m)    (Sutskever et al. 2013, §2.1, in the form
 *              PyTorch's SGD(momentum=μ, nesterov=True) and Optax's sgd(nesterov=True) implement)
 * - Adam:      m ← β₁m + (1−β₁)d;  v ← β₂v + (1−β₂)d²;  θ ← θ − η·m̂/(√v̂ + ε),
 *              m̂ = m/(1−β₁ᵗ), v̂ = v/(1−β₂ᵗ)        (Kingma & Ba 2015, Algorithm 1)
 * - AdamW:     Adam's step plus decoupled weight decay, θ ← (1 − η·λ)·θ − η·m̂/(√v̂ + ε)
 *              (Loshchilov & Hutter 2019, Algorithm 2, with the schedule multiplier η_t folded into
 *              η as PyTorch's AdamW and Optax's adamw do: the decay is scaled by the learning rate)
 * - RMSprop:   v ← ρ·v + (1−ρ)d²;  θ ← θ − η·d/√(v + ε)   (Hinton, Neural Networks for Machine
 *              Learning, lecture 6e, 2012; ε inside the root as tf.train.rmsprop and Optax's
 *              rmsprop with its default eps_in_sqrt; no momentum, not centered)
 *
 * The decoupled decay is not part of Δ (it needs θ, which `update` does not see): an optimizer
 * with decay says how much, {@link decoupledDecayAt}, and {@link applyStep} applies
 * θ ← (1 − c)·θ − Δ in the same sweep as the step.
 *
 * Every optimizer takes an optional learning-rate schedule (as Optax's `schedule` argument):
 * the step t (t = 1 for the first update) uses η_t = η·s(t), see {@link scheduleFactor}. s is a
 * pure function of the optimizer's step counter, which checkpoints already hold, so a resumed run
 * continues the schedule exactly.
 */
import { hostKernel } from "./hostKernels.ts"
import { combine2Finite } from "./hostSweeps.ts"
import type { Layout } from "./paramVector.ts"
import { tf, type Tensor1D, type Variable } from "./tf.ts"

/**
 * A learning-rate schedule, the multiplier s(t) of the base learning rate at update t = 1, 2, …:
 * - `constant`: s = 1.
 * - `warmup`: linear warm-up, s = min(1, t/warmupSteps), then constant.
 * - `cosine`: linear warm-up over `warmupSteps` (0: none), then cosine decay from 1 to `alpha` at
 *   update `decaySteps`, s = α + (1 − α)·½(1 + cos(π·(t − w)/(decaySteps − w))), and α afterwards
 *   (Loshchilov & Hutter 2017; Optax's `warmup_cosine_decay_schedule` with init 0, peak η, end αη,
 *   counted from t = 1 so that the first update is not a zero step).
 * - `step`: step decay, s = γ^⌊(t − 1)/stepSize⌋: the rate is multiplied by γ after every
 *   `stepSize` updates (PyTorch's `StepLR`, counted in updates; Optax's `exponential_decay` with
 *   `staircase=True`, whose count starts at 0 where t starts at 1).
 */
export type LearningRateSchedule =
  | { readonly kind: "constant" }
  | { readonly kind: "step"; readonly stepSize: number; readonly gamma: number }
  | { readonly kind: "warmup"; readonly warmupSteps: number }
  | { readonly kind: "cosine"; readonly decaySteps: number; readonly warmupSteps: number; readonly alpha: number }

/** s(t) of {@link LearningRateSchedule} at update t ≥ 1 (1 when there is no schedule). */
export const scheduleFactor = (schedule: LearningRateSchedule | undefined, t: number): number => {
  if (schedule === undefined) return 1
  switch (schedule.kind) {
    case "constant":
      return 1
    case "warmup":
      return Math.min(1, t / schedule.warmupSteps)
    case "step":
      return schedule.gamma ** Math.floor((t - 1) / schedule.stepSize)
    case "cosine": {
      const { warmupSteps: w, decaySteps, alpha } = schedule
      if (w > 0 && t <= w) return t / w
      const progress = Math.min(1, (t - w) / (decaySteps - w))
      return alpha + (1 - alpha) * 0.5 * (1 + Math.cos(Math.PI * progress))
    }
  }
}

/** The optimizers scalpel ships, with their settings. */
export type OptimizerSettings = (
  | { readonly kind: "sgd"; readonly learningRate: number }
  | { readonly kind: "momentum"; readonly learningRate: number; readonly momentum: number }
  | { readonly kind: "nesterov"; readonly learningRate: number; readonly momentum: number }
  | {
      readonly kind: "adam"
      readonly learningRate: number
      readonly beta1: number
      readonly beta2: number
      readonly epsilon: number
    }
  | {
      readonly kind: "adamw"
      readonly learningRate: number
      readonly beta1: number
      readonly beta2: number
      readonly epsilon: number
      /** λ, the decoupled weight decay: each update shrinks θ by the factor 1 − η_t·λ. */
      readonly weightDecay: number
    }
  | { readonly kind: "rmsprop"; readonly learningRate: number; readonly decay: number; readonly epsilon: number }
) & {
  /** Learning-rate schedule; none means constant. */
  readonly schedule?: LearningRateSchedule | undefined
}

/** The learning rate of update t (t ≥ 1): the base rate times the schedule's factor. */
export const learningRateAt = (settings: OptimizerSettings, t: number): number =>
  settings.learningRate * scheduleFactor(settings.schedule, t)

/** Explicit optimizer state: a step counter and named flat slots (momentum, moments). */
export interface OptimizerState {
  readonly t: number
  readonly slots: Readonly<Record<string, Tensor1D>>
}

/** init and update as pure functions; `update` returns the step Δ to subtract from θ. */
export interface Optimizer {
  readonly settings: OptimizerSettings
  readonly init: (layout: Layout) => OptimizerState
  readonly update: (direction: Tensor1D, state: OptimizerState) => readonly [Tensor1D, OptimizerState]
}

/**
 * c_t, the decoupled weight decay of the update that led to `state` (t = state.t): θ ← (1 − c)·θ − Δ.
 * η_t·λ for AdamW, 0 for the others.
 */
export const decoupledDecayAt = (optimizer: Optimizer, state: OptimizerState): number =>
  optimizer.settings.kind === "adamw" ? learningRateAt(optimizer.settings, state.t) * optimizer.settings.weightDecay : 0

/** Adam's moments and step (Kingma & Ba 2015, Algorithm 1), shared by Adam and AdamW. */
const adamUpdate =
  (settings: { readonly beta1: number; readonly beta2: number; readonly epsilon: number }, rate: (t: number) => number) =>
  (d: Tensor1D, s: OptimizerState): readonly [Tensor1D, OptimizerState] =>
    tf.tidy(() => {
      const { beta1, beta2, epsilon } = settings
      const t = s.t + 1
      const m = tf.add(tf.mul(s.slots.m!, beta1), tf.mul(d, 1 - beta1)) as Tensor1D
      const v = tf.add(tf.mul(s.slots.v!, beta2), tf.mul(tf.square(d), 1 - beta2)) as Tensor1D
      const mHat = tf.div(m, 1 - beta1 ** t)
      const vHat = tf.div(v, 1 - beta2 ** t)
      const delta = tf.mul(tf.div(mHat, tf.add(tf.sqrt(vHat), epsilon)), rate(t)) as Tensor1D
      return [delta, { t, slots: { m, v } }] as const
    })

/** Build the optimizer described by `settings`. */
export const makeOptimizer = (settings: OptimizerSettings): Optimizer => {
  switch (settings.kind) {
    case "sgd":
      return {
        settings,
        init: () => ({ t: 0, slots: {} }),
        update: (d, s) => [tf.mul(d, learningRateAt(settings, s.t + 1)), { t: s.t + 1, slots: {} }],
      }
    case "momentum":
      return {
        settings,
        init: (layout) => ({ t: 0, slots: { m: tf.zeros([layout.size]) } }),
        update: (d, s) =>
          tf.tidy(() => {
            const m = tf.add(tf.mul(s.slots.m!, settings.momentum), d) as Tensor1D
            return [tf.mul(m, learningRateAt(settings, s.t + 1)) as Tensor1D, { t: s.t + 1, slots: { m } }] as const
          }),
      }
    case "nesterov":
      return {
        settings,
        init: (layout) => ({ t: 0, slots: { m: tf.zeros([layout.size]) } }),
        update: (d, s) =>
          tf.tidy(() => {
            const m = tf.add(tf.mul(s.slots.m!, settings.momentum), d) as Tensor1D
            const lookAhead = tf.add(d, tf.mul(m, settings.momentum))
            return [tf.mul(lookAhead, learningRateAt(settings, s.t + 1)) as Tensor1D, { t: s.t + 1, slots: { m } }] as const
          }),
      }
    case "adam":
    case "adamw":
      return {
        settings,
        init: (layout) => ({ t: 0, slots: { m: tf.zeros([layout.size]), v: tf.zeros([layout.size]) } }),
        update: adamUpdate(settings, (t) => learningRateAt(settings, t)),
      }
    case "rmsprop":
      return {
        settings,
        init: (layout) => ({ t: 0, slots: { v: tf.zeros([layout.size]) } }),
        update: (d, s) =>
          tf.tidy(() => {
            const t = s.t + 1
            const v = tf.add(tf.mul(s.slots.v!, settings.decay), tf.mul(tf.square(d), 1 - settings.decay)) as Tensor1D
            const delta = tf.mul(tf.div(d, tf.sqrt(tf.add(v, settings.epsilon))), learningRateAt(settings, t)) as Tensor1D
            return [delta, { t, slots: { v } }] as const
          }),
      }
  }
}

/** Release the tensors an optimizer state holds. */
export const disposeOptimizerState = (state: OptimizerState): void => {
  for (const slot of Object.values(state.slots)) slot.dispose()
}

/**
 * θ ← (1 − decay)·θ − Δ for every variable of the layout (in place on the variables; `decay` is
 * {@link decoupledDecayAt}, 0 for all but AdamW), unless that would make
 * a parameter non-finite: a step large enough to overflow float32 is refused whole, every
 * variable keeping its value, and the name of the first parameter it would have broken is
 * returned (undefined when the step was applied). On the host backends each variable's new values
 * come from one sweep over θ and its stretch of Δ, read where it lies in the flat vector (no slice
 * is copied out), and the same sweep reports whether they are finite.
 */
export const applyStep = (layout: Layout, variables: Readonly<Record<string, Variable>>, delta: Tensor1D, decay = 0): string | undefined => {
  const updates: Array<readonly [Variable, tf.Tensor]> = []
  let broken: string | undefined
  for (const entry of layout.entries) {
    const variable = variables[entry.name]!
    let finite = true
    const updated =
      hostKernel([variable, delta], 1, ([theta, step], [out]) => {
        finite = combine2Finite(out!, 1 - decay, theta!, -1, step!.subarray(entry.offset, entry.offset + entry.size))
      })?.[0] ??
      tf.tidy(() => {
        const kept = decay === 0 ? tf.reshape(variable, [entry.size]) : tf.mul(tf.reshape(variable, [entry.size]), 1 - decay)
        const next = tf.sub(kept, tf.slice(delta, entry.offset, entry.size))
        finite = tf.all(tf.isFinite(next)).dataSync()[0] === 1
        return next
      })
    updates.push([variable, updated])
    if (!finite) {
      broken = entry.name
      break
    }
  }
  if (broken === undefined) for (const [variable, updated] of updates) tf.tidy(() => variable.assign(tf.reshape(updated, variable.shape)))
  tf.dispose(updates.map(([, updated]) => updated))
  return broken
}
