/**
 * The `--backend` option shared by every command: an explicit choice, or `SCALPEL_BACKEND`, or
 * automatic. Every command prints the backend it ends up on.
 */
import { Options } from "@effect/cli"
import { choiceOption } from "./choiceOption.ts"
import { Console, Effect, Option } from "effect"
import { Backend, BackendLive, backendLayer, type BackendChoice, describeBackend } from "../core/backend.ts"

export const backendOption = choiceOption("backend", ["auto", "node", "wasm", "cpu"] as const).pipe(
  Options.withDescription("tensor backend (default: $SCALPEL_BACKEND, else auto: node, then wasm, then cpu)"),
  Options.optional,
)

/** Provide the backend chosen by the flag (or the environment) and print it. */
export const withBackend =
  (choice: Option.Option<BackendChoice>) =>
  <A, E, R>(program: Effect.Effect<A, E, R>) =>
    Effect.gen(function* () {
      const backend = yield* Backend
      yield* Console.log(describeBackend(backend))
      return yield* program
    }).pipe(Effect.provide(Option.match(choice, { onNone: () => BackendLive, onSome: backendLayer })))
