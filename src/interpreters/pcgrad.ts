/**
 * PCGrad (Yu et al., "Gradient Surgery for Multi-Task Learning", NeurIPS 2020, Algorithm 1).
 *
 * Tasks are the weighted terms of every level (for `prioritize(main, aux, { lambda })`: ∇main and
 * λ·∇aux, as the Bloop paper uses it as a baseline). For each task gradient gᵢ, for each other task
 * j in a random order: if ⟨gᵢ', gⱼ⟩ < 0 then gᵢ' ← gᵢ' − (⟨gᵢ', gⱼ⟩/‖gⱼ‖²)·gⱼ. Then d = Σ gᵢ'.
 * The random order comes from a generator seeded by the spec's seed and kept in the rule's state,
 * so runs are reproducible and resumable.
 *
 * `perBlock: true` does the surgery on each variable's block separately (see `blocks.ts`): the
 * conflict test and the projection then use the block's inner product.
 */
import { Effect, Schema } from "effect"
import { hostKernel } from "../core/hostKernels.ts"
import { combineMany, gramMatrix64 } from "../core/hostSweeps.ts"
import { permutation, seedState } from "../core/random.ts"
import type { Tensor1D } from "../core/tf.ts"
import { tf } from "../core/tf.ts"
import { linearCombination, projectIfConflicting } from "../core/vector.ts"
import { blockSizes, blockwise } from "./blocks.ts"
import type { Interpreter, UpdateRule } from "./interpreter.ts"
import { lowerToLevels, objectiveNames } from "./levels.ts"
import { optionsDecoder } from "./options.ts"

export const PCGradOptions = Schema.Struct({
  /** Project each variable's block separately (true) or the whole vector (false, default). */
  perBlock: Schema.optionalWith(Schema.Boolean, { default: () => false }),
})
export type PCGradOptions = typeof PCGradOptions.Type

/** State: the step counter, the random generator's state and the layout's block sizes. */
export type PCGradState = { readonly t: number; readonly rng: number; readonly blocks: ReadonlyArray<number> }

/**
 * The surgered task gradients gᵢ' (before summing), with `orders[i]` the order in which task i
 * meets the others. Exposed so that tests can state PCGrad's guarantee on them directly.
 */
export const pcgradSurgery = (tasks: ReadonlyArray<Tensor1D>, orders: ReadonlyArray<ReadonlyArray<number>>): ReadonlyArray<Tensor1D> =>
  tasks.map((gi, i) =>
    tf.tidy(() => orders[i]!.reduce<Tensor1D>((acc, j) => (j === i ? acc : projectIfConflicting(acc, tasks[j]!)), tf.clone(gi))),
  )

/** PCGrad's surgery on task gradients, with `orders[i]` the order in which task i meets the others. */
export const pcgradDirection = (tasks: ReadonlyArray<Tensor1D>, orders: ReadonlyArray<ReadonlyArray<number>>): Tensor1D =>
  tf.tidy(() => linearCombination(pcgradSurgery(tasks, orders).map((g) => [1, g] as const)))

/**
 * The same direction computed on the host in coefficient space: every gᵢ' stays a combination
 * Σ_m α_m·w_m·h_m of the raw gradients h_m (task weights w), so the conflict tests and projections
 * only need the Gram matrix H_ab = ⟨h_a, h_b⟩, accumulated in float64 in ⌈k/2⌉·k sweeps; then one
 * sweep writes d. `undefined` on backends without host access.
 */
const pcgradDirectionOnHost = (
  raw: ReadonlyArray<Tensor1D>,
  weights: ReadonlyArray<number>,
  orders: ReadonlyArray<ReadonlyArray<number>>,
): Tensor1D | undefined => {
  const k = raw.length
  return hostKernel(raw, 1, (h, [out]) => {
    const H = gramMatrix64(h)
    const total = new Float64Array(k) // d = Σ_m total_m·h_m
    for (let i = 0; i < k; i++) {
      const alpha = new Float64Array(k) // gᵢ' = Σ_m alpha_m·h_m
      alpha[i] = weights[i]!
      for (const j of orders[i]!) {
        if (j === i) continue
        const wj = weights[j]!
        let inner = 0 // ⟨gᵢ', g_j⟩
        for (let m = 0; m < k; m++) inner += alpha[m]! * H[m * k + j]!
        inner *= wj
        const norm = wj * wj * H[j * k + j]!
        if (inner < 0 && norm > 0) alpha[j] = alpha[j]! - (inner / norm) * wj
      }
      for (let m = 0; m < k; m++) total[m] = total[m]! + alpha[m]!
    }
    combineMany(out!, total, h)
  })?.[0]
}

export const pcgrad: Interpreter<PCGradOptions> = {
  name: "pcgrad",
  description: "PCGrad: project each task gradient off the others it conflicts with, in random order (Yu et al. 2020).",
  decodeOptions: optionsDecoder("pcgrad", PCGradOptions),
  guarantees: { holds: ["linear-under-scaling", "weighted", "scale-invariant"] },
  lower: (structure, options, context) =>
    Effect.map(lowerToLevels("pcgrad", structure), (levels): UpdateRule<PCGradState> => {
      const tasks = levels.flatMap((level) => level.terms.map((t) => ({ name: t.objective.name, weight: t.weight * level.lambda })))
      return {
        name: "pcgrad",
        objectives: objectiveNames(levels),
        init: (layout) => ({ t: 0, rng: seedState(context.seed), blocks: blockSizes(layout) }),
        step: (gradients, state) => {
          let rng = state.rng
          const orders = tasks.map(() => {
            const [order, next] = permutation(rng, tasks.length)
            rng = next
            return order
          })
          const raw = tasks.map((t) => gradients[t.name]!)
          const weights = tasks.map((t) => t.weight)
          const directionOf = (parts: ReadonlyArray<Tensor1D>): Tensor1D =>
            pcgradDirectionOnHost(parts, weights, orders) ??
            tf.tidy(() => pcgradDirection(parts.map((h, i) => tf.mul(h, weights[i]!) as Tensor1D), orders))
          const direction = options.perBlock ? tf.tidy(() => blockwise(state.blocks, raw, directionOf)) : directionOf(raw)
          return [direction, { t: state.t + 1, rng, blocks: state.blocks }]
        },
      }
    }),
}
