/**
 * A sweep worker process (see `pool.ts`): selects the backend once (`SCALPEL_BACKEND`) and loads
 * the sweep's problem modules (`SCALPEL_PROBLEM_MODULES`), then trains each job it receives and
 * answers with its record or a one-line reason.
 */
import { Cause, Effect, Either, Exit } from "effect"
import { BackendLive, Backend } from "../core/backend.ts"
import { decodeSpecDocument } from "../dsl/json.ts"
import { interpreterModulesVariable, problemModulesVariable, type WorkerReply, type WorkerRequest } from "./pool.ts"
import { loadInterpreterModules } from "./interpreterModules.ts"
import { loadProblemModules } from "./problemModules.ts"
import { runDocument } from "./sweep.ts"

const reasonOf = (error: unknown): string => (error instanceof Error ? error.message : String(error))

const reply = (message: WorkerReply) => process.send?.(message)

const modules = JSON.parse(process.env[problemModulesVariable] ?? "[]") as ReadonlyArray<string>
const interpreterModules = JSON.parse(process.env[interpreterModulesVariable] ?? "[]") as ReadonlyArray<string>

const ready = Effect.runPromise(
  Effect.zipRight(
    Effect.provide(Backend, BackendLive),
    Effect.all({ catalogue: loadProblemModules(modules), registry: loadInterpreterModules(interpreterModules) }),
  ),
).then(
  (loaded) => Either.right(loaded),
  (error: unknown) => Either.left(reasonOf(error)),
)

process.on("message", (request: WorkerRequest) => {
  void ready.then(async (loaded) => {
    if (Either.isLeft(loaded)) return reply({ ok: false, reason: loaded.left })
    const decoded = decodeSpecDocument(request.document)
    if (Either.isLeft(decoded)) return reply({ ok: false, reason: decoded.left.message })
    const outcome = await Effect.runPromiseExit(runDocument(decoded.right, request.job, loaded.right.catalogue, loaded.right.registry))
    return reply(Exit.isSuccess(outcome) ? { ok: true, record: outcome.value } : { ok: false, reason: reasonOf(Cause.squash(outcome.cause)) })
  })
})

process.on("disconnect", () => process.exit(0))
