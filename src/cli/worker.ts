/** `scalpel worker --queue redis://HOST:PORT`: train the runs of sweeps submitted with `--queue`. */
import { Command, Options } from "@effect/cli"
import { Console, Effect, Option } from "effect"
import { SpecError } from "../dsl/errors.ts"
import { serveQueue } from "../experiments/queue/serve.ts"
import { QueueUrl } from "../experiments/queue/url.ts"
import { backendOption } from "./backendOption.ts"
import { interpretersOption, modulesOf, problemsOption } from "./moduleOptions.ts"

/** The environment variable read when `--queue` is left out (keeps a password off the command line). */
export const queueVariable = "SCALPEL_QUEUE"

const queue = Options.text("queue").pipe(
  Options.withDescription(`the job queue's Redis address (redis://[:password@]host:port, rediss:// for TLS); default: $${queueVariable}`),
  Options.optional,
)
const concurrency = Options.integer("concurrency").pipe(
  Options.withDescription("runs to train at once, one process each (default 1)"),
  Options.withDefault(1),
)
const lockMs = Options.integer("lock-ms").pipe(
  Options.withDescription("lock duration of a job in ms: a job whose worker died is retried after about twice this (default 30000)"),
  Options.withDefault(30_000),
)

export const workerCommand = Command.make(
  "worker",
  { queue, concurrency, backend: backendOption, problems: problemsOption, interpreters: interpretersOption, lockMs },
  ({ queue, concurrency, backend, problems, interpreters, lockMs }) =>
    Effect.gen(function* () {
      if (concurrency < 1) return yield* new SpecError({ path: "--concurrency", problem: `expected a positive integer, got ${concurrency}` })
      if (lockMs < 100) return yield* new SpecError({ path: "--lock-ms", problem: `expected at least 100 ms, got ${lockMs}` })
      const text = Option.getOrUndefined(queue) ?? process.env[queueVariable]
      if (text === undefined || text === "") {
        return yield* new SpecError({ path: "--queue", problem: `expected the queue's address (--queue redis://HOST:PORT or $${queueVariable})` })
      }
      const url = yield* QueueUrl.parse(text)
      yield* Console.log(`training backend: ${Option.getOrElse(backend, () => process.env["SCALPEL_BACKEND"] ?? "auto")}`)
      yield* Effect.scoped(
        serveQueue({
          url,
          concurrency,
          ...Option.match(backend, { onNone: () => ({}), onSome: (b) => ({ backend: b }) }),
          problemModules: modulesOf(problems),
          interpreterModules: modulesOf(interpreters),
          lockDurationMs: lockMs,
          log: (line) => console.log(`${new Date().toISOString()} ${line}`),
        }),
      )
    }),
).pipe(
  Command.withDescription(
    "Train the runs of sweeps submitted with --queue (any number of workers, on any machines); stops on Ctrl-C after its running jobs finish.",
  ),
)
