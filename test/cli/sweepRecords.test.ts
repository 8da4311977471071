/**
 * A sweep interrupted between runs (#12 point 7) keeps the records of the runs that finished, and
 * running it again into the same folder reuses them and trains only the rest.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { cli, cliSignalled } from "../support/cli.ts"
import { leastSquaresSpec } from "../support/specFixtures.ts"

let folder = ""
beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), "scalpel-sweep-records-"))
})
afterAll(() => rm(folder, { recursive: true, force: true }))

const records = async (out: string) => (await readdir(join(out, "runs")).catch(() => [] as Array<string>)).filter((n) => n.endsWith(".json")).sort()

describe("scalpel sweep interrupted mid-sweep", () => {
  it("keeps the finished run's record and resumes from it", { timeout: 600_000 }, async () => {
    const spec = join(folder, "sweep.json")
    // 1500 steps: each run lasts seconds, so the signal sent when the first record appears arrives
    // during the second run.
    await writeFile(
      spec,
      JSON.stringify(leastSquaresSpec({ steps: 1500, batchSize: 4 })),
    )
    const out = join(folder, "out")
    const args = ["sweep", spec, "--method", "weighted-sum", "--lambda", "0.1,1", "--seeds", "1", "--jobs", "1", "--out", out]
    const interrupted = await cliSignalled(args, { when: async () => (await records(out)).length > 0 })
    expect(interrupted.signalled, interrupted.stdout + interrupted.stderr).toBe(true)
    expect(interrupted.stderr).not.toContain("internal error")
    const kept = await records(out)
    expect(kept).toEqual(["weighted-sum_lambda-0.1_seed-1.json"])
    const first = await readFile(join(out, "runs", kept[0]!), "utf8")
    // No report was written: the sweep did not finish.
    expect((await readdir(out)).filter((n) => n.endsWith("-table.md"))).toEqual([])

    const again = await cli(args)
    expect(again.code, again.stderr).toBe(0)
    expect(again.stdout).toContain(`reusing 1 finished run(s) from ${join(out, "runs")}`)
    expect(again.stdout).toMatch(/^\[2\/2\] weighted-sum\s+λ=1/m)
    expect(again.stdout).not.toMatch(/^\[\d\/2\] weighted-sum\s+λ=0\.1/m)
    expect(await records(out)).toEqual(["weighted-sum_lambda-0.1_seed-1.json", "weighted-sum_lambda-1_seed-1.json"])
    expect(await readFile(join(out, "runs", kept[0]!), "utf8")).toBe(first)
  })
})
