/**
 * Create the trainable variables a spec declares, deterministically from its seed; parameters
 * declared as existing variables (`fromVariable`, `fromModel`) are those variables.
 */
import { tf, type Tensor, type Variable } from "../core/tf.ts"
import type { Initializer, ParameterDeclaration } from "../dsl/spec.ts"

type CreatedInitializer = Exclude<Initializer, { readonly kind: "variable" }>

const initialValue = (shape: ReadonlyArray<number>, init: CreatedInitializer, seed: number): Tensor => {
  const dims = [...shape]
  switch (init.kind) {
    case "zeros":
      return tf.zeros(dims)
    case "constant":
      return tf.fill(dims, init.value)
    case "normal":
      return tf.randomNormal(dims, 0, init.std, "float32", seed)
    case "uniform":
      return tf.randomUniform(dims, -init.limit, init.limit, "float32", seed)
    case "glorot": {
      const fanIn = dims.length >= 2 ? dims[dims.length - 2]! : dims[0] ?? 1
      const fanOut = dims[dims.length - 1] ?? 1
      const limit = Math.sqrt(6 / (fanIn + fanOut))
      return tf.randomUniform(dims, -limit, limit, "float32", seed)
    }
    case "lecun-normal": {
      // tf.truncatedNormal redraws beyond 2σ, which shrinks the variance by 0.7737; the stddev is
      // raised by 1/0.87962566103423978 to restore variance 1/fanIn (as JAX's variance_scaling).
      const fanIn = dims.length >= 2 ? dims[dims.length - 2]! : dims[0] ?? 1
      return tf.truncatedNormal(dims, 0, Math.sqrt(1 / fanIn) / 0.87962566103423978, "float32", seed)
    }
    case "values":
      return tf.tensor(Float32Array.from(init.values), dims)
  }
}

/** True when the parameter is a caller's variable (trained in place, never disposed by scalpel). */
export const isBound = (declaration: ParameterDeclaration): boolean => declaration.init.kind === "variable"

/**
 * One variable per declared parameter: a new one, or the caller's own for a parameter declared
 * as a variable. Each new parameter draws from its own seed, derived from the spec's seed and the
 * parameter's position in name order, so adding a parameter named later in the alphabet does not
 * change how the others start. The caller owns the new variables (see {@link isBound}).
 */
export const createVariables = (declarations: Readonly<Record<string, ParameterDeclaration>>, seed: number): Record<string, Variable> => {
  const variables: Record<string, Variable> = {}
  Object.keys(declarations)
    .sort()
    .forEach((name, i) => {
      const d = declarations[name]!
      if (d.init.kind === "variable") {
        variables[name] = d.init.variable
        return
      }
      const value = initialValue(d.shape, d.init, (seed * 1_000_003 + i * 7919) % 2147483647)
      variables[name] = tf.variable(value, true)
      value.dispose()
    })
  return variables
}
