/**
 * The reduced ("smoke") version of the Iris family (a) bias, end to end through the command line
 * (the paper's families are in paperFamilies.test.ts):
 * it checks the pipeline (files written, valid SVG, every method in the table), not the
 * conclusion, which needs the full runs (`npm run experiment:NAME`).
 */
import { execFile } from "node:child_process"
import { mkdtemp, readFile, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { promisify } from "node:util"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { sweepFiles } from "../../src/experiments/sweepReport.ts"

const run = promisify(execFile)
const methods = ["bloop", "weighted-sum", "pcgrad", "dynamic-barrier", "bloop-no-ema"]

let folder = ""
beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), "scalpel-smoke-"))
})
afterAll(() => rm(folder, { recursive: true, force: true }))

/** An SVG document vega rendered: one root element, closed, with the axis titles and a legend entry per method. */
const expectValidSvg = (svg: string, axisTitle: string) => {
  expect(svg.startsWith("<svg")).toBe(true)
  expect(svg.trimEnd().endsWith("</svg>")).toBe(true)
  expect(svg.match(/<svg/g)).toHaveLength(1)
  expect(svg).toContain(axisTitle)
  for (const m of methods) expect(svg).toContain(`>${m}</text>`)
}

// Trained in this process's children one at a time (paperFamilies.test.ts covers two worker processes).
describe.each([["bias", "1", "½‖θ‖² (auxiliary)"]])("experiment %s --smoke (jobs %s)", (name, jobs, auxLabel) => {
  it("writes results, a table with every method, two valid SVG fronts and a report", async () => {
    const out = join(folder, name)
    const { stdout } = await run(process.execPath, ["--import", "tsx", "src/cli/main.ts", "experiment", name, "--smoke", "--jobs", jobs, "--out", out], {
      env: { ...process.env, SCALPEL_BACKEND: "wasm" },
    })
    expect(stdout).toMatch(/\[10\/10\]/)
    const files = sweepFiles(name)
    const results = JSON.parse(await readFile(join(out, files.records), "utf8")) as { records: ReadonlyArray<{ method: string }> }
    expect(results.records).toHaveLength(10)
    expect(new Set(results.records.map((r) => r.method))).toEqual(new Set(methods))
    const table = await readFile(join(out, files.table), "utf8")
    for (const m of methods) expect(table).toMatch(new RegExp(`^\\| ${m} \\|`, "m"))
    expect((await readFile(join(out, files.csv), "utf8")).trimEnd().split("\n")).toHaveLength(11)
    expectValidSvg(await readFile(join(out, files.trainPlot), "utf8"), auxLabel)
    expectValidSvg(await readFile(join(out, files.testPlot), "utf8"), auxLabel)
    const report = await readFile(join(out, files.report), "utf8")
    expect(report).toContain(`](${files.trainPlot})`)
    expect(report).toMatch(/On training losses, /)
    expect(report).toMatch(/On held-out losses, /)
  })
})
