/**
 * Composition of transforms with one combination rule, like Optax's `chain`:
 * `chain(clipByGlobalNorm(1), bloop)` clips every objective's gradient, then combines with Bloop;
 * `chain(bloop, clipByGlobalNorm(1))` clips the combined direction. The result is an ordinary
 * {@link Interpreter}: it decodes the rule's options, lowers the same structures, and can be
 * registered under its own name.
 *
 * Transforms before the rule run on each objective's gradient with a state per objective; those
 * after it run on the direction. The chain's state holds all of them and the rule's.
 */
import { Effect } from "effect"
import { tidy, type Tensor1D } from "../core/tf.ts"
import { type Gradients, type Interpreter, InvalidOptions, type RuleState, Unsupported, type UpdateRule } from "./interpreter.ts"
import { applyTransforms, type Transform } from "./transforms.ts"

/** The chain's state: per-objective states of the leading transforms, the rule's, the trailing ones'. */
export type ChainState = {
  readonly before: { readonly [objective: string]: ReadonlyArray<RuleState> }
  readonly rule: RuleState
  readonly after: ReadonlyArray<RuleState>
}

const isInterpreter = (step: Transform<any> | Interpreter<any>): step is Interpreter<any> => "lower" in step


/** Wrap an update rule with transforms before (per objective) and after (on the direction). */
export const chainRule = (
  name: string,
  before: ReadonlyArray<Transform<any>>,
  rule: UpdateRule<any>,
  after: ReadonlyArray<Transform<any>>,
): UpdateRule<ChainState> => ({
  name,
  objectives: rule.objectives,
  init: (layout, start) => ({
    before: Object.fromEntries(rule.objectives.map((o) => [o, before.map((t) => t.init(layout))])),
    rule: rule.init(layout, start),
    after: after.map((t) => t.init(layout)),
  }),
  step: (gradients, state, losses) =>
    tidy(() => {
      const transformed: Record<string, Tensor1D> = {}
      const beforeStates: Record<string, ReadonlyArray<RuleState>> = {}
      for (const objective of rule.objectives) {
        const [g, s] = applyTransforms(before, gradients[objective]!, state.before[objective] ?? [])
        transformed[objective] = g
        beforeStates[objective] = s
      }
      const [direction, ruleState] = rule.step(transformed as Gradients, state.rule, losses)
      const [out, afterStates] = applyTransforms(after, direction, state.after)
      return [out, { before: beforeStates, rule: ruleState, after: afterStates }] as const
    }),
})

/**
 * `chain(t₁, .., rule, .., t_m)`: an interpreter applying t₁.. to each objective's gradient, then
 * the rule, then the trailing transforms to the direction. Exactly one step must be an
 * interpreter; otherwise decoding options and lowering fail (InvalidOptions, Unsupported).
 */
export const chain = <O>(...steps: ReadonlyArray<Transform<any> | Interpreter<O>>): Interpreter<O> => {
  const positions = steps.flatMap((s, i) => (isInterpreter(s) ? [i] : []))
  const name = `chain(${steps.map((s) => s.name).join(", ")})`
  const problem = `a chain holds exactly one combination rule, got ${positions.length}${positions.length === 0 ? "" : ` (${positions.map((i) => steps[i]!.name).join(", ")})`}`
  if (positions.length !== 1) {
    return {
      name,
      description: `invalid chain: ${problem}`,
      decodeOptions: () => Effect.fail(new InvalidOptions({ interpreter: name, path: "", problem })),
      lower: () => Effect.fail(new Unsupported({ interpreter: name, construct: "any structure", hint: problem })),
    }
  }
  const at = positions[0]!
  const inner = steps[at] as Interpreter<O>
  const before = steps.slice(0, at) as ReadonlyArray<Transform<any>>
  const after = steps.slice(at + 1) as ReadonlyArray<Transform<any>>
  return {
    name,
    description: `${inner.description} Chained with: ${[...before, ...after].map((t) => t.name).join(", ") || "nothing"}.`,
    decodeOptions: inner.decodeOptions,
    lower: (structure, options, context) =>
      Effect.map(inner.lower(structure, options, context), (rule) => chainRule(name, before, rule, after)),
  }
}
