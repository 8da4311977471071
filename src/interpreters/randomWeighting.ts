/**
 * Random — random loss weighting, RLW (Lin, Ye, Xu, Shi & Zhang, "Reasonable Effectiveness of
 * Random Weighting: A Litmus Test for Multi-Task Learning", TMLR 2022; TorchJD's `Random`,
 * LibMTL's `RLW`).
 *
 * Each step draws z ~ N(0, I_k) and takes d = Σᵢ softmax(z)ᵢ·gᵢ. The generator is seeded by the
 * spec's seed and kept in the state, so runs are reproducible and resumable.
 */
import { Schema } from "effect"
import { nextFloat, type RandomState, seedState } from "../core/random.ts"
import { guarantees } from "./guarantees.ts"
import { softmax, taskRuleInterpreter } from "./taskRule.ts"

export const RandomWeightingOptions = Schema.Struct({})
export type RandomWeightingOptions = typeof RandomWeightingOptions.Type

/** `count` standard normal numbers (Box–Muller) and the next generator state. */
export const normals = (state: RandomState, count: number): readonly [Float64Array, RandomState] => {
  const out = new Float64Array(count)
  let s = state
  for (let i = 0; i < count; i++) {
    const [u1, s1] = nextFloat(s)
    const [u2, s2] = nextFloat(s1)
    s = s2
    out[i] = Math.sqrt(-2 * Math.log(1 - u1)) * Math.cos(2 * Math.PI * u2)
  }
  return [out, s]
}

export const randomWeighting = taskRuleInterpreter({
  name: "random",
  description: "Random (RLW): weights softmax(z), z ~ N(0, I), drawn anew each step (Lin et al. 2022).",
  options: RandomWeightingOptions,
  needsGram: false,
  guarantees: guarantees({ holds: ["linear-under-scaling", "weighted", "scale-invariant"] }),
  init: (_k, _o, seed) => ({ t: 0, rng: seedState(seed) }),
  weights: (input, state) => {
    const [z, rng] = normals(state.rng, input.gram.size)
    return [softmax(z), { t: state.t + 1, rng }]
  },
})
