/** `scalpel run --workers N`: data-parallel gradients from the command line. */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { cli } from "../support/cli.ts"
import { irisSpec } from "../support/specFixtures.ts"


let folder = ""
const spec = irisSpec({ steps: 6 })

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), "scalpel-workers-"))
  await writeFile(join(folder, "one.json"), JSON.stringify(spec))
  await writeFile(join(folder, "two.json"), JSON.stringify({ ...spec, workers: 2 }))
})
afterAll(() => rm(folder, { recursive: true, force: true }))

const losses = async (out: string) =>
  (await readFile(join(out, "events.jsonl"), "utf8"))
    .trimEnd()
    .split("\n")
    .map((l) => (JSON.parse(l) as { losses: Record<string, number> }).losses)

describe("scalpel run --workers", () => {
  it("the spec's workers: 2 and --workers 2 train the same run as one thread, up to float32 rounding", async () => {
    const results = await Promise.all([
      cli(["run", join(folder, "one.json"), "--out", join(folder, "one")]),
      cli(["run", join(folder, "two.json"), "--out", join(folder, "two")]),
      cli(["run", join(folder, "one.json"), "--workers", "2", "--out", join(folder, "flag")]),
    ])
    for (const r of results) expect(r.code, r.stderr).toBe(0)
    const reference = await losses(join(folder, "one"))
    const parallel = await losses(join(folder, "two"))
    expect(await losses(join(folder, "flag"))).toEqual(parallel)
    expect(parallel).toHaveLength(spec.steps)
    for (const [t, step] of parallel.entries()) {
      for (const [name, value] of Object.entries(step)) expect(Math.abs(value - reference[t]![name]!)).toBeLessThanOrEqual(1e-5 * Math.abs(value) + 1e-7)
    }
  }, 300_000)

  it("refuses a number of workers that is not a positive integer, in one line", async () => {
    const r = await cli(["run", join(folder, "one.json"), "--workers", "0", "--out", join(folder, "zero")])
    expect(r.code).toBe(1)
    expect(r.stderr + r.stdout).toMatch(/number of workers must be a positive integer, got 0/)
    expect(r.stderr).not.toMatch(/\n\s+at /)
  }, 300_000)
})
