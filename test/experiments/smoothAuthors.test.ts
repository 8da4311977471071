/**
 * The smooth-authors family (the Bloop authors' smooth-MNIST example, docs/experiments.md (g)):
 * its file is the authors' configuration, its smoke version runs end to end through the command
 * line with per-epoch records and the reference-form figures, and the report's computed parts
 * (the family's column, the reference-form points, the per-epoch values) say what ran.
 */
import { execFile } from "node:child_process"
import { access, mkdtemp, readFile, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { promisify } from "node:util"
import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { loadExperiment } from "../../src/experiments/experimentFile.ts"
import { epochValues, familyFacts, lambdaGridText, referenceFormPoints } from "../../src/experiments/referenceReport.ts"
import type { RunRecord } from "../../src/experiments/sweep.ts"
import { sweepFiles } from "../../src/experiments/sweepReport.ts"

const run = promisify(execFile)
const exists = (path: string) => access(path).then(() => true, () => false)

let folder = ""
beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), "scalpel-smooth-authors-"))
})
afterAll(() => rm(folder, { recursive: true, force: true }))

describe("experiment smooth-authors", () => {
  it("is the authors' configuration: full MNIST, Adam 3e-4 constant, batch 256, 25 epochs dropping the last batch, their four methods, logspace(−4, 0, 9)", async () => {
    const full = await Effect.runPromise(loadExperiment("smooth-authors", false))
    const d = full.document
    expect(d.problem).toEqual({ name: "mnist-authors", options: {} })
    expect(d.optimizer).toMatchObject({ kind: "adam", learningRate: 3e-4, beta1: 0.9, beta2: 0.999 })
    expect(d.optimizer.schedule).toBeUndefined()
    expect([d.batchSize, d.epochs, d.sampling, d.steps]).toEqual([256, 25, "epochs-drop-last", undefined])
    expect(d.method).toEqual({ name: "bloop", options: { rho: 0.01, emaOrder: "before", emaInit: "parameters" } })
    expect(full.grid.methods).toEqual(["weighted-sum", "bloop", "pcgrad", "dynamic-barrier"])
    expect(lambdaGridText(full.grid.lambdas)).toBe("logspace(-4, 0, 9)")
    expect(full.grid.seeds).toBeGreaterThanOrEqual(1)
  })

  it("--smoke trains every grid point with per-epoch records and writes the reference-form and per-epoch figures", { timeout: 300_000 }, async () => {
    const experiment = await Effect.runPromise(loadExperiment("smooth-authors", true))
    const out = join(folder, "smoke")
    await run(process.execPath, ["--import", "tsx", "src/cli/main.ts", "experiment", "smooth-authors", "--smoke", "--jobs", "1", "--out", out], {
      env: { ...process.env, SCALPEL_BACKEND: "wasm" },
    })
    const files = sweepFiles("smooth-authors")
    const { records } = JSON.parse(await readFile(join(out, files.records), "utf8")) as { records: ReadonlyArray<RunRecord> }
    const { grid } = experiment
    expect(records).toHaveLength(grid.methods.length * grid.lambdas.length * grid.seeds)
    // 600 training digits in batches of 256, the incomplete batch dropped: 2 steps an epoch.
    const epochs = experiment.document.epochs!
    for (const r of records) {
      expect(r.epochs?.steps).toEqual(Array.from({ length: epochs }, (_, e) => 2 * (e + 1)))
      for (const name of ["ce:test", "accuracy:test", "lipschitz"]) expect(r.epochs?.values[name]).toHaveLength(epochs)
      expect(r.epochs!.values["lipschitz"]!.at(-1)).toBeCloseTo(r.auxTest, 5)
    }
    for (const file of [files.trainPlot, files.testPlot, files.referenceTrainPlot, files.referenceTestPlot, files.epochPlot]) expect(await exists(join(out, file)), file).toBe(true)
    const report = await readFile(join(out, files.report), "utf8")
    expect(report).toMatch(/\| training \| batch 256, 25 epochs \(234 steps each, incomplete batch dropped\) = 5,850 steps \| batch 256, 2 epochs of 2 steps \(epochs-drop-last\) = 4 steps \|/)
    expect(report).toMatch(/On training losses, /)
    expect(report).toContain("Bloop's front against each method's")
  })
})

const record = (method: string, lambda: number, mainTrain: number, auxTrain: number, epochs?: RunRecord["epochs"]): RunRecord => ({
  method,
  lambda,
  seed: 1,
  mainTrain,
  auxTrain,
  mainTest: mainTrain + 0.1,
  auxTest: auxTrain,
  heldOut: true,
  metrics: {},
  wallTimeMs: 1,
  backend: "cpu",
  ...(epochs === undefined ? {} : { epochs }),
})

describe("the reference report's computed parts", () => {
  it("reference-form points: x is the main loss, y is exp(aux), averaged over seeds after exponentiating", () => {
    const points = referenceFormPoints([record("bloop", 0.1, 0.5, Math.log(4)), { ...record("bloop", 0.1, 0.7, Math.log(16)), seed: 2 }], "train")
    expect(points).toHaveLength(1)
    expect(points[0]!.aux).toBeCloseTo(0.6, 12) // the x axis: main loss
    expect(points[0]!.main).toBeCloseTo(10, 12) // the y axis: mean of 4 and 16, not exp of the mean log (8)
  })

  it("per-epoch values at the closest λ: the epoch mean train loss, test loss, accuracy and exp(aux)", () => {
    const epochs = { steps: [3, 6], trainMain: [1, 0.5], trainAux: [2, 2], values: { "ce:test": [1.1, 0.6], "accuracy:test": [0.8, 0.9], lipschitz: [Math.log(5), Math.log(3)] } }
    const values = epochValues([record("bloop", 0.01, 0.5, 1, epochs), record("bloop", 1, 0.5, 1, { ...epochs, trainMain: [9, 9] })], 0.02, { test: "ce:test", accuracy: "accuracy:test", aux: "lipschitz" }, "bound")
    expect(values.filter((v) => v.panel === "bound").map((v) => [v.x, Number(v.y.toFixed(9))])).toEqual([[1, 5], [2, 3]])
    expect(values.filter((v) => v.panel.startsWith("train")).map((v) => v.y)).toEqual([1, 0.5])
    expect(values.filter((v) => v.panel === "test accuracy").map((v) => v.y)).toEqual([0.8, 0.9])
  })

  it("the family's column reads the run length from the records and the options from the document", async () => {
    const full = await Effect.runPromise(loadExperiment("smooth-authors", false))
    const epochs = { steps: [234, 468], trainMain: [1, 1], trainAux: [1, 1], values: {} }
    const facts = familyFacts({ document: full.document, problemOptions: { trainSize: 60000, testSize: 10000, hidden: [256, 128] }, grid: full.grid }, [record("bloop", 1, 1, 1, epochs)])
    expect(facts.training).toBe("batch 256, 25 epochs of 234 steps (epochs-drop-last) = 468 steps")
    expect(facts.data).toBe("60000 train / 10000 test digits (problem `mnist-authors`)")
    expect(facts.methods).toContain('bloop {"rho":0.01,"emaOrder":"before","emaInit":"parameters"}')
    expect(facts.lambda).toBe("logspace(-4, 0, 9)")
  })
})
