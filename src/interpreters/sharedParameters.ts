/**
 * Multi-task learning as TorchJD's `mtl_backward` and LibMTL define it: the rule aggregates the
 * tasks' gradients with respect to the *shared* parameters only, and each task-specific parameter
 * (a head) steps on its own task's gradient.
 *
 * `withSharedParameters(rule, sharing)` wraps any interpreter. Its rule slices every objective's
 * flat gradient into the shared parameters (the layout entries no task claims, in layout order) and
 * runs the wrapped rule on those slices alone, with a layout of the shared entries (so per-block
 * surgery still sees one block per shared variable); on task i's own parameters the direction is
 * wᵢ·gᵢ, the task's weight (term weight × level λ, see `tasksOf`) times its own gradient — exactly
 * the weighted-sum gradient there, since no other task's loss reads those parameters. The Gram
 * matrix, the weights and every guarantee of the wrapped rule are then about the shared part, as in
 * the methods' papers. A gradient that another objective has on a task's own parameters (a loss
 * that reads a head it was not declared to own) is ignored there.
 *
 * The wrapped rule's declared guarantees are about its whole input vector; the wrapper declares
 * none (they hold on the shared part only).
 */
import { Effect, Either } from "effect"
import type { Layout, LayoutEntry } from "../core/paramVector.ts"
import { tf, tidy, type Tensor1D } from "../core/tf.ts"
import { partitionParameters, type ParameterSharing } from "../dsl/sharing.ts"
import { type Gradients, type Interpreter, type RuleState, Unsupported, type UpdateRule } from "./interpreter.ts"
import { lowerToLevels, tasksOf } from "./levels.ts"

/**
 * Where each part of the flat vector comes from, in layout order: `task` −1 is a run of shared
 * entries (`from` its offset in the shared vector), otherwise the index of the owning task.
 * Plain numbers, so that it is checkpointed with the state.
 */
type Segment = { readonly task: number; readonly offset: number; readonly size: number; readonly from: number }

/** State: the wrapped rule's state (on the shared layout) and the segments of the layout. */
export type SharedParametersState = {
  readonly inner: RuleState
  readonly shared: ReadonlyArray<{ readonly offset: number; readonly size: number }>
  readonly segments: ReadonlyArray<Segment>
}

const subLayout = (entries: ReadonlyArray<LayoutEntry>): Layout => {
  let offset = 0
  const out = entries.map((e) => {
    const entry: LayoutEntry = { name: e.name, shape: e.shape, size: e.size, offset }
    offset += e.size
    return entry
  })
  return { entries: out, size: offset }
}

/** Adjacent ranges of the same origin merged, so that a trunk of many variables is one slice. */
const mergeSegments = (segments: ReadonlyArray<Segment>): ReadonlyArray<Segment> => {
  const out: Array<Segment> = []
  for (const s of segments) {
    const last = out[out.length - 1]
    if (last !== undefined && last.task === s.task && last.offset + last.size === s.offset && (s.task !== -1 || last.from + last.size === s.from)) {
      out[out.length - 1] = { ...last, size: last.size + s.size }
    } else out.push(s)
  }
  return out
}

const sliceOf = (v: Tensor1D, offset: number, size: number): Tensor1D => (offset === 0 && size === v.size ? v.clone() : tf.slice(v, [offset], [size]))

/**
 * `interpreter`, aggregating only the parameters `sharing` leaves shared; each objective named in
 * `sharing` steps on its own gradient on its own parameters. Lowering fails with `Unsupported` for
 * a structure without tasks (constraints) or when `sharing` names an objective that is not a task;
 * `init` throws the `SpecError` of {@link partitionParameters} when the declaration does not fit
 * the run's parameters (`train` fails with it).
 */
export const withSharedParameters = <O>(interpreter: Interpreter<O>, sharing: ParameterSharing): Interpreter<O> => ({
  name: `${interpreter.name}+shared`,
  description: `${interpreter.description} Aggregates the shared parameters only; task-specific parameters step on their own task's gradient.`,
  decodeOptions: interpreter.decodeOptions,
  lower: (structure, options, context) =>
    Effect.gen(function* () {
      const name = `${interpreter.name}+shared`
      const levels = yield* lowerToLevels(name, structure)
      const tasks = tasksOf(levels)
      const taskIndex = new Map(tasks.map((t, i) => [t.objective, i] as const))
      for (const objective of Object.keys(sharing.taskSpecific)) {
        if (!taskIndex.has(objective)) {
          return yield* Effect.fail(
            new Unsupported({ interpreter: name, construct: `task-specific parameters of '${objective}'`, hint: `'${objective}' is not a task of the structure (tasks: ${tasks.map((t) => t.objective).join(", ")})` }),
          )
        }
      }
      const inner: UpdateRule<any> = yield* interpreter.lower(structure, options, context)
      const rule: UpdateRule<SharedParametersState> = {
        name,
        objectives: inner.objectives,
        init: (layout, start) => {
          const partition = Either.getOrThrowWith(partitionParameters(sharing, layout.entries.map((e) => e.name)), (error) => error)
          const owner = new Map<string, number>()
          for (const [objective, names] of Object.entries(partition.taskSpecific)) for (const n of names) owner.set(n, taskIndex.get(objective)!)
          const sharedEntries = layout.entries.filter((e) => !owner.has(e.name))
          const sharedLayout = subLayout(sharedEntries)
          const fromOf = new Map(sharedLayout.entries.map((e) => [e.name, e.offset] as const))
          const segments = mergeSegments(layout.entries.map((e) => ({ task: owner.get(e.name) ?? -1, offset: e.offset, size: e.size, from: fromOf.get(e.name) ?? 0 })))
          const shared = mergeSegments(sharedEntries.map((e) => ({ task: -1, offset: e.offset, size: e.size, from: fromOf.get(e.name)! }))).map(({ offset, size }) => ({ offset, size }))
          // The wrapped rule sees the shared parameters only, as it sees only their gradients.
          const sharedStart =
            start === undefined
              ? undefined
              : {
                  parameters: () =>
                    tidy(() => {
                      const all = start.parameters()
                      const parts = shared.map((r) => sliceOf(all, r.offset, r.size))
                      return parts.length === 1 ? parts[0]! : (tf.concat(parts) as Tensor1D)
                    }),
                }
          return { inner: inner.init(sharedLayout, sharedStart), shared, segments }
        },
        step: (gradients, state, losses) =>
          tidy(() => {
            const sharedGradients: Record<string, Tensor1D> = {}
            for (const objective of inner.objectives) {
              const g = gradients[objective]!
              const parts = state.shared.map((r) => sliceOf(g, r.offset, r.size))
              sharedGradients[objective] = parts.length === 1 ? parts[0]! : (tf.concat(parts) as Tensor1D)
            }
            const [sharedDirection, nextInner] = inner.step(sharedGradients as Gradients, state.inner, losses)
            const parts = state.segments.map((s) => {
              if (s.task === -1) return sliceOf(sharedDirection, s.from, s.size)
              const task = tasks[s.task]!
              const own = sliceOf(gradients[task.objective]!, s.offset, s.size)
              return task.weight === 1 ? own : (tf.mul(own, task.weight) as Tensor1D)
            })
            const direction = parts.length === 1 ? parts[0]! : (tf.concat(parts) as Tensor1D)
            return [direction, { inner: nextInner, shared: state.shared, segments: state.segments }] as const
          }),
      }
      return rule
    }),
})

/**
 * `interpreter` as a spec document's method asks for it: wrapped by {@link withSharedParameters}
 * with the problem's own `sharing` when `sharedParameters` is true (`Unsupported` when the problem
 * declares none), unchanged otherwise.
 */
export const interpreterWithSharing = <O>(
  interpreter: Interpreter<O>,
  sharedParameters: boolean | undefined,
  sharing: ParameterSharing | undefined,
  problem: string,
): Effect.Effect<Interpreter<O>, Unsupported> => {
  if (sharedParameters !== true) return Effect.succeed(interpreter)
  if (sharing === undefined) {
    return Effect.fail(
      new Unsupported({ interpreter: interpreter.name, construct: "sharedParameters", hint: `problem '${problem}' declares no task-specific parameters (its 'sharing')` }),
    )
  }
  return Effect.succeed(withSharedParameters(interpreter, sharing))
}
