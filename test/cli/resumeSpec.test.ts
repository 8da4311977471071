/**
 * `scalpel run --resume` with a spec that differs from the checkpoint's (#12 point 2): refused with
 * the first difference named, unless `--resume-with-changed-spec` is given; a forced resume is
 * recorded in the events log and announced on the terminal.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { cli } from "../support/cli.ts"

let folder = ""
const base = {
  problem: { name: "least-squares", options: { examples: 8, dimensions: 16, seed: 1 } },
  structure: { kind: "prioritize", main: "fit", aux: "prior", lambda: 0.5 },
  method: { name: "bloop", options: { rho: 0.05 } },
  optimizer: { kind: "sgd", learningRate: 0.01 },
  steps: 3,
  batchSize: 4,
  seed: 2,
}
type Spec = typeof base
const checkpoint = () => join(folder, "run.ckpt")

/** Resume the checkpoint of `base` (3 steps) with `spec` for 6 steps, into a fresh --out. */
const resume = async (name: string, spec: Spec, extra: ReadonlyArray<string> = []) => {
  const path = join(folder, `${name}.json`)
  await writeFile(path, JSON.stringify({ ...spec, steps: 6 }))
  return cli(["run", path, "--out", join(folder, name), "--resume", checkpoint(), ...extra])
}

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), "scalpel-resume-spec-"))
  await writeFile(join(folder, "base.json"), JSON.stringify(base))
  const first = await cli(["run", join(folder, "base.json"), "--out", join(folder, "base"), "--checkpoint", checkpoint(), "--checkpoint-every", "3"])
  expect(first.code, first.stderr).toBe(0)
}, 300_000)
afterAll(() => rm(folder, { recursive: true, force: true }))

describe("scalpel run --resume with a changed spec", () => {
  const changes: ReadonlyArray<readonly [string, Spec, string]> = [
    ["lambda", { ...base, structure: { ...base.structure, lambda: 0.6 } }, "structure.lambda is 0.5 in the checkpoint but 0.6 in this spec"],
    ["rho", { ...base, method: { name: "bloop", options: { rho: 0.1 } } }, "method.options.rho is 0.05 in the checkpoint but 0.1 in this spec"],
    ["problem-seed", { ...base, problem: { ...base.problem, options: { ...base.problem.options, seed: 2 } } }, "problem.options.seed is 1 in the checkpoint but 2 in this spec"],
    ["problem-size", { ...base, problem: { ...base.problem, options: { ...base.problem.options, examples: 12 } } }, "problem.options.examples is 8 in the checkpoint but 12 in this spec"],
  ]
  for (const [name, spec, difference] of changes) {
    it(`refuses a changed ${name}, naming the first difference, before training`, { timeout: 300_000 }, async () => {
      const result = await resume(name, spec)
      expect(result.code).toBe(1)
      expect(result.stderr).toContain(`was written for a different spec: ${difference}`)
      expect(result.stderr).toContain("--resume-with-changed-spec")
      expect(result.stderr).not.toMatch(/\n\s+at /)
      expect(result.stdout).not.toMatch(/step \d+\/6/)
    })
  }

  it("accepts the same spec with more steps (extending a finished run)", { timeout: 300_000 }, async () => {
    const result = await resume("same", base)
    expect(result.code, result.stderr).toBe(0)
    expect(result.stderr).not.toContain("differ")
  })

  it("--resume-with-changed-spec resumes anyway, warns, and records the override in events.jsonl and summary.json", { timeout: 300_000 }, async () => {
    const result = await resume("forced", changes[0]![1], ["--resume-with-changed-spec"])
    expect(result.code, result.stderr).toBe(0)
    const difference = "structure.lambda is 0.5 in the checkpoint but 0.6 in this spec"
    expect(result.stderr).toContain(`warning: resuming from ${checkpoint()} although its spec differs: ${difference}`)
    const events = (await readFile(join(folder, "forced", "events.jsonl"), "utf8")).trim().split("\n").map((l) => JSON.parse(l))
    expect(events[0]).toMatchObject({ _tag: "Resumed", step: 3, path: checkpoint(), specChange: difference })
    expect(events.slice(1).map((e) => e.step)).toEqual([4, 5, 6])
    const summary = JSON.parse(await readFile(join(folder, "forced", "summary.json"), "utf8"))
    expect(summary.summary.resumedWithChangedSpec).toEqual({ checkpoint: checkpoint(), difference })
  })
})
