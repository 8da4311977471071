/**
 * What `scalpel run` and `scalpel sweep` say and leave behind when a run goes wrong (#12 points 4,
 * 5, 7): divergence and skipped steps on the terminal (exit 1 under --fail-on-divergence), no
 * summary of another run beside a failed run's log, output folders checked before any training.
 */
import { access, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { cli } from "../support/cli.ts"
import { leastSquaresSpec } from "../support/specFixtures.ts"

let folder = ""
beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), "scalpel-run-faults-"))
  await writeFile(join(folder, "a-file"), "")
})
afterAll(() => rm(folder, { recursive: true, force: true }))

const specFile = async (name: string, changes: Record<string, unknown>) => {
  const path = join(folder, `${name}.json`)
  await writeFile(
    path,
    JSON.stringify(leastSquaresSpec(changes)),
  )
  return path
}
const exists = (path: string) => access(path).then(() => true, () => false)
/** Progress lines of a run: any means training started. */
const trainedSteps = (stdout: string) => [...stdout.matchAll(/^step \d+\//gm)].length

describe("divergence and skipped steps (point 4)", () => {
  // Learning rate 100: the loss grows ~1e3× a step, still finite at step 8 (1.3e20).
  const diverging = () => specFile("diverging", { optimizer: { kind: "sgd", learningRate: 100 }, steps: 8 })

  it("a diverging run exits 0 with a warning on stderr and the divergence in summary.json", { timeout: 300_000 }, async () => {
    const out = join(folder, "diverged")
    const result = await cli(["run", await diverging(), "--out", out])
    expect(result.code, result.stderr).toBe(0)
    expect(result.stderr).toMatch(
      /^warning: the run diverged: the loss of '(fit|prior)' grew from \S+ at the first step to \S+e\+\d+ at the end \(more than 1000× the run's largest first-step loss\); lower the learning rate \(--fail-on-divergence makes this an error\)$/m,
    )
    const summary = JSON.parse(await readFile(join(out, "summary.json"), "utf8"))
    expect(summary.summary.divergence.final).toBeGreaterThan(1000 * summary.summary.divergence.first)
  })

  it("--fail-on-divergence makes it an error with exit code 1", { timeout: 300_000 }, async () => {
    const result = await cli(["run", await diverging(), "--out", join(folder, "diverged-fail"), "--fail-on-divergence"])
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/^error: the run diverged: the loss of '(fit|prior)' grew from .* lower the learning rate$/m)
    expect(result.stderr).not.toMatch(/\n\s+at /)
  })

  it("skipped steps are reported on stderr", { timeout: 300_000 }, async () => {
    // A learning rate of 1e39 overflows every update: each step is skipped under nonFinite: "skip".
    const spec = await specFile("skipping", { optimizer: { kind: "sgd", learningRate: 1e39 }, nonFinite: "skip", steps: 4 })
    const result = await cli(["run", spec, "--out", join(folder, "skipped")])
    expect(result.code, result.stderr).toBe(0)
    expect(result.stderr).toContain('warning: 4 of 4 steps were skipped for non-finite values (nonFinite: "skip")')
  })
})

describe("a failed run's folder (point 5)", () => {
  it("holds no summary.json of an earlier run, and a log of its own steps only", { timeout: 300_000 }, async () => {
    const out = join(folder, "reused")
    const good = await cli(["run", await specFile("good", { steps: 5 }), "--out", out])
    expect(good.code, good.stderr).toBe(0)
    expect(await exists(join(out, "summary.json"))).toBe(true)
    // Learning rate 1000: the loss overflows float32 at step 9 and the run fails (nonFinite: "fail").
    const failing = await cli(["run", await specFile("failing", { optimizer: { kind: "sgd", learningRate: 1000 }, steps: 20 }), "--out", out])
    expect(failing.code).toBe(1)
    expect(failing.stderr).toMatch(/^error: non-finite gradient or loss for objective '\w+' at step \d+/m)
    expect(await exists(join(out, "summary.json"))).toBe(false)
    const steps = (await readFile(join(out, "events.jsonl"), "utf8")).trim().split("\n").map((l) => JSON.parse(l).step)
    const failedAt = Number(/at step (\d+)/.exec(failing.stderr)![1])
    expect(steps).toEqual(Array.from({ length: failedAt - 1 }, (_, i) => i + 1))
  })
})

describe("output folders checked before training (point 7)", () => {
  // Two million steps: a check made only after training would take hours to fail.
  const long = () => specFile("long", { steps: 2_000_000 })
  const generous = 150_000

  it("run --out that cannot be created fails at once, naming the folder; nothing is trained", { timeout: 300_000 }, async () => {
    const out = join(folder, "a-file", "out")
    const started = performance.now()
    const result = await cli(["run", await long(), "--out", out])
    expect(performance.now() - started).toBeLessThan(generous)
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(new RegExp(`^error: cannot write ${out}: ${join(folder, "a-file")} is a file, not a folder; choose another --out$`, "m"))
    expect(trainedSteps(result.stdout)).toBe(0)
  })

  it("run --checkpoint in a folder that cannot be created fails at once; a missing folder is created", { timeout: 300_000 }, async () => {
    const bad = join(folder, "a-file", "ckpt", "run.ckpt")
    const started = performance.now()
    const result = await cli(["run", await long(), "--out", join(folder, "ckpt-out"), "--checkpoint", bad])
    expect(performance.now() - started).toBeLessThan(generous)
    expect(result.code).toBe(1)
    expect(result.stderr).toContain(`error: cannot write ${join(folder, "a-file", "ckpt")}: ${join(folder, "a-file")} is a file, not a folder; choose another --checkpoint`)
    expect(trainedSteps(result.stdout)).toBe(0)

    // Before #12 a missing folder failed only at the first checkpoint write, after training.
    const missing = join(folder, "new", "deeper", "run.ckpt")
    const ok = await cli(["run", await specFile("short", {}), "--out", join(folder, "ckpt-out2"), "--checkpoint", missing])
    expect(ok.code, ok.stderr).toBe(0)
    expect(await exists(missing)).toBe(true)
  })

  it("sweep --out that cannot be created fails before the first run", { timeout: 300_000 }, async () => {
    const out = join(folder, "a-file", "sweep")
    const started = performance.now()
    const result = await cli(["sweep", await long(), "--method", "weighted-sum", "--lambda", "0.1", "--seeds", "1", "--jobs", "1", "--out", out])
    expect(performance.now() - started).toBeLessThan(generous)
    expect(result.code).toBe(1)
    expect(result.stderr).toContain(`error: cannot write ${out}: ${join(folder, "a-file")} is a file, not a folder; choose another --out`)
    expect(result.stdout).not.toMatch(/\[\s*1\/1\]/)
  })

  it("paths through a file (ENOTDIR) are typed errors, never an internal error with a stack trace", { timeout: 300_000 }, async () => {
    const results = await Promise.all([
      cli(["run", join(folder, "a-file", "spec.json")]),
      cli(["run", await specFile("short", {}), "--out", join(folder, "resume-out"), "--resume", join(folder, "a-file", "run.ckpt")]),
    ])
    for (const result of results) {
      expect(result.code).toBe(1)
      expect(result.stderr).toMatch(/^error: .*ENOTDIR/m)
      expect(result.stderr).not.toContain("internal error")
    }
  })

  it("/ is refused as --out unless --force-out", { timeout: 300_000 }, async () => {
    const result = await cli(["run", await long(), "--out", "/"])
    expect(result.code).toBe(1)
    expect(result.stderr).toContain("error: cannot write /: it is a system folder (/); choose another --out, or pass --force-out to write there anyway")
    expect(await readdir("/")).not.toContain("events.jsonl")
  })
})
