/**
 * An option whose value is one of a few names, with an error that names the flag and the
 * nearest choice (`--backend: expected one of auto, node, wasm, cpu, got 'wsam' (did you mean
 * 'wasm'?)`); @effect/cli's own `Options.choice` says only "Expected one of the following cases".
 */
import { HelpDoc, Options, ValidationError } from "@effect/cli"
import { Effect } from "effect"
import { didYouMean } from "../dsl/suggest.ts"

export const choiceOption = <const C extends string>(name: string, choices: ReadonlyArray<C>): Options.Options<C> =>
  Options.text(name).pipe(
    Options.withPseudoName(choices.join(" | ")),
    Options.mapEffect((value) =>
      (choices as ReadonlyArray<string>).includes(value)
        ? Effect.succeed(value as C)
        : Effect.fail(ValidationError.invalidValue(HelpDoc.p(`--${name}: expected one of ${choices.join(", ")}, got '${value}'${didYouMean(value, choices)}`))),
    ),
  )
