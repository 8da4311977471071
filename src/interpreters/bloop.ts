/**
 * Bloop (Hsieh et al., "Careful with that Scalpel: Improving Gradient Surgery with an EMA",
 * ICML 2024, arXiv 2402.02998), generalised to n priority levels.
 *
 * Two levels (Eq. 5 of the paper): d = g_main + λ·π(g_aux, ĝ_main), where π(v, u) removes from v
 * its component along u and ĝ_main is an exponential moving average of main-loss gradients,
 * updated *after* the direction is formed (Algorithm 1): ĝ ← (1 − ρ)·ĝ + ρ·g_main, ρ = 0.01 by
 * default (the paper's value "in all experiments unless stated otherwise"). The paper does not say
 * how ĝ starts; scalpel starts it at the first main gradient (the default of the authors' code),
 * so the first step projects on the first batch's gradient and no step projects on a zero vector.
 *
 * Two options measure the two places where the paper and the authors' code differ
 * (docs/experiments.md, "EMA ablation"):
 * - `emaOrder: "before"` updates ĝ with the current g_main *before* projecting (the authors' code),
 *   so the step projects on (1 − ρ)·ĝ + ρ·g_main; `"after"` (default) is Algorithm 1.
 * - `emaInit: "zeros"` starts ĝ at 0 instead of the first main gradient. With `"after"` the first
 *   step then projects on nothing (π(v; 0) = v: a zero reference is dropped) and ĝ grows as
 *   (1 − (1 − ρ)ᵗ)·(average); no bias correction is applied, as in the authors' code.
 * - `emaInit: "parameters"` starts ĝ at a copy of the initial parameters θ₀ (every level's EMA):
 *   what the authors' smooth-MNIST script does, passing the parameters to `init_bloop(init="grad")`,
 *   whose "grad" copies what it is given. ĝ then holds (1 − ρ)ᵗ·θ₀ besides the average of the
 *   gradients (ρ = 0.01: 9.5% of θ₀ after 234 steps, 0.3% after 585). Needs the rule's `start`
 *   (the training loop passes it; without it `init` throws `MissingStart`).
 * Both only change how ĝ evolves: the state (step counter and EMAs) has the same shape either way,
 * so checkpoints and resumption work unchanged.
 *
 * n levels: level k's gradient is projected onto the orthogonal complement of the span of the
 * EMAs of levels 0..k−1 (Gram–Schmidt), then scaled by λ_k:
 *   d = G₀ + Σ_{k≥1} λ_k · π_{span(ĝ₀..ĝ_{k−1})}(G_k).
 * So no lower level adds anything along the (averaged) directions of the levels above it. A
 * reference is kept whenever its residual is resolved by the float64 inner products and exceeds
 * `spanTolerance` (τ) times its norm — the paper's §2.3 exactly, with no fixed cut-off
 * (`core/projectedCombination.ts`).
 *
 * `ema: false` is the paper's no-EMA variant (§2.2, "d_simple"): project on the current
 * mini-batch gradients instead of their averages.
 *
 * `perBlock: true` applies the projections to each variable's block separately (see `blocks.ts`):
 * level k's block is then orthogonal to the higher levels' EMAs restricted to that block.
 */
import { Effect, Schema } from "effect"
import type { Tensor1D } from "../core/tf.ts"
import { tf } from "../core/tf.ts"
import { defaultSpanTolerance, projectedCombination } from "../core/projectedCombination.ts"
import { emaUpdate } from "../core/vector.ts"
import { blockSizes, blockwise } from "./blocks.ts"
import { type Interpreter, MissingStart, type UpdateRule } from "./interpreter.ts"
import { levelGradient, lowerToLevels, objectiveNames } from "./levels.ts"
import { optionsDecoder, UnitRate } from "./options.ts"

/** Bloop's options. */
export const BloopOptions = Schema.Struct({
  /** Use the EMA of higher-level gradients (true, default) or the current batch's (false). */
  ema: Schema.optionalWith(Schema.Boolean, { default: () => true }),
  /** ρ, the weight of the new gradient in the EMA (paper's notation); default 0.01. */
  rho: Schema.optionalWith(UnitRate, { default: () => 0.01 }),
  /** Project each variable's block separately (true) or the whole vector (false, default). */
  perBlock: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  /** Update ĝ after forming the direction ("after", default: the paper's Algorithm 1) or before ("before": the authors' code). */
  emaOrder: Schema.optionalWith(Schema.Literal("after", "before"), { default: () => "after" as const }),
  /** Start ĝ at the first main gradient ("first", default), at zero ("zeros") or at the initial parameters ("parameters", the authors' smooth-MNIST script). */
  emaInit: Schema.optionalWith(Schema.Literal("first", "zeros", "parameters"), { default: () => "first" as const }),
  /**
   * τ, n-level Gram–Schmidt's relative tolerance: a higher level's reference whose part outside the
   * span of the levels above it is at most τ·‖reference‖ adds no direction (default 4·2⁻²⁴, four
   * float32 roundings of the reference; see `core/projectedCombination.ts`), under every `emaOrder`,
   * `emaInit` and `perBlock`. τ < 1 never drops the first reference (its residual is itself), so
   * two levels only skip a zero reference; τ = 1 drops every reference (no projection).
   */
  spanTolerance: Schema.optional(UnitRate),
})
export type BloopOptions = typeof BloopOptions.Type

/**
 * State: the step counter, one EMA per level that has lower levels below it, and the layout's
 * block sizes (used when `perBlock`).
 */
export type BloopState = { readonly t: number; readonly emas: ReadonlyArray<Tensor1D>; readonly blocks: ReadonlyArray<number> }

/**
 * Bloop's direction from level gradients g (highest priority first), the references to project
 * against (EMAs or the gradients themselves, one per level but the last) and the λs:
 * d = g₀ + Σ_{k≥1} λ_k·π_{span(r₀..r_{k−1})}(g_k).
 */
export const bloopDirection = (
  g: ReadonlyArray<Tensor1D>,
  references: ReadonlyArray<Tensor1D>,
  lambdas: ReadonlyArray<number>,
  spanTolerance: number = defaultSpanTolerance,
): Tensor1D => projectedCombination(g, references, lambdas, undefined, spanTolerance)[0]

const lowerBloop = (name: string, fixed: Partial<BloopOptions>): Interpreter<BloopOptions> => ({
  name,
  description:
    fixed.ema === false
      ? "Bloop without EMA: project lower levels on the current mini-batch gradients of higher levels."
      : "Bloop: project lower levels orthogonally to EMAs of higher-level gradients (Hsieh et al. 2024).",
  decodeOptions: (raw) => Effect.map(optionsDecoder(name, BloopOptions)(raw), (o) => ({ ...o, ...fixed })),
  // With the EMA, a step projects on the averaged higher-level gradients, not on the current ones:
  // d leaves the span of the current gradients and ⟨d, g₀⟩ = ‖g₀‖² holds only on average.
  guarantees:
    fixed.ema === false
      ? { holds: ["linear-under-scaling", "weighted", "scale-invariant", "priority"] }
      : { holds: ["linear-under-scaling", "scale-invariant"] },
  lower: (structure, options) =>
    Effect.map(lowerToLevels(name, structure), (levels): UpdateRule<BloopState> => {
      const decay = 1 - options.rho
      const spanTolerance = options.spanTolerance ?? defaultSpanTolerance
      const averaged = levels.length - 1 // the lowest level's average is never used
      return {
        name,
        objectives: objectiveNames(levels),
        init: (layout, start) => {
          if (options.emaInit !== "parameters") {
            return { t: 0, emas: Array.from({ length: averaged }, () => tf.zeros([layout.size]) as Tensor1D), blocks: blockSizes(layout) }
          }
          if (start === undefined) throw new MissingStart({ rule: name, option: 'emaInit: "parameters"' })
          // A fresh copy per EMA: the state owns each of its tensors.
          return { t: 0, emas: Array.from({ length: averaged }, () => start.parameters()), blocks: blockSizes(layout) }
        },
        step: (gradients, state) => {
          const g = levels.map((level) => levelGradient(level, gradients))
          const lambdas = levels.map((l) => l.lambda)
          // ĝ starts at the first main gradient ("first"), or at what `init` put there ("zeros", "parameters").
          const seeded = state.t === 0 && options.emaInit === "first"
          const nextEmas = (): ReadonlyArray<Tensor1D> =>
            g.slice(0, averaged).map((gk, k) => (seeded ? gk : emaUpdate(state.emas[k]!, gk, decay)))
          if (options.emaOrder === "before") {
            // The authors' code: ĝ ← (1 − ρ)ĝ + ρ·g_main first, then project on the new ĝ.
            const emas = nextEmas()
            const references = options.ema ? emas : g.slice(0, averaged)
            const direction = options.perBlock
              ? blockwise(state.blocks, [...g, ...references], (parts) => bloopDirection(parts.slice(0, g.length), parts.slice(g.length), lambdas, spanTolerance))
              : bloopDirection(g, references, lambdas, spanTolerance)
            return [direction, { t: state.t + 1, emas, blocks: state.blocks }]
          }
          const references = options.ema && !seeded ? state.emas : g.slice(0, averaged)
          if (options.perBlock) {
            const direction = blockwise(state.blocks, [...g, ...references], (parts) =>
              bloopDirection(parts.slice(0, g.length), parts.slice(g.length), lambdas, spanTolerance),
            )
            return [direction, { t: state.t + 1, emas: nextEmas(), blocks: state.blocks }]
          }
          // One fused pass for the projections, the sum and the EMA updates (see projectedCombination.ts).
          const [direction, updated] = projectedCombination(g, references, lambdas, seeded ? undefined : { emas: state.emas, decay }, spanTolerance)
          const emas = seeded ? g.slice(0, averaged) : updated
          return [direction, { t: state.t + 1, emas, blocks: state.blocks }]
        },
      }
    }),
})

/** Bloop with its EMA (the paper's method). */
export const bloop: Interpreter<BloopOptions> = lowerBloop("bloop", {})

/** Bloop's no-EMA ablation, under its own name so that sweeps can list it as a method. */
export const bloopNoEma: Interpreter<BloopOptions> = lowerBloop("bloop-no-ema", { ema: false })
