/**
 * A training spec: everything needed to run a declared problem, as one immutable value.
 */
import { Either } from "effect"
import type { LearningRateSchedule, OptimizerSettings } from "../core/optimizers.ts"
import { tf, type Variable } from "../core/tf.ts"
import { SpecError } from "./errors.ts"
import { objectivesOf, type Structure, validateStructure } from "./structure.ts"

/** How a parameter starts. `normal` and `uniform` draw from the spec's seed. */
export type Initializer =
  | { readonly kind: "zeros" }
  | { readonly kind: "constant"; readonly value: number }
  | { readonly kind: "normal"; readonly std: number }
  | { readonly kind: "uniform"; readonly limit: number }
  /** Glorot/Xavier uniform: limit √(6/(fanIn + fanOut)), for dense kernels [fanIn, fanOut]. */
  | { readonly kind: "glorot" }
  /**
   * LeCun normal (LeCun et al., "Efficient BackProp", 1998; Flax's `nn.Dense` default): a normal
   * truncated at ±2 standard deviations, scaled so that the variance is 1/fanIn, for dense kernels
   * [fanIn, fanOut].
   */
  | { readonly kind: "lecun-normal" }
  | { readonly kind: "values"; readonly values: ArrayLike<number> }
  /**
   * The parameter *is* this variable (see `fromVariable`, `fromModel`): training starts from its
   * current value, updates it in place, and leaves it to its owner (it is never disposed).
   */
  | { readonly kind: "variable"; readonly variable: Variable }

/** A named trainable tensor: its shape and how it starts. */
export interface ParameterDeclaration {
  readonly shape: ReadonlyArray<number>
  readonly init: Initializer
}

/**
 * How a step's examples are drawn from each data source: `"replacement"` (default), uniformly with
 * replacement from the seeded generator; `"epochs"`, without replacement: each epoch shuffles
 * every source (deterministically per seed and epoch) and walks through the order, so that every
 * example is seen once per epoch (see `training/sampling.ts`); `"epochs-drop-last"`, the same
 * with the incomplete last batch of each epoch dropped (⌊n / batchSize⌋ steps an epoch).
 */
export type Sampling = "replacement" | "epochs" | "epochs-drop-last"

/** What to do when a gradient or loss is NaN or infinite. */
export type NonFinitePolicy = "fail" | "skip"

/**
 * A complete training declaration. `P` names its parameters (`string` when not known), so that
 * what training returns is typed by name.
 */
export interface Spec<P extends string = string> {
  readonly parameters: { readonly [K in P]: ParameterDeclaration }
  readonly structure: Structure
  readonly optimizer: OptimizerSettings
  readonly steps: number
  readonly batchSize: number
  readonly seed: number
  readonly nonFinite: NonFinitePolicy
  /** How examples are drawn (absent: `"replacement"`). */
  readonly sampling?: Sampling
  /** The number of epochs the run was declared with, when it was declared in epochs (`steps` is then epochs × steps per epoch). */
  readonly epochs?: number
}

/**
 * Steps in one epoch: ⌈n / batchSize⌉ for the largest data source's n among `structure`'s
 * objectives, ⌊n / batchSize⌋ under `"epochs-drop-last"` (at least 1; 1 without data).
 */
export const stepsPerEpochOf = (structure: Structure, batchSize: number, sampling?: Sampling): number => {
  const examples = Math.max(0, ...objectivesOf(structure).map((o) => o.data?.size ?? 0))
  return Math.max(1, sampling === "epochs-drop-last" ? Math.floor(examples / batchSize) : Math.ceil(examples / batchSize))
}

/** SGD: θ ← θ − η·d. */
export const sgd = (options: { readonly learningRate: number; readonly schedule?: LearningRateSchedule }): OptimizerSettings => ({
  kind: "sgd",
  ...options,
})
/** Heavy-ball momentum (μ default 0.9). */
export const momentum = (options: {
  readonly learningRate: number
  readonly momentum?: number
  readonly schedule?: LearningRateSchedule
}): OptimizerSettings => ({
  kind: "momentum",
  learningRate: options.learningRate,
  momentum: options.momentum ?? 0.9,
  ...(options.schedule === undefined ? {} : { schedule: options.schedule }),
})
/** Adam with the usual defaults β₁ = 0.9, β₂ = 0.999, ε = 1e-8 (and an optional learning-rate schedule). */
export const adam = (options: {
  readonly learningRate: number
  readonly beta1?: number
  readonly beta2?: number
  readonly epsilon?: number
  readonly schedule?: LearningRateSchedule
}): OptimizerSettings => ({
  kind: "adam",
  learningRate: options.learningRate,
  beta1: options.beta1 ?? 0.9,
  beta2: options.beta2 ?? 0.999,
  epsilon: options.epsilon ?? 1e-8,
  ...(options.schedule === undefined ? {} : { schedule: options.schedule }),
})

/**
 * Nesterov momentum in the form of Sutskever et al. (2013, §2.1) as PyTorch's
 * `SGD(nesterov=True)` and Optax's `sgd(nesterov=True)` implement it: m ← μ·m + d,
 * θ ← θ − η·(d + μ·m) (μ default 0.9).
 */
export const nesterov = (options: {
  readonly learningRate: number
  readonly momentum?: number
  readonly schedule?: LearningRateSchedule
}): OptimizerSettings => ({
  kind: "nesterov",
  learningRate: options.learningRate,
  momentum: options.momentum ?? 0.9,
  ...(options.schedule === undefined ? {} : { schedule: options.schedule }),
})
/**
 * AdamW (Loshchilov & Hutter 2019, Algorithm 2): Adam's step plus decoupled weight decay,
 * θ ← (1 − η·λ)·θ − η·m̂/(√v̂ + ε), the decay scaled by the (scheduled) learning rate as in PyTorch's
 * `AdamW` and Optax's `adamw`. Defaults β₁ = 0.9, β₂ = 0.999, ε = 1e-8, λ = `weightDecay` = 0.01
 * (PyTorch's).
 */
export const adamw = (options: {
  readonly learningRate: number
  readonly beta1?: number
  readonly beta2?: number
  readonly epsilon?: number
  readonly weightDecay?: number
  readonly schedule?: LearningRateSchedule
}): OptimizerSettings => ({
  kind: "adamw",
  learningRate: options.learningRate,
  beta1: options.beta1 ?? 0.9,
  beta2: options.beta2 ?? 0.999,
  epsilon: options.epsilon ?? 1e-8,
  weightDecay: options.weightDecay ?? 0.01,
  ...(options.schedule === undefined ? {} : { schedule: options.schedule }),
})
/**
 * RMSprop (Hinton, Neural Networks for Machine Learning, lecture 6e, 2012), as
 * `tf.train.rmsprop` without momentum: v ← ρ·v + (1 − ρ)·d², θ ← θ − η·d/√(v + ε). Defaults
 * ρ = `decay` = 0.9, ε = 1e-7 (tf.train.rmsprop's float32 ε).
 */
export const rmsprop = (options: {
  readonly learningRate: number
  readonly decay?: number
  readonly epsilon?: number
  readonly schedule?: LearningRateSchedule
}): OptimizerSettings => ({
  kind: "rmsprop",
  learningRate: options.learningRate,
  decay: options.decay ?? 0.9,
  epsilon: options.epsilon ?? 1e-7,
  ...(options.schedule === undefined ? {} : { schedule: options.schedule }),
})

/**
 * Numbers a run's parameters may hold together (2^26 = 256 MiB of float32). A step keeps several
 * vectors of that size at once (one gradient per objective, the direction, optimizer and rule
 * states), and the tfjs backends cannot allocate past 4 GiB; a larger declaration is refused by
 * {@link makeSpec} before anything is allocated.
 */
export const maxParameterElements = 2 ** 26

const positiveInteger = (x: number) => Number.isInteger(x) && x > 0

/** Parameter declarations by name. */
export type ParameterDeclarations = { readonly [name: string]: ParameterDeclaration }

/**
 * What {@link makeSpec} checks: a {@link Spec} whose seed, non-finite policy and sampling may be
 * left out, and whose length is given in `steps` or in `epochs` (one of the two; `epochs` implies
 * `sampling: "epochs"` unless it says otherwise).
 */
export interface SpecInput<D extends ParameterDeclarations = ParameterDeclarations> {
  readonly parameters: D
  readonly structure: Structure
  readonly optimizer: OptimizerSettings
  readonly steps?: number
  readonly epochs?: number
  readonly batchSize: number
  readonly seed?: number
  readonly nonFinite?: NonFinitePolicy
  readonly sampling?: Sampling
}

/** The parameter names of a declaration record. */
export type ParameterNames<D> = keyof D & string

/**
 * Build a spec, checking every field: the structure (see `validateStructure`), shapes, optimizer
 * settings, and counts. Defaults: seed 0, nonFinite "fail". A spec is valid input too (checking
 * it again gives an equal spec).
 */
export const makeSpec = <D extends ParameterDeclarations>(input: SpecInput<D>): Either.Either<Spec<ParameterNames<D>>, SpecError> => {
  const fail = (path: string, problem: string) => Either.left(new SpecError({ path, problem }))
  const names = Object.keys(input.parameters)
  if (names.length === 0) return fail("parameters", "expected at least one parameter, got none")
  let totalElements = 0
  const bound = new Map<Variable, string>()
  for (const name of names) {
    const p = input.parameters[name]!
    if (p.shape.some((d) => !positiveInteger(d))) {
      return fail(`parameters.${name}.shape`, `expected positive integer dimensions, got [${p.shape.join(", ")}]`)
    }
    const size = p.shape.reduce((a, b) => a * b, 1)
    totalElements += size
    if (totalElements > maxParameterElements) {
      return fail(
        `parameters.${name}.shape`,
        `[${p.shape.join(", ")}] holds ${size} numbers, ${size === totalElements ? "more" : `and with the parameters before it ${totalElements}, more`} than the ${maxParameterElements} (2^26) that a run's parameters may hold: ` +
          "a step keeps several vectors of the parameters' size (gradients, optimizer and rule states) in memory at once",
      )
    }
    if (p.init.kind === "values") {
      if (p.init.values.length !== size) {
        return fail(`parameters.${name}.init.values`, `expected ${size} values for shape [${p.shape.join(", ")}], got ${p.init.values.length}`)
      }
    }
    if (p.init.kind === "variable") {
      const variable = p.init.variable
      const at = `parameters.${name}.init.variable`
      if (!(variable instanceof tf.Variable)) return fail(at, "expected a tf.Variable")
      if (variable.isDisposed) return fail(at, `variable '${variable.name}' is disposed`)
      if (variable.dtype !== "float32") return fail(at, `expected a float32 variable, got ${variable.dtype} ('${variable.name}')`)
      if (!variable.trainable) return fail(at, `variable '${variable.name}' is not trainable`)
      if (variable.shape.length !== p.shape.length || variable.shape.some((d, i) => d !== p.shape[i])) {
        return fail(at, `variable '${variable.name}' has shape [${variable.shape.join(", ")}], the declaration says [${p.shape.join(", ")}]`)
      }
      const other = bound.get(variable)
      if (other !== undefined) return fail(at, `variable '${variable.name}' is already parameter '${other}'; one variable can be one parameter only`)
      bound.set(variable, name)
    }
  }
  const o = input.optimizer
  if (!(Number.isFinite(o.learningRate) && o.learningRate > 0)) {
    return fail("optimizer.learningRate", `expected a positive number, got ${o.learningRate}`)
  }
  if ((o.kind === "momentum" || o.kind === "nesterov") && !(o.momentum >= 0 && o.momentum < 1)) {
    return fail("optimizer.momentum", `expected a number in [0, 1), got ${o.momentum}`)
  }
  if (o.kind === "adam" || o.kind === "adamw") {
    for (const key of ["beta1", "beta2"] as const) {
      if (!(o[key] >= 0 && o[key] < 1)) return fail(`optimizer.${key}`, `expected a number in [0, 1), got ${o[key]}`)
    }
    if (!(o.epsilon > 0)) return fail("optimizer.epsilon", `expected a positive number, got ${o.epsilon}`)
  }
  if (o.kind === "adamw" && !(o.weightDecay >= 0 && o.learningRate * o.weightDecay < 1)) {
    return fail("optimizer.weightDecay", `expected a number ≥ 0 with learningRate·weightDecay < 1 (each update scales θ by 1 − η·λ), got ${o.weightDecay}`)
  }
  if (o.kind === "rmsprop") {
    if (!(o.decay >= 0 && o.decay < 1)) return fail("optimizer.decay", `expected a number in [0, 1), got ${o.decay}`)
    if (!(o.epsilon > 0)) return fail("optimizer.epsilon", `expected a positive number, got ${o.epsilon}`)
  }
  const schedule = o.schedule
  if (schedule !== undefined && schedule.kind === "step") {
    if (!positiveInteger(schedule.stepSize)) return fail("optimizer.schedule.stepSize", `expected a positive integer, got ${schedule.stepSize}`)
    if (!(schedule.gamma > 0 && schedule.gamma <= 1)) return fail("optimizer.schedule.gamma", `expected a number in (0, 1], got ${schedule.gamma}`)
  } else if (schedule !== undefined && schedule.kind !== "constant") {
    if (!positiveInteger(schedule.kind === "warmup" ? schedule.warmupSteps : schedule.decaySteps)) {
      const key = schedule.kind === "warmup" ? "warmupSteps" : "decaySteps"
      return fail(`optimizer.schedule.${key}`, `expected a positive integer, got ${schedule.kind === "warmup" ? schedule.warmupSteps : schedule.decaySteps}`)
    }
    if (schedule.kind === "cosine") {
      if (!(Number.isInteger(schedule.warmupSteps) && schedule.warmupSteps >= 0 && schedule.warmupSteps < schedule.decaySteps)) {
        return fail("optimizer.schedule.warmupSteps", `expected an integer in [0, ${schedule.decaySteps}), got ${schedule.warmupSteps}`)
      }
      if (!(schedule.alpha >= 0 && schedule.alpha <= 1)) return fail("optimizer.schedule.alpha", `expected a number in [0, 1], got ${schedule.alpha}`)
    }
  }
  if (input.steps === undefined && input.epochs === undefined) return fail("steps", "expected steps or epochs, got neither")
  const sampling = input.sampling ?? (input.epochs === undefined ? undefined : "epochs")
  if (sampling !== undefined && sampling !== "replacement" && sampling !== "epochs" && sampling !== "epochs-drop-last") {
    return fail("sampling", `expected "replacement", "epochs" or "epochs-drop-last", got ${String(sampling)}`)
  }
  // A checked spec has both (its steps are its epochs' steps): accepted when they agree.
  if (input.steps !== undefined && input.epochs !== undefined && input.steps !== input.epochs * stepsPerEpochOf(input.structure, input.batchSize, sampling)) {
    return fail("epochs", `expected steps or epochs, not both (steps ${input.steps}, epochs ${input.epochs})`)
  }
  if (input.steps !== undefined && !positiveInteger(input.steps)) return fail("steps", `expected a positive integer, got ${input.steps}`)
  if (input.epochs !== undefined && !positiveInteger(input.epochs)) return fail("epochs", `expected a positive integer, got ${input.epochs}`)
  if (!positiveInteger(input.batchSize)) return fail("batchSize", `expected a positive integer, got ${input.batchSize}`)
  const seed = input.seed ?? 0
  if (!Number.isInteger(seed)) return fail("seed", `expected an integer, got ${seed}`)
  return Either.flatMap(validateStructure(input.structure), (structure) => {
    for (const objective of objectivesOf(structure)) {
      if (objective.data !== undefined && objective.data.size <= 0) {
        return fail("structure", `objective '${objective.name}' has an empty data source '${objective.data.name}'`)
      }
    }
    return Either.right<Spec<ParameterNames<D>>>({
      parameters: input.parameters as Spec<ParameterNames<D>>["parameters"],
      structure,
      optimizer: input.optimizer,
      steps: input.steps ?? input.epochs! * stepsPerEpochOf(structure, input.batchSize, sampling),
      batchSize: input.batchSize,
      seed,
      nonFinite: input.nonFinite ?? "fail",
      ...(sampling === undefined || sampling === "replacement" ? {} : { sampling }),
      ...(input.epochs === undefined ? {} : { epochs: input.epochs }),
    })
  })
}
