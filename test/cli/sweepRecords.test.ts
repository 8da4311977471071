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
    expect(kept).toHaveLength(1)
    expect(kept[0]).toMatch(/^weighted-sum_lambda-0\.1_seed-1_[0-9a-f]{12}\.json$/)
    const first = await readFile(join(out, "runs", kept[0]!), "utf8")
    // No report was written: the sweep did not finish.
    expect((await readdir(out)).filter((n) => n.endsWith("-table.md"))).toEqual([])

    const again = await cli(args)
    expect(again.code, again.stderr).toBe(0)
    expect(again.stdout).toContain(`reusing 1 finished run(s) from ${join(out, "runs")}`)
    expect(again.stdout).toMatch(/^\[2\/2\] weighted-sum\s+λ=1/m)
    expect(again.stdout).not.toMatch(/^\[\d\/2\] weighted-sum\s+λ=0\.1/m)
    const both = await records(out)
    expect(both).toHaveLength(2)
    expect(both[0]).toBe(kept[0])
    expect(both[1]).toMatch(/^weighted-sum_lambda-1_seed-1_[0-9a-f]{12}\.json$/)
    expect(await readFile(join(out, "runs", kept[0]!), "utf8")).toBe(first)
  })
})

describe("scalpel sweep --learning-rate-scaling", () => {
  const learningRates = async (out: string) => {
    const rates: Record<string, number> = {}
    for (const name of await records(out)) {
      const saved = JSON.parse(await readFile(join(out, "runs", name), "utf8")) as {
        job: { lambda: number }
        document: { optimizer: { learningRate: number } }
      }
      rates[String(saved.job.lambda)] = saved.document.optimizer.learningRate
    }
    return rates
  }

  it("trains each λ at the spec's rate × 1/(1 + λ) and records that rate (so that a rerun reuses the records); without the option, the spec's rate", { timeout: 120_000 }, async () => {
    const spec = join(folder, "scaled.json")
    await writeFile(spec, JSON.stringify(leastSquaresSpec({ optimizer: { kind: "sgd", learningRate: 0.4 } })))
    const grid = ["--method", "weighted-sum", "--lambda", "1,3", "--seeds", "1", "--jobs", "1"]
    const scaledOut = join(folder, "scaled")
    const scaled = await cli(["sweep", spec, ...grid, "--learning-rate-scaling", "inverse-one-plus-lambda", "--out", scaledOut])
    expect(scaled.code, scaled.stderr).toBe(0)
    expect(await learningRates(scaledOut)).toEqual({ "1": 0.2, "3": 0.1 })
    // The records hold the documents the jobs trained, so the same sweep again reuses them all.
    const again = await cli(["sweep", spec, ...grid, "--learning-rate-scaling", "inverse-one-plus-lambda", "--out", scaledOut])
    expect(again.code, again.stderr).toBe(0)
    expect(again.stdout).toContain("reusing 2 finished run(s)")
    const plainOut = join(folder, "plain")
    const plain = await cli(["sweep", spec, ...grid, "--out", plainOut])
    expect(plain.code, plain.stderr).toBe(0)
    expect(await learningRates(plainOut)).toEqual({ "1": 0.4, "3": 0.4 })
  })

  it("names the allowed values of a bad scaling", { timeout: 60_000 }, async () => {
    const spec = join(folder, "scaled.json")
    const bad = await cli(["sweep", spec, "--learning-rate-scaling", "linear", "--jobs", "1", "--out", join(folder, "bad")])
    expect(bad.code).not.toBe(0)
    expect(bad.stdout + bad.stderr).toContain("inverse-one-plus-lambda")
  })
})

describe("scalpel sweep, two specs into one output folder", () => {
  it("keeps each spec's records apart: sweeping A, then B, then A again reuses every run of A", { timeout: 180_000 }, async () => {
    const specA = join(folder, "a.json")
    const specB = join(folder, "b.json")
    await writeFile(specA, JSON.stringify(leastSquaresSpec({ steps: 20 })))
    await writeFile(specB, JSON.stringify(leastSquaresSpec({ steps: 30 })))
    const out = join(folder, "shared")
    const grid = ["--method", "weighted-sum", "--lambda", "0.1,1", "--seeds", "1", "--jobs", "1", "--out", out]
    for (const spec of [specA, specB]) {
      const result = await cli(["sweep", spec, ...grid])
      expect(result.code, result.stderr).toBe(0)
    }
    expect(await records(out)).toHaveLength(4)
    const again = await cli(["sweep", specA, ...grid])
    expect(again.code, again.stderr).toBe(0)
    expect(again.stdout).toContain("reusing 2 finished run(s)")
  })
})
