/**
 * Connections to the queue's Redis server. BullMQ opens its own (from the URL, so `rediss://`
 * turns TLS on); this module checks first that the server answers, so that a wrong address fails
 * at once with a readable reason instead of retrying forever.
 */
import { Effect } from "effect"
import { importOptional, type MissingOptionalDependency } from "../optionalDependency.ts"
import { QueueUnreachable, type QueueUrl } from "./url.ts"

/** BullMQ connection options for `url` (workers need `maxRetriesPerRequest: null`). */
export const connectionOptions = (url: QueueUrl) => ({ url: url.connectionUrl(), maxRetriesPerRequest: null })

const reasonOf = (error: unknown): string => (error instanceof Error ? error.message : String(error))

/** Connect once, PING, disconnect; a typed failure, password hidden, when that does not work within `timeoutMs`. */
export const checkReachable = (url: QueueUrl, timeoutMs = 5000): Effect.Effect<void, QueueUnreachable | MissingOptionalDependency> =>
  Effect.flatMap(queueEngine, ({ Redis }) => Effect.acquireUseRelease(
    Effect.sync(() => {
      const client = new Redis(url.connectionUrl(), {
        lazyConnect: true,
        connectTimeout: timeoutMs,
        maxRetriesPerRequest: 0,
        enableOfflineQueue: false,
        retryStrategy: () => null,
      })
      // The connection's own error (refused, unknown host, TLS, ...) says more than the rejection ("Connection is closed").
      const errors: Array<unknown> = []
      client.on("error", (error) => errors.push(error))
      return { client, errors }
    }),
    ({ client, errors }) =>
      Effect.tryPromise({
        try: async () => {
          await client.connect()
          await client.ping()
        },
        catch: (error) => new QueueUnreachable({ url: url.redacted, reason: url.redact(reasonOf(errors[0] ?? error)) }),
      }),
    ({ client }) => Effect.sync(() => client.disconnect()),
  ))

/** ioredis and bullmq, loaded on first use (optional peer dependencies: only sweeps on a queue need them). */
export const queueEngine = importOptional("queue sweeps", ["bullmq", "ioredis"], async () => {
  const [bullmq, ioredis] = await Promise.all([import("bullmq"), import("ioredis")])
  return { Queue: bullmq.Queue, QueueEvents: bullmq.QueueEvents, Worker: bullmq.Worker, UnrecoverableError: bullmq.UnrecoverableError, Redis: ioredis.Redis }
})
