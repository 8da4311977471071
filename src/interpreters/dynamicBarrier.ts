/**
 * Dynamic barrier gradient descent (Gong, Liu & Liu, "Automatic and Harmless Regularization with
 * Constrained and Lexicographic Optimization: A Dynamic Barrier Approach", NeurIPS 2021).
 *
 * Two forms, chosen by the declaration:
 *
 * - Priority, `prioritize(main, aux, { lambda })` — the adaptation the Bloop paper uses as a
 *   baseline (Hsieh et al. 2024, §5.1: barrier function dropped, λ added, mini-batch gradients):
 *     d = μ·g_main + λ·g_aux,  μ = max(1 − λ⟨g_main, g_aux⟩/‖g_main‖², 0).
 *   Unclipped, ⟨d, g_main⟩ = ‖g_main‖² exactly (the main loss falls as under plain gradient
 *   descent); clipped (μ = 0), λ⟨g_aux, g_main⟩ > ‖g_main‖² already. So ⟨d, g_main⟩ ≥ ‖g_main‖²
 *   always. g_main = 0 gives d = λ·g_aux.
 * - Constraint, `sum(f, constrain(q, { atMost: ε }))` — the original method (Gong et al.): the
 *   direction is the closest vector to ∇f whose rate of decrease of q reaches a barrier φ,
 *     d = argmin_v ‖v − ∇f‖²  s.t. ⟨v, ∇q⟩ ≥ φ,   i.e.  d = ∇f + ν∇q,  ν = max((φ − ⟨∇f, ∇q⟩)/‖∇q‖², 0),
 *   with the paper's combined barrier φ = min(α·(q(θ) − ε), β·‖∇q‖²). The α-term makes a violated
 *   constraint fall at a rate proportional to the violation; the β-term caps that demand where ∇q
 *   is small (ν ≤ β + max(0, −⟨∇f, ∇q⟩)/‖∇q‖², instead of growing like α(q − ε)/‖∇q‖²), and
 *   inside the feasible set (q < ε) φ < 0 lets f conflict with q a little. At a fixed point on the
 *   boundary, ∇f + ν∇q = 0 with ν ≥ 0: the KKT conditions. Reads q(θ) from `losses`.
 *   The lexicographic case of the paper (minimise f among the minimisers of q) uses the same rule
 *   with q(θ) − ε replaced by q(θ) − q*; the priority form above is it with φ = ‖∇q‖² (β = 1, no
 *   α-term), q = main and f = λ·aux.
 *
 * Deeper hierarchies and several constraints are `Unsupported` (the method is defined for one
 * pair); use `bloop` or `primal-dual` for those.
 */
import { Effect, Schema } from "effect"
import { tf, type Tensor1D } from "../core/tf.ts"
import { projectOrthogonal } from "../core/vector.ts"
import { constrainedFormOf, constrainedObjectives, gradientOf, levelLoss } from "./constraints.ts"
import { type Interpreter, Unsupported, type UpdateRule } from "./interpreter.ts"
import { levelGradient, lowerToLevels, objectiveNames } from "./levels.ts"
import { NonNegative, optionsDecoder } from "./options.ts"

export const DynamicBarrierOptions = Schema.Struct({
  /** α in the constrained form's barrier φ = min(α·(q − ε), β‖∇q‖²); default 1. */
  alpha: Schema.optionalWith(NonNegative, { default: () => 1 }),
  /** β in the constrained form's barrier φ = min(α·(q − ε), β‖∇q‖²); default 1. */
  beta: Schema.optionalWith(NonNegative, { default: () => 1 }),
})
export type DynamicBarrierOptions = typeof DynamicBarrierOptions.Type

export type DynamicBarrierState = { readonly t: number }

/**
 * The priority form: μ·g_main + λ·g_aux with μ = max(1 − λ⟨g_main, g_aux⟩/‖g_main‖², 0).
 * Computed as the two cases it has, without forming μ (which overflows for tiny g_main):
 * unclipped, μ·g_main + λ·g_aux = g_main + λ·π(g_aux, g_main) — no-EMA Bloop, as the Bloop paper
 * notes in §4; clipped (λ⟨g_main, g_aux⟩ ≥ ‖g_main‖², including g_main = 0), λ·g_aux.
 */
export const barrierPriorityDirection = (main: Tensor1D, aux: Tensor1D, lambda: number): Tensor1D =>
  tf.tidy(() => {
    const mMax = tf.max(tf.abs(main))
    const mScale = tf.where(tf.greater(mMax, 0), mMax, tf.onesLike(mMax))
    const mHat = tf.div(main, mScale)
    // λ⟨m, a⟩ ≥ ‖m‖²  ⇔  λ⟨m̂, a⟩ ≥ s·‖m̂‖² (both sides divided by s = ‖m‖∞ > 0).
    const clipped = tf.greaterEqual(tf.mul(tf.sum(tf.mul(mHat, aux)), lambda), tf.mul(tf.sum(tf.square(mHat)), mScale))
    const unclipped = tf.add(main, tf.mul(projectOrthogonal(aux, main), lambda))
    return tf.where(clipped, tf.mul(aux, lambda), unclipped) as Tensor1D
  })

/**
 * The constrained form: ∇f + ν∇q with ν = max((φ − ⟨∇f, ∇q⟩)/‖∇q‖², 0) and the combined barrier
 * φ = min(`valueBarrier`, β‖∇q‖²), where `valueBarrier` = α·(q(θ) − ε). β = ∞ drops the gradient
 * term (φ = α·(q − ε) alone). ∇q = 0 gives ∇f: no multiple of ∇q changes anything.
 */
export const barrierConstraintDirection = (objective: Tensor1D, constraint: Tensor1D, valueBarrier: number, beta: number): Tensor1D =>
  tf.tidy(() => {
    const qMax = tf.max(tf.abs(constraint))
    const qScale = tf.where(tf.greater(qMax, 0), qMax, tf.onesLike(qMax))
    const qHat = tf.div(constraint, qScale)
    const qq = tf.sum(tf.square(qHat))
    // With ∇q = s·q̂: ν∇q = ((φ/s − ⟨∇f, q̂⟩)/‖q̂‖²)₊·q̂, where s cancels; computing ν itself would
    // underflow for huge ∇q (ν ~ 1/‖∇q‖²) and lose the correction entirely. φ/s = min(α(q − ε)/s,
    // β·s·‖q̂‖²); an infinite β means no cap (and must not meet ‖q̂‖² = 0 as ∞·0).
    const valueTerm = tf.div(valueBarrier, qScale)
    const phiOverScale = Number.isFinite(beta) ? tf.minimum(valueTerm, tf.mul(tf.mul(qScale, qq), beta)) : valueTerm
    const numerator = tf.sub(phiOverScale, tf.sum(tf.mul(objective, qHat)))
    const coefficient = tf.relu(tf.div(numerator, tf.where(tf.greater(qq, 0), qq, tf.onesLike(qq))))
    return tf.add(objective, tf.mul(qHat, coefficient)) as Tensor1D
  })

const name = "dynamic-barrier"

const lowerPriority = (structure: Parameters<Interpreter["lower"]>[0]) =>
  Effect.flatMap(lowerToLevels(name, structure), (levels) =>
    levels.length > 2
      ? Effect.fail(new Unsupported({ interpreter: name, construct: `Hierarchy of ${levels.length} levels`, hint: "the dynamic barrier is defined for two; use bloop for deeper hierarchies" }))
      : Effect.succeed<UpdateRule<DynamicBarrierState>>({
          name,
          objectives: objectiveNames(levels),
          init: () => ({ t: 0 }),
          step: (gradients, state) => [
            tf.tidy(() => {
              const main = levelGradient(levels[0]!, gradients)
              return levels.length === 1 ? main : barrierPriorityDirection(main, levelGradient(levels[1]!, gradients), levels[1]!.lambda)
            }),
            { t: state.t + 1 },
          ],
        }),
  )

export const dynamicBarrier: Interpreter<DynamicBarrierOptions> = {
  name,
  description: "Dynamic barrier: keep the main loss falling as under gradient descent (priority), or a constraint falling while violated (Gong, Liu & Liu 2021).",
  decodeOptions: optionsDecoder(name, DynamicBarrierOptions),
  guarantees: { holds: ["weighted", "scale-invariant", "priority"], subject: { form: "hierarchy", maxTasks: 2 } },
  lower: (structure, options) => {
    const hasConstraint = structure._tag === "Constrained" || (structure._tag === "Sum" && structure.terms.some((t) => t._tag === "Constrained"))
    if (!hasConstraint) return lowerPriority(structure)
    return Effect.flatMap(constrainedFormOf(name, structure), (form) =>
      form.constraints.length > 1
        ? Effect.fail(new Unsupported({ interpreter: name, construct: `${form.constraints.length} constraints`, hint: "the dynamic barrier handles one; use primal-dual" }))
        : Effect.succeed<UpdateRule<DynamicBarrierState>>({
            name,
            objectives: constrainedObjectives(form),
            init: () => ({ t: 0 }),
            step: (gradients, state, losses) => {
              const constraint = form.constraints[0]!
              const violation = levelLoss(name, constraint.level, losses) - constraint.atMost
              const direction = tf.tidy(() =>
                barrierConstraintDirection(gradientOf(form.objective, gradients), gradientOf(constraint.level, gradients), options.alpha * violation, options.beta),
              )
              return [direction, { t: state.t + 1 }]
            },
          }),
    )
  },
}
