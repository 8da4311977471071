import { execFile } from "node:child_process"
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { promisify } from "node:util"
import { Effect, Either } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { tf } from "../../src/core/tf.ts"
import { parseSpecDocument } from "../../src/dsl/json.ts"
import { methodNamed } from "../../src/interpreters/method.ts"
import { resolveSpecJson } from "../../src/problems/resolveSpec.ts"
import { train } from "../../src/training/train.ts"
import { decodeWeights, encodeWeights } from "../../src/training/weights.ts"
import { readWeights } from "../../src/training/weightsFile.ts"
import { useCpuBackend } from "../support/cpuBackend.ts"

useCpuBackend()

const spec = {
  problem: { name: "least-squares", options: { examples: 12, dimensions: 24 } },
  structure: { kind: "prioritize", main: "fit", aux: "prior", lambda: 0.5 },
  method: { name: "bloop", options: { rho: 0.05 } },
  optimizer: { kind: "sgd", learningRate: 0.3 },
  steps: 40,
  batchSize: 4,
  seed: 5,
}

let folder = ""
beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), "scalpel-weights-"))
  await writeFile(join(folder, "spec.json"), JSON.stringify(spec))
})
afterAll(() => rm(folder, { recursive: true, force: true }))

describe("scalpel run writes the final weights and the resolved spec", () => {
  it("model.json + weights.bin hold, bit for bit, the parameters the same run gives in-process; spec.json is the resolved spec", async () => {
    const out = join(folder, "out")
    await promisify(execFile)(process.execPath, ["--import", "tsx", "src/cli/main.ts", "run", join(folder, "spec.json"), "--out", out, "--backend", "cpu"])
    const written = await Effect.runPromise(readWeights(out))
    const text = JSON.stringify(spec)
    const inProcess = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const resolved = yield* Effect.acquireRelease(resolveSpecJson(text), (r) => Effect.sync(r.problem.dispose))
          const result = yield* train(resolved.spec, methodNamed(resolved.method.name, resolved.method.options))
          const values = Object.fromEntries(Object.entries(result.parameters).map(([n, t]) => [n, { shape: t.shape, values: Array.from(t.dataSync()) }]))
          tf.dispose(Object.values(result.parameters))
          return values
        }),
      ),
    )
    expect(Object.keys(written)).toEqual(["w"])
    expect({ shape: [...written.w!.shape], values: Array.from(written.w!.values) }).toEqual(inProcess.w)
    // TensorFlow.js reads the same files with its own decoder.
    const manifest = JSON.parse(await readFile(join(out, "model.json"), "utf8")) as { weightsManifest: [{ paths: [string]; weights: Array<tf.io.WeightsManifestEntry> }] }
    expect(manifest.weightsManifest[0].paths).toEqual(["weights.bin"])
    const bytes = await readFile(join(out, "weights.bin"))
    const decoded = tf.io.decodeWeights(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength), manifest.weightsManifest[0].weights)
    expect(Array.from(decoded.w!.dataSync())).toEqual(inProcess.w!.values)
    tf.dispose(Object.values(decoded))
    // The resolved spec: the same document with every default written out.
    const copy = JSON.parse(await readFile(join(out, "spec.json"), "utf8")) as Record<string, unknown>
    expect(copy).toMatchObject({ ...spec, nonFinite: "fail" })
    expect(parseSpecDocument(JSON.stringify(copy))).toEqual(parseSpecDocument(text))
  })
})

describe("the weights format", () => {
  it("round-trips any float32 values exactly (NaN payloads aside), in name order", () => {
    const a = tf.tensor([[1.5, -0], [Number.MAX_VALUE, 1e-45]], [2, 2], "float32")
    const b = tf.tensor([Math.PI], [1], "float32")
    const { manifest, data } = encodeWeights({ b, a })
    expect(manifest.weightsManifest[0]!.weights.map((w) => w.name)).toEqual(["a", "b"])
    const back = Either.getOrThrow(decodeWeights(JSON.parse(JSON.stringify(manifest)), data))
    expect(Array.from(back.a!.values)).toEqual(Array.from(a.dataSync()))
    expect(Object.is(back.a!.values[1], -0)).toBe(true)
    expect(Array.from(back.b!.values)).toEqual(Array.from(b.dataSync()))
    tf.dispose([a, b])
  })

  it("names what is wrong with a bad pair of files", () => {
    const w = tf.ones([3])
    const { manifest, data } = encodeWeights({ w })
    const problem = (m: unknown, d: Uint8Array) => {
      const r = decodeWeights(m, d, "run")
      return Either.isLeft(r) ? r.left.message : "accepted"
    }
    expect(problem(manifest, data)).toBe("accepted")
    expect(problem(manifest, data.subarray(0, 8))).toMatch(/^weights 'run': values file too short: 'w' needs bytes 0\.\.12, the file has 8$/)
    expect(problem(manifest, new Uint8Array(16))).toMatch(/4 bytes beyond the listed weights/)
    expect(problem({ ...manifest, version: 2 }, data)).toMatch(/format version 2 is not supported/)
    expect(problem({ nope: 1 }, data)).toMatch(/"format": "scalpel-weights"/)
    tf.dispose(w)
  })
})
