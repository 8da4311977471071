/**
 * FAMO — fast adaptive multitask optimization (Liu, Liang, Lakshminarayanan & Liu, NeurIPS 2023,
 * arXiv 2306.03792, §3 and Algorithm 1).
 *
 * Logits ξ (in the state) give z = softmax(ξ); the direction is the gradient of Σᵢ zᵢ·log Lᵢ
 * (the chain rule brings 1/Lᵢ), normalised so that the weights sum to 1:
 *   d = Σᵢ wᵢ·gᵢ,   wᵢ = (zᵢ/Lᵢ) / Σⱼ(zⱼ/Lⱼ).
 * After each step, once the next
 * losses L' are known, ξ takes one step of Adam (β = (0.9, 0.999), weight decay γ) on
 * δ = ∇_ξ softmax(ξ)ᵀ·(log L − log L'): logits of tasks whose log-loss fell less grow, so every
 * task's loss falls at a similar rate. As the rule only sees a step's losses when it is stepped,
 * the update of ξ for step t − 1 happens at the start of step t (the authors' code does the same,
 * calling `update` after the next forward pass). `minLoss` is subtracted from every loss.
 */
import { Schema } from "effect"
import { guarantees } from "./guarantees.ts"
import { NonNegative } from "./options.ts"
import { softmax, taskRuleInterpreter } from "./taskRule.ts"

export const FamoOptions = Schema.Struct({
  /** β, Adam's step size for the logits; default 0.025 (the paper's). */
  learningRate: Schema.optionalWith(NonNegative, { default: () => 0.025 }),
  /** γ, the logits' weight decay; default 0.001 (the paper's). */
  weightDecay: Schema.optionalWith(NonNegative, { default: () => 0.001 }),
  /** A lower bound of every loss, subtracted before taking logs; default 0. */
  minLoss: Schema.optionalWith(Schema.Number, { default: () => 0 }),
})
export type FamoOptions = typeof FamoOptions.Type

/** State: step counter, logits ξ, Adam's moments and the previous step's losses. */
export type FamoState = {
  readonly t: number
  readonly logits: ReadonlyArray<number>
  readonly m: ReadonlyArray<number>
  readonly v: ReadonlyArray<number>
  readonly previous: ReadonlyArray<number>
}

const shifted = (losses: ReadonlyArray<number>, minLoss: number) => losses.map((l) => Math.max(l - minLoss, 0) + 1e-8)

export const famo = taskRuleInterpreter({
  name: "famo",
  description: "FAMO: loss-balancing weights from softmax logits adapted so that every task's log-loss falls at a similar rate (Liu et al. 2023).",
  options: FamoOptions,
  needsLosses: true,
  needsGram: false,
  guarantees: guarantees({ holds: ["linear-under-scaling", "weighted", "permutation-invariant", "scale-invariant"] }),
  init: (k): FamoState => ({ t: 0, logits: new Array<number>(k).fill(0), m: new Array<number>(k).fill(0), v: new Array<number>(k).fill(0), previous: [] }),
  weights: (input, state: FamoState, options) => {
    const losses = shifted(input.losses, options.minLoss)
    let { logits, m, v } = state
    if (state.previous.length === losses.length) {
      const delta = state.previous.map((p, i) => Math.log(p) - Math.log(losses[i]!))
      const z = softmax(logits)
      const zDelta = z.reduce((s, zi, i) => s + zi * delta[i]!, 0)
      // ∇_ξ of softmax(ξ)ᵀδ (softmax Jacobian diag(z) − zzᵀ) plus the weight decay.
      const gradient = logits.map((x, i) => z[i]! * (delta[i]! - zDelta) + options.weightDecay * x)
      const t = state.t
      m = m.map((mi, i) => 0.9 * mi + 0.1 * gradient[i]!)
      v = v.map((vi, i) => 0.999 * vi + 0.001 * gradient[i]! ** 2)
      const mHat = m.map((mi) => mi / (1 - 0.9 ** t))
      const vHat = v.map((vi) => vi / (1 - 0.999 ** t))
      logits = logits.map((x, i) => x - (options.learningRate * mHat[i]!) / (Math.sqrt(vHat[i]!) + 1e-8))
    }
    const z = softmax(logits)
    const inverse = losses.map((l, i) => z[i]! / l)
    const c = inverse.reduce((s, x) => s + x, 0)
    return [inverse.map((x) => x / c), { t: state.t + 1, logits, m, v, previous: losses }]
  },
})
