/**
 * GradVac — gradient vaccine (Wang, Tsvetkov, Firat & Cao, "Gradient Vaccine: Investigating and
 * Improving Multi-Task Optimization in Massively Multilingual Models", ICLR 2021, §3.2, Eq. 2–3
 * and Algorithm 1).
 *
 * PCGrad with a target: each task gradient gᵢ' meets the others in a random order; with
 * φ = cos(gᵢ', gⱼ) and φ̂ᵢⱼ the target similarity of the pair, if φ < φ̂ᵢⱼ then
 *   gᵢ' ← gᵢ' + ‖gᵢ'‖·(φ̂ᵢⱼ√(1 − φ²) − φ√(1 − φ̂ᵢⱼ²)) / (‖gⱼ‖√(1 − φ̂ᵢⱼ²)) · gⱼ,
 * which sets cos(gᵢ', gⱼ) to φ̂ᵢⱼ; then φ̂ᵢⱼ ← (1 − β)φ̂ᵢⱼ + β·φ (Eq. 3). d = Σ gᵢ'. The targets start
 * at 0, so with β = 0 GradVac is PCGrad (same seeded task orders); they live in the state.
 * Computed in coefficient space on the Gram matrix (every gᵢ' is a combination of the gradients),
 * as PCGrad's host path.
 */
import { Schema } from "effect"
import { permutation, seedState } from "../core/random.ts"
import { guarantees } from "./guarantees.ts"
import { taskRuleInterpreter } from "./taskRule.ts"

export const GradVacOptions = Schema.Struct({
  /** β ∈ [0, 1], the EMA rate of the target similarities; default 0.01 (TorchJD's default). */
  beta: Schema.optionalWith(Schema.Number.pipe(Schema.filter((x) => (x >= 0 && x <= 1) || `expected a number in [0, 1], got ${x}`)), { default: () => 0.01 }),
})
export type GradVacOptions = typeof GradVacOptions.Type

/** State: step counter, the random generator, and the k×k target similarities (row-major). */
export type GradVacState = { readonly t: number; readonly rng: number; readonly targets: ReadonlyArray<number> }

export const gradVac = taskRuleInterpreter({
  name: "gradvac",
  description: "GradVac: move each task gradient towards a target cosine (an EMA) with the others, in random order (Wang et al. 2021).",
  options: GradVacOptions,
  guarantees: guarantees({ holds: ["linear-under-scaling", "weighted", "scale-invariant"], reductions: [{ options: { beta: 0 }, to: "pcgrad" }] }),
  init: (k, _o, seed): GradVacState => ({ t: 0, rng: seedState(seed), targets: new Array<number>(k * k).fill(0) }),
  weights: (input, state: GradVacState, options) => {
    const k = input.gram.size
    const G = input.gram.values
    const targets = [...state.targets]
    let rng = state.rng
    const total = new Float64Array(k)
    for (let i = 0; i < k; i++) {
      const [order, next] = permutation(rng, k)
      rng = next
      const alpha = new Float64Array(k) // gᵢ' = Σ_m alpha_m·g_m
      alpha[i] = 1
      for (const j of order) {
        if (j === i) continue
        let inner = 0
        let normSq = 0
        for (let m = 0; m < k; m++) {
          inner += alpha[m]! * G[m * k + j]!
          for (let p = 0; p < k; p++) normSq += alpha[m]! * alpha[p]! * G[m * k + p]!
        }
        const gjNorm = Math.sqrt(Math.max(G[j * k + j]!, 0))
        const giNorm = Math.sqrt(Math.max(normSq, 0))
        if (!(gjNorm > 0 && giNorm > 0)) continue
        const phi = Math.max(-1, Math.min(1, inner / (giNorm * gjNorm)))
        const target = targets[i * k + j]!
        if (phi < target) {
          const factor = (giNorm * (target * Math.sqrt(1 - phi * phi) - phi * Math.sqrt(1 - target * target))) / (gjNorm * Math.sqrt(1 - target * target))
          if (Number.isFinite(factor)) alpha[j] = alpha[j]! + factor
        }
        targets[i * k + j] = (1 - options.beta) * target + options.beta * phi
      }
      for (let m = 0; m < k; m++) total[m] = total[m]! + alpha[m]!
    }
    return [total, { t: state.t + 1, rng, targets }]
  },
})
