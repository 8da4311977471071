/**
 * Which parameters are shared by the tasks and which belong to one task: the declaration that
 * multi-task learning's rules are defined on. MGDA, UPGrad, Nash-MTL, CAGrad, ... aggregate the
 * Jacobian with respect to the *shared* parameters only, and each task-specific parameter steps on
 * its own task's gradient (TorchJD's `mtl_backward`, LibMTL's trainer). With task heads inside the
 * aggregated vector, a head that one task alone touches enters the Gram matrix and the tasks look
 * less conflicting than they are.
 *
 * A {@link ParameterSharing} names, for some objectives, the parameters that belong to them alone,
 * with {@link ParameterSelector}s (names, a name prefix, a tfjs-layers model's layers, or any of
 * several); every other parameter is shared. Both are immutable values; {@link mergeSharing}
 * composes declarations. {@link partitionParameters} resolves one against a run's parameter names
 * and refuses what cannot mean anything (a selector that selects nothing, a parameter claimed by
 * two tasks, nothing left to share). `withSharedParameters` (interpreters) applies it to any rule.
 */
import { Either } from "effect"
import type { tf } from "../core/tf.ts"
import { SpecError } from "./errors.ts"
import { parameterNamesOf } from "./model.ts"

/** Exactly these parameter names. */
export interface NamedParameters {
  readonly _tag: "NamedParameters"
  readonly names: ReadonlyArray<string>
}

/** Every parameter whose name starts with `prefix` (e.g. `"main."` for `denseParameters("main", ...)`). */
export interface PrefixedParameters {
  readonly _tag: "PrefixedParameters"
  readonly prefix: string
}

/** The parameters any of `of` selects. */
export interface AnyOfParameters {
  readonly _tag: "AnyOfParameters"
  readonly of: ReadonlyArray<ParameterSelector>
}

/** A set of parameters, by name. */
export type ParameterSelector = NamedParameters | PrefixedParameters | AnyOfParameters

/** The parameters named `names`. */
export const parametersNamed = (...names: ReadonlyArray<string>): NamedParameters => ({ _tag: "NamedParameters", names: [...names] })

/** The parameters whose names start with `prefix`. */
export const parametersWithPrefix = (prefix: string): PrefixedParameters => ({ _tag: "PrefixedParameters", prefix })

/** The parameters any of `selectors` selects. */
export const anyOfParameters = (...selectors: ReadonlyArray<ParameterSelector>): AnyOfParameters => ({ _tag: "AnyOfParameters", of: [...selectors] })

/**
 * The trainable weights of `model`'s layers named `layers`, under the parameter names
 * {@link fromModel} gives them (`layer/weight`). An unknown layer name, or a layer without
 * trainable weights, is a `SpecError` (a declaration that selects nothing is almost always a typo).
 */
export const layerParameters = (model: tf.LayersModel, ...layers: ReadonlyArray<string>): Either.Either<NamedParameters, SpecError> => {
  const names = parameterNamesOf(model)
  const selected: Array<string> = []
  for (const layer of layers) {
    const found = model.layers.find((l) => l.name === layer)
    if (found === undefined) {
      return Either.left(new SpecError({ path: `layers.${layer}`, problem: `the model has no layer named '${layer}' (it has ${model.layers.map((l) => `'${l.name}'`).join(", ")})` }))
    }
    const weights = found.trainable ? found.trainableWeights.map((w) => names.get(w)).filter((n): n is string => n !== undefined) : []
    if (weights.length === 0) return Either.left(new SpecError({ path: `layers.${layer}`, problem: `layer '${layer}' has no trainable weights` }))
    selected.push(...weights)
  }
  return Either.right(parametersNamed(...selected))
}

/** Whether `selector` selects the parameter `name`. */
export const selects = (selector: ParameterSelector, name: string): boolean => {
  switch (selector._tag) {
    case "NamedParameters":
      return selector.names.includes(name)
    case "PrefixedParameters":
      return name.startsWith(selector.prefix)
    case "AnyOfParameters":
      return selector.of.some((s) => selects(s, name))
  }
}

/** A selector in words, for messages. */
export const describeSelector = (selector: ParameterSelector): string => {
  switch (selector._tag) {
    case "NamedParameters":
      return `parameters ${selector.names.map((n) => `'${n}'`).join(", ")}`
    case "PrefixedParameters":
      return `parameters with prefix '${selector.prefix}'`
    case "AnyOfParameters":
      return selector.of.map(describeSelector).join(" or ")
  }
}

/** For each objective named, the parameters that belong to it alone; every other parameter is shared. */
export interface ParameterSharing {
  readonly _tag: "ParameterSharing"
  readonly taskSpecific: Readonly<Record<string, ParameterSelector>>
}

/**
 * Declare task-specific parameters by objective name: `taskSpecific({ digit: parametersWithPrefix("main."),
 * overlay: parametersWithPrefix("aux.") })` (the rest, the trunk, is shared).
 */
export const taskSpecific = (byObjective: Readonly<Record<string, ParameterSelector>>): ParameterSharing => ({
  _tag: "ParameterSharing",
  taskSpecific: { ...byObjective },
})

/** Both declarations: an objective named in both owns what either selects for it. */
export const mergeSharing = (a: ParameterSharing, b: ParameterSharing): ParameterSharing => {
  const out: Record<string, ParameterSelector> = { ...a.taskSpecific }
  for (const [objective, selector] of Object.entries(b.taskSpecific)) {
    const prior = out[objective]
    out[objective] = prior === undefined ? selector : anyOfParameters(prior, selector)
  }
  return { _tag: "ParameterSharing", taskSpecific: out }
}

/** A declaration resolved against parameter names: the shared ones, and each task's own, in the order given. */
export interface ParameterPartition {
  readonly shared: ReadonlyArray<string>
  readonly taskSpecific: Readonly<Record<string, ReadonlyArray<string>>>
}

/**
 * Resolve `sharing` against the run's parameter `names`. Fails with a `SpecError` when a selector
 * selects no parameter, when two objectives claim one parameter, or when no parameter is left to
 * share (then the tasks have nothing to aggregate: train them separately or with a weighted sum).
 */
export const partitionParameters = (sharing: ParameterSharing, names: ReadonlyArray<string>): Either.Either<ParameterPartition, SpecError> => {
  const owner = new Map<string, string>()
  const taskSpecific: Record<string, ReadonlyArray<string>> = {}
  for (const [objective, selector] of Object.entries(sharing.taskSpecific)) {
    const mine = names.filter((n) => selects(selector, n))
    if (mine.length === 0) {
      return Either.left(new SpecError({ path: `sharing.${objective}`, problem: `${describeSelector(selector)} select(s) none of the parameters (${names.map((n) => `'${n}'`).join(", ")})` }))
    }
    for (const n of mine) {
      const prior = owner.get(n)
      if (prior !== undefined) return Either.left(new SpecError({ path: `sharing.${objective}`, problem: `parameter '${n}' is declared specific to both '${prior}' and '${objective}'` }))
      owner.set(n, objective)
    }
    taskSpecific[objective] = mine
  }
  const shared = names.filter((n) => !owner.has(n))
  if (shared.length === 0) return Either.left(new SpecError({ path: "sharing", problem: "every parameter is task-specific: nothing is shared, so there is nothing to aggregate" }))
  return Either.right({ shared, taskSpecific })
}
