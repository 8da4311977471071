/** The options shared by the commands that can train through a job queue or load problem modules. */
import { Options } from "@effect/cli"
import { Effect, Option } from "effect"
import type { BackendChoice } from "../core/backend.ts"
import { SpecError } from "../dsl/errors.ts"
import { QueueUrl } from "../experiments/queue/url.ts"
import { withBackend } from "./backendOption.ts"

export const queueOption = Options.text("queue").pipe(
  Options.withDescription(
    "train through the job queue at this Redis address (redis://[:password@]host:port, rediss:// for TLS) on `scalpel worker` processes instead of local processes",
  ),
  Options.optional,
)

/** The parsed `--queue`, if given. */
export const parseQueueOption = (queue: Option.Option<string>) =>
  Option.match(queue, {
    onNone: () => Effect.succeed(Option.none<QueueUrl>()),
    onSome: (text) => Effect.map(QueueUrl.parse(text), Option.some),
  })

/**
 * Run a sweep command's program: through a queue, the workers choose the backend (`scalpel
 * worker --backend`), so `--backend` is refused and no backend is loaded here; otherwise with the
 * backend of `--backend`, printed.
 */
export const withQueueOrBackend =
  (queue: Option.Option<QueueUrl>, backend: Option.Option<BackendChoice>) =>
  <A, E>(program: Effect.Effect<A, E>) =>
    Option.isNone(queue)
      ? withBackend(backend)(program)
      : Option.isSome(backend)
        ? Effect.fail(new SpecError({ path: "--backend", problem: "with --queue the workers choose the backend (scalpel worker --backend B)" }))
        : program
