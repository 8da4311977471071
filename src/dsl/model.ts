/**
 * Parameters that already exist: a caller's own `tf.Variable`s, or the trainable weights of a
 * tfjs-layers model. Declared this way, a parameter *is* the variable: the training loop computes
 * gradients with respect to it, updates it in place, and never disposes it. A loss that calls
 * `model.apply(x)` or `model.predict(x)` therefore reads exactly the parameters being trained, and
 * after training the model holds the trained weights (`model.save(...)` saves them).
 */
import type { tf, Variable } from "../core/tf.ts"
import type { ParameterDeclaration } from "./spec.ts"

/** Declare `variable` as a parameter: trained in place from its current value, left to its owner. */
export const fromVariable = (variable: Variable): ParameterDeclaration => ({
  shape: [...variable.shape],
  init: { kind: "variable", variable },
})

/**
 * The model's trainable weights as parameters, by the weights' own names, `layer/weight` (e.g.
 * `dense_Dense1/kernel`; name your layers, `tf.layers.dense({ name: "hidden", ... })`, to get
 * `hidden/kernel`). These are tfjs's names before it makes them unique in the process (`hidden/kernel_1`
 * for the second model built alike), so a model rebuilt to resume a checkpoint, or built again by a
 * gradient worker, has the same parameter names; should two weights of one model share a name
 * (nested models), both keep their unique names. Layers marked `trainable = false` are left out, as
 * `model.fit` leaves them. Weight constraints (`kernelConstraint`, ...) are not applied by scalpel's
 * optimizers.
 */
export const fromModel = (model: tf.LayersModel): { readonly [name: string]: ParameterDeclaration } => {
  const names = parameterNamesOf(model)
  return Object.fromEntries(
    // LayerVariable.read() is typed as a Tensor but returns the layer's own tf.Variable, the
    // one its `call` reads; makeSpec checks that it is one.
    model.trainableWeights.map((w) => [names.get(w)!, fromVariable(w.read() as Variable)] as const),
  )
}

/**
 * The parameter name {@link fromModel} gives each of the model's trainable weights: its original
 * name, or its unique name when two weights of the model share an original name.
 */
export const parameterNamesOf = (model: tf.LayersModel): ReadonlyMap<tf.LayerVariable, string> => {
  const weights = model.trainableWeights
  const counts = new Map<string, number>()
  for (const w of weights) counts.set(w.originalName, (counts.get(w.originalName) ?? 0) + 1)
  return new Map(weights.map((w) => [w, counts.get(w.originalName) === 1 ? w.originalName : w.name] as const))
}
