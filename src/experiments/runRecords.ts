/**
 * Per-run records of a sweep, written as each run finishes, so that a sweep that is interrupted or
 * fails keeps what it computed, and running it again into the same folder trains only the runs
 * that are missing.
 *
 * Format (one JSON file per run, `<out>/runs/<method>_lambda-<λ>_seed-<seed>_<digest>.json`, the
 * digest being the first 12 hex digits of the job's spec digest (`specRecordOf`: the SHA-256 of the
 * document's sorted-key JSON, as checkpoints hold it), so that sweeps of different specs into one
 * folder — the experiment families share `docs/figures` — keep their records apart instead of
 * overwriting each other's):
 *
 * ```json
 * { "format": "scalpel-run-record", "version": 1,
 *   "job": { "method": "bloop", "lambda": 0.1, "seed": 3 },
 *   "document": { ...the job's whole spec document, every default written out... },
 *   "record": { ...the RunRecord: mainTrain, auxTrain, mainTest, auxTest, metrics, wallTimeMs, backend... } }
 * ```
 *
 * A record is reused only when its `document` equals the job's document exactly (same problem,
 * options, structure, λ, method options, optimizer, steps, batch size, seed): a changed spec trains
 * again. Anything that writes the same files (a distributed worker, for instance) shares this.
 */
import { mkdir, readFile, rename, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { Effect } from "effect"
import { encodeSpecDocument, type SpecDocument } from "../dsl/json.ts"
import { specRecordOf } from "../training/specRecord.ts"
import type { RunRecord, SweepJob } from "./sweep.ts"
import { OutputError } from "./sweepReport.ts"

/** The folder of the records inside a sweep's output folder. */
export const recordsFolder = (out: string): string => join(out, "runs")

/** The document as it is stored in a record (and compared on reuse). */
const encodedDocument = (document: SpecDocument): string => JSON.stringify(encodeSpecDocument(document))

/** The file name of a job's record for `document` (the digest is the checkpoints' spec digest, cut to 12 hex digits). */
export const recordFileName = (job: SweepJob, document: SpecDocument): string =>
  `${job.method.replace(/[^A-Za-z0-9.-]/g, "-")}_lambda-${job.lambda}_seed-${job.seed}_${specRecordOf(encodeSpecDocument(document)).digest.slice(0, 12)}.json`

/** The JSON text of one record file. */
export const recordText = (job: SweepJob, document: SpecDocument, record: RunRecord): string =>
  `${JSON.stringify({ format: "scalpel-run-record", version: 1, job, document: encodeSpecDocument(document), record }, null, 2)}\n`

/** Write a job's record (atomically: a temporary file renamed into place). */
export const writeRunRecord = (out: string, job: SweepJob, document: SpecDocument, record: RunRecord): Effect.Effect<void, OutputError> => {
  const folder = recordsFolder(out)
  const path = join(folder, recordFileName(job, document))
  return Effect.tryPromise({
    try: async () => {
      await mkdir(folder, { recursive: true })
      await writeFile(`${path}.${process.pid}.tmp`, recordText(job, document, record))
      await rename(`${path}.${process.pid}.tmp`, path)
    },
    catch: (error) => new OutputError({ path, reason: error instanceof Error ? error.message : String(error) }),
  })
}

/** The record of `job` saved in `out` for exactly `document`, if there is one (unreadable or different files count as none). */
export const readRunRecord = (out: string, job: SweepJob, document: SpecDocument): Effect.Effect<RunRecord | undefined> =>
  Effect.promise(async () => {
    try {
      const saved = JSON.parse(await readFile(join(recordsFolder(out), recordFileName(job, document)), "utf8")) as {
        readonly format?: unknown
        readonly document?: unknown
        readonly record?: RunRecord
      }
      const same = saved.format === "scalpel-run-record" && JSON.stringify(saved.document) === encodedDocument(document)
      return same ? saved.record : undefined
    } catch {
      return undefined
    }
  })
