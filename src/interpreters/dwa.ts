/**
 * DWA — dynamic weight average (Liu, Johns & Davison, "End-to-End Multi-Task Learning with
 * Attention", CVPR 2019, §3.3, Eq. 7; LibMTL's `DWA`).
 *
 * wᵢ(t) = k·exp(rᵢ/T) / Σⱼ exp(rⱼ/T),  rᵢ = Lᵢ(t−1)/Lᵢ(t−2): a task whose loss fell less gets more
 * weight. The paper averages losses over epochs; a rule sees each step's mini-batch losses, so
 * here t counts steps (the last two steps' losses are kept in the state). The first two steps use
 * wᵢ = 1. d = Σ wᵢgᵢ.
 */
import { Schema } from "effect"
import { guarantees } from "./guarantees.ts"
import { softmax, taskRuleInterpreter } from "./taskRule.ts"

export const DwaOptions = Schema.Struct({
  /** T > 0, the softmax temperature; default 2 (the paper's). */
  temperature: Schema.optionalWith(Schema.Number.pipe(Schema.filter((x) => (Number.isFinite(x) && x > 0) || `expected a positive number, got ${x}`)), { default: () => 2 }),
})
export type DwaOptions = typeof DwaOptions.Type

/** State: the step counter and the losses of the last two steps (most recent last). */
export type DwaState = { readonly t: number; readonly history: ReadonlyArray<ReadonlyArray<number>> }

export const dwa = taskRuleInterpreter({
  name: "dwa",
  description: "DWA: weights k·softmax(r/T) of the tasks' recent loss ratios (Liu, Johns & Davison 2019).",
  options: DwaOptions,
  needsLosses: true,
  needsGram: false,
  guarantees: guarantees({ holds: ["linear-under-scaling", "weighted", "permutation-invariant", "scale-invariant"] }),
  init: (): DwaState => ({ t: 0, history: [] }),
  weights: (input, state: DwaState, options) => {
    const k = input.losses.length
    const [older, newer] = state.history.length === 2 ? state.history : [undefined, undefined]
    const w =
      older === undefined || newer === undefined
        ? new Float64Array(k).fill(1)
        : softmax(newer.map((l, i) => l / older[i]! / options.temperature)).map((x) => k * x)
    return [w, { t: state.t + 1, history: [...state.history, [...input.losses]].slice(-2) }]
  },
})
