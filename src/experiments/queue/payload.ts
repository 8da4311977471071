/**
 * What travels through the queue: a job's data (a spec document specialised to one grid point,
 * the grid point, and the names of the problem modules the sweep loads) and its result (a
 * {@link RunRecord}). Both are plain data, checked with a schema on arrival: a worker trains only
 * documents that decode as specs, a submitter accepts only results that decode as records.
 */
import { createHash } from "node:crypto"
import { Either, Schema } from "effect"
import { SpecError } from "../../dsl/errors.ts"
import { issueMessage } from "../../dsl/issueMessage.ts"
import { decodeSpecDocument, encodeSpecDocument, type SpecDocument } from "../../dsl/json.ts"
import type { RunRecord, SweepJob } from "../sweep.ts"

/** Name of the BullMQ queue sweeps use. */
export const queueName = "scalpel-runs"

/** Version of the job format; part of every job's key, so that a new format never reuses old results. */
export const payloadVersion = 2

const MethodSchema = Schema.Struct({ name: Schema.String, options: Schema.Record({ key: Schema.String, value: Schema.Unknown }) })

const SweepJobSchema = Schema.Struct({
  method: Schema.String,
  lambda: Schema.Number,
  seed: Schema.Number,
  variant: Schema.optional(MethodSchema),
  learningRateFactor: Schema.optional(Schema.Number),
  trajectoryEvery: Schema.optional(Schema.Number),
})

/** The data of one queued job, as stored in the queue. */
export const JobPayloadSchema = Schema.Struct({
  version: Schema.Literal(payloadVersion),
  document: Schema.Unknown,
  job: SweepJobSchema,
  /** Problem modules of the sweep (as named on the submitting machine), for error messages. */
  problemModules: Schema.Array(Schema.String),
  /** Interpreter modules of the sweep (as named on the submitting machine); a worker refuses a job whose method it lacks. */
  interpreterModules: Schema.optionalWith(Schema.Array(Schema.String), { default: () => [] }),
})
export type JobPayload = typeof JobPayloadSchema.Type

/** A decoded job: a spec document and its grid point. */
export interface QueuedRun {
  readonly document: SpecDocument
  readonly job: SweepJob
  readonly problemModules: ReadonlyArray<string>
  readonly interpreterModules: ReadonlyArray<string>
}

/** The result of a job. */
export const RunRecordSchema: Schema.Schema<RunRecord> = Schema.Struct({
  method: Schema.String,
  lambda: Schema.Number,
  seed: Schema.Number,
  mainTrain: Schema.Number,
  auxTrain: Schema.Number,
  mainTest: Schema.Number,
  auxTest: Schema.Number,
  heldOut: Schema.Boolean,
  trajectory: Schema.optional(
    Schema.Struct({ steps: Schema.Array(Schema.Number), main: Schema.Array(Schema.Number), aux: Schema.Array(Schema.Number) }),
  ),
  metrics: Schema.Record({ key: Schema.String, value: Schema.Number }),
  wallTimeMs: Schema.Number,
  backend: Schema.String,
})

const schemaError = (path: string) => (error: Parameters<typeof issueMessage>[0]) => {
  const issue = issueMessage(error)
  return new SpecError({ path: issue.path === "" ? path : `${path}.${issue.path}`, problem: issue.message })
}

/** The payload of a job for `document` (already specialised to `job`). */
export const makePayload = (
  document: SpecDocument,
  job: SweepJob,
  problemModules: ReadonlyArray<string>,
  interpreterModules: ReadonlyArray<string> = [],
): JobPayload => ({
  version: payloadVersion,
  document: encodeSpecDocument(document),
  job: { method: job.method, lambda: job.lambda, seed: job.seed },
  problemModules: [...problemModules],
  interpreterModules: [...interpreterModules],
})

/** Decode a job's data: the payload's shape, then its document as a spec (never anything else). */
export const decodePayload = (data: unknown): Either.Either<QueuedRun, SpecError> =>
  Either.gen(function* () {
    const payload = yield* Either.mapLeft(
      Schema.decodeUnknownEither(JobPayloadSchema, { errors: "first", onExcessProperty: "error" })(data),
      schemaError("job"),
    )
    const document = yield* Either.mapLeft(decodeSpecDocument(payload.document), (e) =>
      new SpecError({ path: e.path === "" ? "job.document" : `job.document.${e.path}`, problem: e.problem }),
    )
    return { document, job: payload.job, problemModules: payload.problemModules, interpreterModules: payload.interpreterModules }
  })

/** Decode a job's result. */
export const decodeRecord = (value: unknown): Either.Either<RunRecord, SpecError> =>
  Either.mapLeft(Schema.decodeUnknownEither(RunRecordSchema, { errors: "first" })(value), schemaError("result"))

/** JSON with object keys sorted at every depth: one text per value, whatever the order keys were added in. */
export const canonicalJson = (value: unknown): string =>
  JSON.stringify(value, (_, v: unknown) =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  )

/**
 * The id of a job: a hash of its content (format version, specialised document, grid point), so
 * that submitting the same run twice names the same job and the queue keeps one copy of it.
 * Problem modules are named by the problem in the document, not by where they are loaded from.
 */
export const jobKey = (payload: JobPayload): string =>
  `run-${createHash("sha256").update(canonicalJson({ version: payload.version, document: payload.document, job: payload.job })).digest("hex").slice(0, 40)}`
