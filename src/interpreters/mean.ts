/**
 * Mean — d = (1/k)·Σᵢ gᵢ, the gradient of the average loss (TorchJD's `Mean`): the baseline every
 * multi-task method is compared with, and what CAGrad (c = 0) and SDMGrad-type rules reduce to.
 */
import { Schema } from "effect"
import { guarantees } from "./guarantees.ts"
import { taskRuleInterpreter } from "./taskRule.ts"

export const MeanOptions = Schema.Struct({})
export type MeanOptions = typeof MeanOptions.Type

export const mean = taskRuleInterpreter({
  name: "mean",
  description: "Mean: the average of the task gradients (gradient of the mean loss).",
  options: MeanOptions,
  needsGram: false,
  guarantees: guarantees({ holds: ["linear-under-scaling", "weighted", "permutation-invariant", "scale-invariant"] }),
  init: () => ({ t: 0 }),
  weights: (input, state) => [new Float64Array(input.gram.size).fill(1 / input.gram.size), { t: state.t + 1 }],
})
