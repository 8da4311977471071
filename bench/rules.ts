/**
 * Rules for the benchmarks: lowering a built-in interpreter by name, and timing the combine part
 * of a training step on its own.
 */
import { Effect } from "effect"
import { disposeOptimizerState, makeOptimizer, type OptimizerSettings } from "../src/core/optimizers.ts"
import { layoutOf } from "../src/core/paramVector.ts"
import { tf, type Tensor1D } from "../src/core/tf.ts"
import type { ParameterDeclaration } from "../src/dsl/spec.ts"
import type { Structure } from "../src/dsl/structure.ts"
import { builtinInterpreters } from "../src/interpreters/builtins.ts"
import type { UpdateRule } from "../src/interpreters/interpreter.ts"
import { lookup } from "../src/interpreters/registry.ts"
import { createVariables } from "../src/training/parameters.ts"
import { disposeReplaced } from "../src/training/tensors.ts"
import { combineAndApply } from "../src/training/train.ts"
import { timeMs } from "./measure.ts"

/** The update rule of built-in interpreter `name` for `structure`, with `options` (default `{}`). */
export const lowerBuiltin = (name: string, structure: Structure, seed: number, options: unknown = {}): UpdateRule<any> =>
  Effect.runSync(
    Effect.gen(function* () {
      const interpreter = yield* lookup(builtinInterpreters, name)
      return yield* interpreter.lower(structure, yield* interpreter.decodeOptions(options), { seed })
    }),
  )

/**
 * The combine part of a step alone: `rule`'s step, the optimizer's update and `applyStep`, through
 * `combineAndApply` as the training session calls them, on fixed random gradients (N(0, 10⁻⁶), one
 * per objective of the rule) and variables of its own. `step()` returns milliseconds, after waiting
 * for the work by reading one number that depends on the updated parameters.
 */
export const combineStepper = (
  rule: UpdateRule<any>,
  optimizerSettings: OptimizerSettings,
  parameters: Readonly<Record<string, ParameterDeclaration>>,
  seed: number,
) => {
  const variables = createVariables(parameters, seed)
  const layout = layoutOf(variables)
  const optimizer = makeOptimizer(optimizerSettings)
  let ruleState = rule.init(layout)
  let optimizerState = optimizer.init(layout)
  const gradients = Object.fromEntries(
    rule.objectives.map((name, i) => [name, tf.randomNormal([layout.size], 0, 1e-3, "float32", 4 + i) as Tensor1D]),
  )
  const step = (): number =>
    timeMs(() => {
      const next = combineAndApply(rule, optimizer, layout, variables, gradients, ruleState, optimizerState)
      ruleState = next.ruleState
      optimizerState = next.optimizerState
      tf.tidy(() => tf.sum(variables[layout.entries[0]!.name]!).dataSync())
    })
  const dispose = () => {
    disposeReplaced(ruleState, undefined)
    disposeOptimizerState(optimizerState)
    tf.dispose([...Object.values(variables), ...Object.values(gradients)])
  }
  return { step, dispose }
}
