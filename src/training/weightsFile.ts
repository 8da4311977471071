/**
 * Reading and writing a run's weights files (`weights.json` and `weights.bin` in a folder; format
 * in `weights.ts`). Node only: exported by the `scalpel/node` entry.
 */
import { readFile, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { Effect } from "effect"
import type { Params } from "../dsl/objective.ts"
import type { HostTensor } from "./checkpointFormat.ts"
import { decodeWeights, encodeWeights, WeightsError } from "./weights.ts"

const reason = (error: unknown) => (error instanceof Error ? error.message : String(error))

/**
 * Write `parameters` to `folder/weights.bin` and `folder/weights.json` (the values file first, so
 * a manifest never points at values that are not there yet).
 */
export const writeWeights = (folder: string, parameters: Params): Effect.Effect<void, WeightsError> =>
  Effect.gen(function* () {
    const { manifest, data } = encodeWeights(parameters, "weights.bin")
    const binPath = join(folder, "weights.bin")
    const jsonPath = join(folder, "weights.json")
    yield* Effect.tryPromise({ try: () => writeFile(binPath, data), catch: (e) => new WeightsError({ path: binPath, problem: reason(e) }) })
    yield* Effect.tryPromise({
      try: () => writeFile(jsonPath, `${JSON.stringify(manifest, null, 2)}\n`),
      catch: (e) => new WeightsError({ path: jsonPath, problem: reason(e) }),
    })
  })

/** Read the weights a run wrote to `folder`, by parameter name. */
export const readWeights = (folder: string): Effect.Effect<Record<string, HostTensor>, WeightsError> =>
  Effect.gen(function* () {
    const jsonPath = join(folder, "weights.json")
    const text = yield* Effect.tryPromise({ try: () => readFile(jsonPath, "utf8"), catch: (e) => new WeightsError({ path: jsonPath, problem: reason(e) }) })
    const manifest = yield* Effect.try({ try: () => JSON.parse(text) as unknown, catch: (e) => new WeightsError({ path: jsonPath, problem: `invalid JSON: ${reason(e)}` }) })
    const binPath = join(folder, "weights.bin")
    const data = yield* Effect.tryPromise({ try: () => readFile(binPath), catch: (e) => new WeightsError({ path: binPath, problem: reason(e) }) })
    return yield* decodeWeights(manifest, new Uint8Array(data.buffer, data.byteOffset, data.byteLength), folder)
  })
