/**
 * The shape shared by the task-weighting rules added after the first Gram-based ones (Aligned-MTL,
 * ConFIG, Nash-MTL, DWA, FAMO, ...): each step turns the tasks' Gram matrix G = J·Jᵀ (normalised
 * to a largest diagonal entry of 1), their current losses and the rule's state into task weights
 * w and a new state, and the direction is d = Σᵢ wᵢ·gᵢ. Unlike `weighting.ts` the state is the
 * rule's own (checkpointable numbers: an EMA of cosines, FAMO's logits, GradNorm's weights, ...),
 * and the losses the training loop passes to `step` are available.
 *
 * G is computed from the raw objective gradients (one device read, float64 on the host backends)
 * and the task weights of the structure (term weight × level λ) are folded in on the host, so no
 * scaled copy of a gradient is ever made; the direction is one weighted sum.
 */
import { Effect, type Schema } from "effect"
import { combine, normalisedGram, zeroWeightsOfZeroVectors } from "../core/gram.ts"
import { symmetricFrom, type SymmetricMatrix } from "../core/smallQp.ts"
import { tf, type Tensor1D } from "../core/tf.ts"
import type { Guarantees } from "./guarantees.ts"
import { type Interpreter, MissingLosses, type RuleState, Unsupported, type UpdateRule } from "./interpreter.ts"
import { lowerToLevels, objectiveNames, type Task, tasksOf } from "./levels.ts"
import { optionsDecoder } from "./options.ts"

/** What a weighting sees at one step. */
export interface TaskStepInput {
  /** G of the task gradients over its largest diagonal entry (all zero when every gradient is). */
  readonly gram: SymmetricMatrix
  /** max ‖gᵢ‖² (0 when every task gradient is zero): G = scale·gram. */
  readonly scale: number
  /** Rounding bound of each entry of `gram` (see `NormalisedGram`). */
  readonly resolution: number
  /** The current loss of each task's objective (empty unless the rule declares `needsLosses`). */
  readonly losses: ReadonlyArray<number>
}

/** A task-weighting rule: weights from the step's input and the state, and the next state. */
export interface TaskRuleSpec<O, I, S extends RuleState> {
  readonly name: string
  readonly description: string
  readonly options: Schema.Schema<O, I, never>
  readonly guarantees?: Guarantees
  /** The rule reads the tasks' losses (default false). */
  readonly needsLosses?: boolean
  /** The rule reads the Gram matrix (default true; loss-only rules skip its computation). */
  readonly needsGram?: boolean
  /** A reason the rule cannot run with this many tasks (lowering then fails with `Unsupported`). */
  readonly unsupported?: (taskCount: number, options: O) => string | undefined
  readonly init: (taskCount: number, options: O, seed: number) => S
  readonly weights: (input: TaskStepInput, state: S, options: O) => readonly [ArrayLike<number>, S]
}

/** G of the weighted tasks wᵢ·hᵢ from the raw gradients h, renormalised (see module comment). */
const taskGram = (raw: ReadonlyArray<Tensor1D>, taskWeights: ReadonlyArray<number>): Omit<TaskStepInput, "losses"> => {
  const { gram, scale, resolution } = normalisedGram(raw)
  const k = raw.length
  const weighted = symmetricFrom(k, (i, j) => gram.values[i * k + j]! * taskWeights[i]! * taskWeights[j]!)
  let largest = 0
  for (let i = 0; i < k; i++) largest = Math.max(largest, weighted.values[i * k + i]!)
  if (!(largest > 0) || scale === 0) return { gram: symmetricFrom(k, () => 0), scale: 0, resolution }
  return { gram: symmetricFrom(k, (i, j) => weighted.values[i * k + j]! / largest), scale: scale * largest, resolution }
}

/** The tasks' losses, or `MissingLosses` thrown (a programming error of the caller, as elsewhere). */
export const taskLosses = (rule: string, tasks: ReadonlyArray<Task>, losses: Readonly<Record<string, number>> | undefined): ReadonlyArray<number> =>
  tasks.map((t) => {
    const value = losses?.[t.objective]
    if (value === undefined) throw new MissingLosses({ rule, objective: t.objective })
    return value
  })

/** An interpreter that lowers any structure's tasks (see `tasksOf`) through a {@link TaskRuleSpec}. */
export const taskRuleInterpreter = <O, I, S extends RuleState>(spec: TaskRuleSpec<O, I, S>): Interpreter<O> => ({
  name: spec.name,
  description: spec.description,
  decodeOptions: optionsDecoder(spec.name, spec.options),
  ...(spec.guarantees === undefined ? {} : { guarantees: spec.guarantees }),
  lower: (structure, options, context) =>
    Effect.flatMap(lowerToLevels(spec.name, structure), (levels) => {
      const tasks = tasksOf(levels)
      const reason = spec.unsupported?.(tasks.length, options)
      if (reason !== undefined) return Effect.fail(new Unsupported({ interpreter: spec.name, construct: `${tasks.length} task(s)`, hint: reason }))
      const taskWeights = tasks.map((t) => t.weight)
      const rule: UpdateRule<S> = {
        name: spec.name,
        objectives: objectiveNames(levels),
        init: () => spec.init(tasks.length, options, context.seed),
        step: (gradients, state, losses) => {
          const raw = tasks.map((t) => gradients[t.objective]!)
          const lossValues = spec.needsLosses === true ? taskLosses(spec.name, tasks, losses) : []
          const input: TaskStepInput =
            spec.needsGram === false
              ? { gram: symmetricFrom(tasks.length, () => 0), scale: 1, resolution: 0, losses: lossValues }
              : { ...taskGram(raw, taskWeights), losses: lossValues }
          const [w, next] = spec.weights(input, state, options)
          const direction =
            spec.needsGram !== false && input.scale === 0
              ? (tf.zerosLike(raw[0]!) as Tensor1D)
              : combine(raw, Float64Array.from(taskWeights, (tw, i) => (spec.needsGram !== false && input.gram.values[i * tasks.length + i] === 0 ? 0 : tw * w[i]!)))
          return [direction, next]
        },
      }
      return Effect.succeed(rule)
    }),
})

/** Σᵢ xᵢ. */
export const total = (x: ArrayLike<number>): number => {
  let s = 0
  for (let i = 0; i < x.length; i++) s += x[i]!
  return s
}

/** softmax(x), shifted by max x for range. */
export const softmax = (x: ArrayLike<number>): Float64Array => {
  let m = -Infinity
  for (let i = 0; i < x.length; i++) m = Math.max(m, x[i]!)
  const e = Float64Array.from(x, (v) => Math.exp(v - m))
  const s = total(e)
  return e.map((v) => v / s)
}

/** Euclidean projection onto the probability simplex (sort-based; Held, Wolfe & Crowder 1974). */
export const projectOntoSimplex = (v: ArrayLike<number>): Float64Array => {
  // Π(v + c·1) = Π(v): shifting by max v keeps the threshold's sum free of cancellation when the
  // entries are huge (e.g. after a step on a raw Gram matrix of 1e10-sized gradients).
  let top = -Infinity
  for (let i = 0; i < v.length; i++) top = Math.max(top, v[i]!)
  const sorted = Array.from(v, (x) => x - top).sort((a, b) => b - a)
  let cumulative = 0
  let theta = 0
  for (let i = 0; i < sorted.length; i++) {
    cumulative += sorted[i]!
    const candidate = (cumulative - 1) / (i + 1)
    if (sorted[i]! - candidate > 0) theta = candidate
  }
  return Float64Array.from(v, (x) => Math.max(x - top - theta, 0))
}
