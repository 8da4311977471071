import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Either } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { tf, type Tensor } from "../../src/core/tf.ts"
import { fromModel } from "../../src/dsl/model.ts"
import { makeSpec, sgd } from "../../src/dsl/spec.ts"
import { objective } from "../../src/dsl/objective.ts"
import { ModelFileError, registerFileSystemIo } from "../../src/node/index.ts"
import { fromWeights } from "../../src/training/weights.ts"
import { readWeights, writeWeights } from "../../src/training/weightsFile.ts"
import { useCpuBackend } from "../support/cpuBackend.ts"

useCpuBackend()

let folder = ""
beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), "scalpel-fileio-"))
})
afterAll(() => rm(folder, { recursive: true, force: true }))

const model = () =>
  tf.sequential({
    layers: [
      tf.layers.dense({ name: "hidden", units: 5, inputShape: [3], activation: "relu", kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }),
      tf.layers.batchNormalization({ name: "norm" }),
      tf.layers.dropout({ rate: 0.3 }),
      tf.layers.dense({ name: "out", units: 2, kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }) }),
    ],
  })

const predict = (m: tf.LayersModel, x: Tensor): Array<number> => tf.tidy(() => Array.from((m.predict(x) as Tensor).dataSync()))
const bits = (values: ArrayLike<number>): Array<number> => Array.from(new Uint32Array(Float32Array.from(values).buffer))

describe("file:// model files without tfjs-node (scalpel/node registers the handlers)", () => {
  it("importing scalpel/node registers exactly one save and one load handler for file://", () => {
    expect(registerFileSystemIo()).toBe(true) // already registered by the import: not twice
    expect(tf.io.getSaveHandlers(`file://${folder}/m`)).toHaveLength(1)
    expect(tf.io.getLoadHandlers(`file://${folder}/m/model.json`)).toHaveLength(1)
  })

  it("model.save writes tfjs-node's layout (nested folders created) and tf.loadLayersModel reads it back with identical predictions", async () => {
    const m = model()
    // Move the batch-norm statistics away from their start so that non-trainable weights are checked too.
    const moving = m.getLayer("norm").getWeights()
    m.getLayer("norm").setWeights(moving.map((w, i) => tf.add(w, (i + 1) * 0.25)))
    const x = tf.randomNormal([4, 3], 0, 1, "float32", 7)
    const dir = join(folder, "a", "b", "model")
    const result = await m.save(`file://${dir}`)
    expect(result.modelArtifactsInfo.weightDataBytes).toBe(m.getWeights().reduce((n, w) => n + 4 * w.size, 0))
    const json = JSON.parse(await readFile(join(dir, "model.json"), "utf8")) as Record<string, unknown> & { weightsManifest: Array<{ paths: Array<string>; weights: Array<{ name: string }> }> }
    expect(Object.keys(json)).toEqual(expect.arrayContaining(["modelTopology", "format", "generatedBy", "convertedBy", "weightsManifest"]))
    expect(json.format).toBe("layers-model")
    expect(json.weightsManifest).toHaveLength(1)
    expect(json.weightsManifest[0]!.paths).toEqual(["weights.bin"])
    expect(json.weightsManifest[0]!.weights.map((w) => w.name)).toEqual(m.weights.map((w) => w.originalName))
    expect((await stat(join(dir, "weights.bin"))).size).toBe(result.modelArtifactsInfo.weightDataBytes)

    const loaded = await tf.loadLayersModel(`file://${dir}/model.json`)
    expect(bits(predict(loaded, x))).toEqual(bits(predict(m, x)))
    for (const [a, b] of loaded.getWeights().map((w, i) => [w, m.getWeights()[i]!] as const)) expect(bits(a.dataSync())).toEqual(bits(b.dataSync()))
    loaded.dispose()
    m.dispose()
    tf.dispose([x, ...moving])
  })

  it("fails with a ModelFileError naming the file and the problem", async () => {
    const missing = join(folder, "nothing", "model.json")
    const error = await tf.loadLayersModel(`file://${missing}`).then(() => undefined, (e: unknown) => e)
    expect(error).toBeInstanceOf(ModelFileError)
    expect((error as ModelFileError).message).toBe(`model file '${missing}': no such file or folder`)
    const asFolder = await tf.loadLayersModel(`file://${folder}`).then(() => undefined, (e: unknown) => e)
    expect((asFolder as ModelFileError).message).toMatch(/is a folder: name the model\.json inside it/)
    const file = join(folder, "plain-file")
    await writeFile(file, "x")
    const m = model()
    const onFile = await m.save(`file://${file}`).then(() => undefined, (e: unknown) => e)
    expect((onFile as ModelFileError).message).toBe(`model file '${file}': exists and is a file, not a folder`)
    m.dispose()
  })
})

describe("weights of a spec: model.json + weights.bin", () => {
  it("writeWeights creates missing folders, and readWeights + fromWeights give the same values back bit for bit", async () => {
    const values = [1.5, -0, 3.4028234663852886e38, 1e-45, Math.PI, -7e-39]
    const w = tf.tensor(values, [3, 2], "float32")
    const b = tf.tensor([0.1], [1], "float32")
    const dir = join(folder, "x", "y", "weights")
    await Effect.runPromise(writeWeights(dir, { w, b }))
    const json = JSON.parse(await readFile(join(dir, "model.json"), "utf8")) as { format: string; weightsManifest: Array<{ paths: Array<string> }> }
    expect(json.format).toBe("scalpel-weights")
    expect(json.weightsManifest[0]!.paths).toEqual(["weights.bin"])
    const back = await Effect.runPromise(readWeights(dir))
    expect(bits(back.w!.values)).toEqual(bits(w.dataSync()))
    expect(back.w!.shape).toEqual([3, 2])
    // Loaded back as a spec's starting point: the parameters hold exactly the saved values.
    const fit = objective("fit", (p) => tf.sum(tf.square(p.w!)), { name: "one", size: 1, batch: () => ({}) })
    const spec = Either.getOrThrow(makeSpec({ parameters: fromWeights(back), structure: fit, optimizer: sgd({ learningRate: 0.1 }), steps: 1, batchSize: 1 }))
    expect(spec.parameters.w!.init).toEqual({ kind: "values", values: back.w!.values })
    expect(Object.keys(spec.parameters).sort()).toEqual(["b", "w"])
    tf.dispose([w, b])
  })

  it("the file:// load handler reads a weights folder too (tf.io.decodeWeights on its artifacts)", async () => {
    const w = tf.tensor([2, -3, 0.5], [3], "float32")
    const dir = join(folder, "viaTfjs")
    await Effect.runPromise(writeWeights(dir, { w }))
    const artifacts = await tf.io.getLoadHandlers(`file://${dir}/model.json`)[0]!.load!()
    const decoded = tf.io.decodeWeights(artifacts.weightData!, artifacts.weightSpecs!)
    expect(Array.from(decoded.w!.dataSync())).toEqual([2, -3, 0.5])
    tf.dispose([w, ...Object.values(decoded)])
  })

  it("readWeights reads a run folder from before model.json (weights.json) and a model.save folder by fromModel's names", async () => {
    const w = tf.tensor([4, 5], [2], "float32")
    const old = join(folder, "old")
    await Effect.runPromise(writeWeights(old, { w }))
    const text = await readFile(join(old, "model.json"), "utf8")
    await rm(join(old, "model.json"))
    await writeFile(join(old, "weights.json"), text)
    expect(Array.from((await Effect.runPromise(readWeights(old))).w!.values)).toEqual([4, 5])

    const m = model()
    const dir = join(folder, "saved")
    await m.save(`file://${dir}`)
    const weights = await Effect.runPromise(readWeights(dir))
    for (const name of Object.keys(fromModel(m))) expect(Array.from(weights[name]!.values)).toEqual(Array.from(m.getWeights()[m.weights.findIndex((v) => v.originalName === name)]!.dataSync()))
    m.dispose()
    tf.dispose(w)
  })

  it("a missing folder is a WeightsError naming it", async () => {
    const missing = join(folder, "absent")
    const result = await Effect.runPromise(Effect.either(readWeights(missing)))
    expect(Either.isLeft(result) && result.left.message).toBe(`weights '${missing}': no such file or folder`)
  })
})
