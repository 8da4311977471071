/**
 * Command-line overrides of a spec document's common fields (`scalpel run --steps 10 --lambda 0.1
 * ...`): applied to the parsed document before it is resolved, so the run, its checkpoint check
 * and the `spec.json` written to the run folder all see the overridden values.
 */
import { Options } from "@effect/cli"
import { Effect, Either, Option } from "effect"
import { SpecError } from "../dsl/errors.ts"
import type { SpecDocument } from "../dsl/json.ts"
import { withLambda } from "../experiments/sweep.ts"

const positiveInteger = (flag: string, value: number): Effect.Effect<number, SpecError> =>
  Number.isInteger(value) && value >= 1 ? Effect.succeed(value) : Effect.fail(new SpecError({ path: `--${flag}`, problem: `expected a positive integer, got ${value}` }))

export const overrideFlags = {
  steps: Options.integer("steps").pipe(Options.withPseudoName("N"), Options.withDescription("train this many steps instead of the spec's `steps` (or `epochs`)"), Options.optional),
  epochs: Options.integer("epochs").pipe(
    Options.withPseudoName("N"),
    Options.withDescription("train this many epochs (each example once per epoch, shuffled) instead of the spec's `steps` or `epochs`"),
    Options.optional,
  ),
  seed: Options.integer("seed").pipe(Options.withPseudoName("N"), Options.withDescription("the run's seed instead of the spec's `seed` (batches, initial values, random rules)"), Options.optional),
  learningRate: Options.float("learning-rate").pipe(
    Options.withPseudoName("RATE"),
    Options.withDescription("the optimizer's learning rate instead of the spec's `optimizer.learningRate`"),
    Options.optional,
  ),
  batchSize: Options.integer("batch-size").pipe(Options.withPseudoName("N"), Options.withDescription("examples per mini-batch instead of the spec's `batchSize`"), Options.optional),
  method: Options.text("method").pipe(
    Options.withPseudoName("NAME"),
    Options.withDescription("train with this method instead of the spec's (its options are the spec's when it names the same method, else the method's defaults; see --method-options)"),
    Options.optional,
  ),
  methodOptions: Options.text("method-options").pipe(
    Options.withPseudoName("JSON"),
    Options.withDescription('the method\'s options as a JSON object, e.g. \'{"rho":0.1}\' (replaces the spec\'s)'),
    Options.optional,
  ),
  lambda: Options.float("lambda").pipe(
    Options.withPseudoName("λ"),
    Options.withDescription("the auxiliary level's λ (a 'prioritize' or 'hierarchy' structure) instead of the spec's"),
    Options.optional,
  ),
}

type Flags = { readonly [K in keyof typeof overrideFlags]: Option.Option<(typeof overrideFlags)[K] extends Options.Options<Option.Option<infer A>> ? A : never> }

const parseOptionsJson = (text: string): Effect.Effect<Record<string, unknown>, SpecError> => {
  const failure = (problem: string) => new SpecError({ path: "--method-options", problem })
  try {
    const value: unknown = JSON.parse(text)
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? Effect.succeed(value as Record<string, unknown>)
      : Effect.fail(failure(`expected a JSON object such as '{"rho":0.1}', got ${text}`))
  } catch (error) {
    return Effect.fail(failure(`not valid JSON (${error instanceof Error ? error.message : String(error)}): ${text}`))
  }
}

/** The fields the flags override, as `steps 10, lambda 0.1` (empty when none was given). */
export const describeOverrides = (flags: Flags): string =>
  Object.entries(flags)
    .flatMap(([name, value]) => (Option.isSome(value as Option.Option<unknown>) ? [`${name} ${String((value as Option.Some<unknown>).value)}`] : []))
    .join(", ")

/** `document` with every given flag applied; a bad value fails with a `SpecError` naming the flag. */
export const applyOverrides = (document: SpecDocument, flags: Flags): Effect.Effect<SpecDocument, SpecError> =>
  Effect.gen(function* () {
    let next = document
    if (Option.isSome(flags.steps) && Option.isSome(flags.epochs)) return yield* new SpecError({ path: "--epochs", problem: "give --steps or --epochs, not both" })
    if (Option.isSome(flags.steps)) {
      const { epochs: _epochs, ...rest } = next
      next = { ...rest, steps: yield* positiveInteger("steps", flags.steps.value) }
    }
    if (Option.isSome(flags.epochs)) {
      const { steps: _steps, ...rest } = next
      next = { ...rest, epochs: yield* positiveInteger("epochs", flags.epochs.value) }
    }
    if (Option.isSome(flags.batchSize)) next = { ...next, batchSize: yield* positiveInteger("batch-size", flags.batchSize.value) }
    if (Option.isSome(flags.seed)) {
      if (!Number.isSafeInteger(flags.seed.value)) return yield* new SpecError({ path: "--seed", problem: `expected an integer, got ${flags.seed.value}` })
      next = { ...next, seed: flags.seed.value }
    }
    if (Option.isSome(flags.learningRate)) {
      const rate = flags.learningRate.value
      if (!(Number.isFinite(rate) && rate > 0)) return yield* new SpecError({ path: "--learning-rate", problem: `expected a positive number, got ${rate}` })
      next = { ...next, optimizer: { ...next.optimizer, learningRate: rate } }
    }
    if (Option.isSome(flags.lambda)) {
      const lambda = flags.lambda.value
      if (!(Number.isFinite(lambda) && lambda >= 0)) return yield* new SpecError({ path: "--lambda", problem: `expected a non-negative number, got ${lambda}` })
      const structure = withLambda(next.structure, lambda)
      if (Either.isLeft(structure)) return yield* new SpecError({ path: "--lambda", problem: structure.left.problem.replace("a λ sweep", "--lambda") })
      next = { ...next, structure: structure.right }
    }
    if (Option.isSome(flags.method)) {
      const name = flags.method.value
      next = { ...next, method: name === next.method.name ? next.method : { name, options: {} } }
    }
    if (Option.isSome(flags.methodOptions)) next = { ...next, method: { ...next.method, options: yield* parseOptionsJson(flags.methodOptions.value) } }
    return next
  })
