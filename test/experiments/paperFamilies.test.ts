/**
 * The reduced ("smoke") version of the paper's experiment families (docs/experiments.md (b)–(f)),
 * end to end through the command line: every grid point ran once, the files each family promises
 * exist (fronts, and the metric, mixed-loss and trajectory figures where declared), and the
 * report says when there is no held-out data. The pipeline, not the conclusion.
 */
import { execFile } from "node:child_process"
import { access, mkdtemp, readFile, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { promisify } from "node:util"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { loadExperiment } from "../../src/experiments/experimentFile.ts"
import { sweepFiles } from "../../src/experiments/sweepReport.ts"
import { Effect } from "effect"

const run = promisify(execFile)
const paperMethods = ["bloop", "weighted-sum", "pcgrad", "dynamic-barrier", "bloop-no-ema"]

let folder = ""
beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), "scalpel-paper-smoke-"))
})
afterAll(() => rm(folder, { recursive: true, force: true }))

const exists = (path: string) => access(path).then(() => true, () => false)

describe.each([
  ["quadratic", "1"],
  ["smooth", "1"],
  ["mnist-multitask", "1"],
  ["mnist-joint", "2"],
  ["ema-ablation", "1"],
])("experiment %s --smoke (jobs %s)", (name, jobs) => {
  it("runs every grid point and writes the figures its file declares", { timeout: 300_000 }, async () => {
    const experiment = await Effect.runPromise(loadExperiment(name, true))
    const full = await Effect.runPromise(loadExperiment(name, false))
    if (name !== "ema-ablation") expect(full.grid.methods).toEqual(paperMethods)
    expect(full.grid.seeds).toBeGreaterThanOrEqual(3)
    // §5.2's grid: log₁₀ λ ∈ {−4, −3.5, …, 0}.
    if (name === "smooth") {
      const halfDecades = full.grid.lambdas.map((l) => 2 * Math.log10(l))
      expect(halfDecades.map(Math.round)).toEqual([-8, -7, -6, -5, -4, -3, -2, -1, 0])
      for (const h of halfDecades) expect(Math.abs(h - Math.round(h))).toBeLessThan(1e-9)
    }
    const out = join(folder, name)
    await run(process.execPath, ["--import", "tsx", "src/cli/main.ts", "experiment", name, "--smoke", "--jobs", jobs, "--out", out], {
      env: { ...process.env, SCALPEL_BACKEND: "wasm" },
    })
    const files = sweepFiles(name)
    const { records } = JSON.parse(await readFile(join(out, files.records), "utf8")) as {
      records: ReadonlyArray<{ method: string; heldOut: boolean; trajectory?: { steps: ReadonlyArray<number> } }>
    }
    const { grid } = experiment
    expect(records).toHaveLength(grid.methods.length * grid.lambdas.length * grid.seeds)
    expect(new Set(records.map((r) => r.method))).toEqual(new Set(grid.methods))
    expect(await exists(join(out, files.trainPlot))).toBe(true)
    const heldOut = records.some((r) => r.heldOut)
    expect(await exists(join(out, files.testPlot))).toBe(heldOut)
    const report = await readFile(join(out, files.report), "utf8")
    if (!heldOut) expect(report).toContain("no held-out data")
    // λ is stated to four significant digits (the smooth smoke grid has 10^-0.5), not to 17.
    if (name === "smooth") expect(report).toMatch(/λ ∈ \{0\.01, 0\.3162\}/)
    expect(await exists(join(out, files.metricPlot))).toBe(experiment.figures.metric !== undefined)
    expect(await exists(join(out, files.mixedPlot))).toBe(experiment.figures.mixedLoss === true)
    expect(await exists(join(out, files.trajectoryPlot))).toBe(experiment.figures.trajectoryLambda !== undefined)
    if (grid.trajectoryEvery !== undefined) {
      for (const r of records) expect(r.trajectory?.steps.at(-1)).toBe(experiment.document.steps)
    }
  })
})
