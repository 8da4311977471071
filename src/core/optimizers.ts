/**
 * Optimizers that turn a descent direction d (a flat vector, already combined by an update rule)
 * into a parameter step. Like Optax, an optimizer is a pair of pure functions with explicit state,
 * so the state can be checkpointed and a resumed run continues bit for bit.
 *
 * - SGD:       θ ← θ − η·d
 * - Momentum:  m ← μ·m + d;  θ ← θ − η·m            (heavy ball, as in PyTorch's SGD(momentum=μ))
 * - Adam:      m ← β₁m + (1−β₁)d;  v ← β₂v + (1−β₂)d²;  θ ← θ − η·m̂/(√v̂ + ε),
 *              m̂ = m/(1−β₁ᵗ), v̂ = v/(1−β₂ᵗ)        (Kingma & Ba 2015, Algorithm 1)
 */
import { hostKernel } from "./hostKernels.ts"
import { combine2Finite } from "./hostSweeps.ts"
import type { Layout } from "./paramVector.ts"
import { tf, type Tensor1D, type Variable } from "./tf.ts"

/** The optimizers scalpel ships, with their settings. */
export type OptimizerSettings =
  | { readonly kind: "sgd"; readonly learningRate: number }
  | { readonly kind: "momentum"; readonly learningRate: number; readonly momentum: number }
  | {
      readonly kind: "adam"
      readonly learningRate: number
      readonly beta1: number
      readonly beta2: number
      readonly epsilon: number
    }

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

/** Build the optimizer described by `settings`. */
export const makeOptimizer = (settings: OptimizerSettings): Optimizer => {
  switch (settings.kind) {
    case "sgd":
      return {
        settings,
        init: () => ({ t: 0, slots: {} }),
        update: (d, s) => [tf.mul(d, settings.learningRate), { t: s.t + 1, slots: {} }],
      }
    case "momentum":
      return {
        settings,
        init: (layout) => ({ t: 0, slots: { m: tf.zeros([layout.size]) } }),
        update: (d, s) =>
          tf.tidy(() => {
            const m = tf.add(tf.mul(s.slots.m!, settings.momentum), d) as Tensor1D
            return [tf.mul(m, settings.learningRate) as Tensor1D, { t: s.t + 1, slots: { m } }] as const
          }),
      }
    case "adam":
      return {
        settings,
        init: (layout) => ({ t: 0, slots: { m: tf.zeros([layout.size]), v: tf.zeros([layout.size]) } }),
        update: (d, s) =>
          tf.tidy(() => {
            const { beta1, beta2, epsilon, learningRate } = settings
            const t = s.t + 1
            const m = tf.add(tf.mul(s.slots.m!, beta1), tf.mul(d, 1 - beta1)) as Tensor1D
            const v = tf.add(tf.mul(s.slots.v!, beta2), tf.mul(tf.square(d), 1 - beta2)) as Tensor1D
            const mHat = tf.div(m, 1 - beta1 ** t)
            const vHat = tf.div(v, 1 - beta2 ** t)
            const delta = tf.mul(tf.div(mHat, tf.add(tf.sqrt(vHat), epsilon)), learningRate) as Tensor1D
            return [delta, { t, slots: { m, v } }] as const
          }),
      }
  }
}

/** Release the tensors an optimizer state holds. */
export const disposeOptimizerState = (state: OptimizerState): void => {
  for (const slot of Object.values(state.slots)) slot.dispose()
}

/**
 * θ ← θ − Δ for every variable of the layout (in place on the variables), unless that would make
 * a parameter non-finite: a step large enough to overflow float32 is refused whole, every
 * variable keeping its value, and the name of the first parameter it would have broken is
 * returned (undefined when the step was applied). On the host backends each variable's new values
 * come from one sweep over θ and its stretch of Δ, read where it lies in the flat vector (no slice
 * is copied out), and the same sweep reports whether they are finite.
 */
export const applyStep = (layout: Layout, variables: Readonly<Record<string, Variable>>, delta: Tensor1D): string | undefined => {
  const updates: Array<readonly [Variable, tf.Tensor]> = []
  let broken: string | undefined
  for (const entry of layout.entries) {
    const variable = variables[entry.name]!
    let finite = true
    const updated =
      hostKernel([variable, delta], 1, ([theta, step], [out]) => {
        finite = combine2Finite(out!, 1, theta!, -1, step!.subarray(entry.offset, entry.offset + entry.size))
      })?.[0] ??
      tf.tidy(() => {
        const next = tf.sub(tf.reshape(variable, [entry.size]), tf.slice(delta, entry.offset, entry.size))
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
