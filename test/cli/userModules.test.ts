/**
 * The user's own code on the command line: `--interpreters MODULE` and `--problems MODULE` on run
 * and sweep (local worker processes load the same modules), and command-line overrides of the
 * spec's common fields. Before, `run` knew neither flag and a custom method name failed with
 * "no interpreter named 'capped-sum'".
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { importFailureReason } from "../../src/experiments/problemModules.ts"
import { cli } from "../support/cli.ts"

const interpreterModule = "test/cli/fixtures/cappedSumInterpreter.ts"
const notInterpreters = "test/cli/fixtures/notAnInterpreterModule.ts"
const problemModule = "test/experiments/fixtures/problemModule.ts"

const document = (overrides: Record<string, unknown> = {}) => ({
  problem: { name: "least-squares", options: { examples: 8, dimensions: 16 } },
  structure: { kind: "prioritize", main: "fit", aux: "prior", lambda: 1 },
  method: { name: "capped-sum", options: { cap: 0.5 } },
  optimizer: { kind: "sgd", learningRate: 0.1 },
  steps: 12,
  batchSize: 8,
  seed: 1,
  ...overrides,
})

let folder = ""
beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), "scalpel-modules-"))
  await writeFile(join(folder, "capped.json"), JSON.stringify(document()))
  await writeFile(join(folder, "module-problem.json"), JSON.stringify(document({ problem: { name: "least-squares-module" }, method: { name: "bloop" } })))
  await writeFile(join(folder, "bloop.json"), JSON.stringify(document({ method: { name: "bloop", options: { rho: 0.01 } } })))
})
afterAll(() => rm(folder, { recursive: true, force: true }))

const summaryOf = async (out: string) =>
  JSON.parse(await readFile(join(out, "summary.json"), "utf8")) as { method: { name: string }; summary: { steps: number } }

describe("scalpel run --interpreters / --problems", () => {
  it("a custom method is unknown without its module and trains with it", async () => {
    const without = await cli(["run", join(folder, "capped.json"), "--out", join(folder, "without")])
    expect(without.code).toBe(1)
    expect(without.stderr).toMatch(/^error: method\.name: unknown method 'capped-sum'; known: bloop, .* \(a method of your own needs --interpreters MODULE\)$/m)
    const out = join(folder, "with")
    const withModule = await cli(["run", join(folder, "capped.json"), "--interpreters", interpreterModule, "--out", out])
    expect(withModule.stderr).toBe("")
    expect(withModule.code).toBe(0)
    expect(withModule.stdout).toContain("method: capped-sum")
    expect((await summaryOf(out)).summary.steps).toBe(12)
  })

  it("a problem from --problems, and a module that exports no interpreters is one line naming it", async () => {
    const out = join(folder, "problem")
    const ran = await cli(["run", join(folder, "module-problem.json"), "--problems", problemModule, "--out", out])
    expect(ran.stderr).toBe("")
    expect(ran.code).toBe(0)
    expect((await summaryOf(out)).summary.steps).toBe(12)
    const unknown = await cli(["run", join(folder, "module-problem.json")])
    expect(unknown.stderr).toMatch(/unknown problem 'least-squares-module'/)
    const bad = await cli(["run", join(folder, "capped.json"), "--interpreters", notInterpreters])
    expect(bad.code).toBe(1)
    expect(bad.stderr.trim()).toBe(`error: cannot load interpreter module '${notInterpreters}': interpreters[0] is not an interpreter (expected { name, description, decodeOptions, lower })`)
  })

  it("a TypeScript module on a Node that cannot strip types gets advice, not Node's bare error", () => {
    const error = Object.assign(new TypeError('Unknown file extension ".ts" for /x/ring.ts'), { code: "ERR_UNKNOWN_FILE_EXTENSION" })
    expect(importFailureReason("./ring.ts", error)).toMatch(/cannot import TypeScript files; compile the module to \.js or \.mjs, use Node ≥ 22\.18/)
    expect(importFailureReason("./ring.mjs", new Error("boom\nstack"))).toBe("boom")
  })
})

describe("scalpel run: overrides of the spec's fields", () => {
  it("--steps, --seed, --learning-rate, --batch-size, --lambda, --method and --method-options reach the run and its spec.json", async () => {
    const out = join(folder, "overridden")
    const ran = await cli([
      "run", join(folder, "bloop.json"), "--out", out,
      "--steps", "7", "--seed", "5", "--learning-rate", "0.05", "--batch-size", "4", "--lambda", "0.25", "--method", "pcgrad",
    ])
    expect(ran.stderr).toBe("")
    expect(ran.code).toBe(0)
    expect(ran.stdout).toContain("method: pcgrad, 7 steps")
    expect(ran.stdout).toContain("overridden on the command line: steps 7, seed 5, learningRate 0.05, batchSize 4, method pcgrad, lambda 0.25")
    const spec = JSON.parse(await readFile(join(out, "spec.json"), "utf8")) as Record<string, any>
    expect(spec).toMatchObject({ steps: 7, seed: 5, batchSize: 4, optimizer: { learningRate: 0.05 }, structure: { lambda: 0.25 }, method: { name: "pcgrad" } })
    expect((await summaryOf(out)).summary.steps).toBe(7)
    const options = join(folder, "options")
    const withOptions = await cli(["run", join(folder, "bloop.json"), "--out", options, "--steps", "3", "--method-options", '{"rho":0.5}'])
    expect(withOptions.code).toBe(0)
    expect((JSON.parse(await readFile(join(options, "spec.json"), "utf8")) as Record<string, any>).method).toEqual({ name: "bloop", options: { rho: 0.5 } })
  })

  it("--epochs replaces the spec's steps (8 examples in batches of 4: 2 steps an epoch); --steps with --epochs is refused", async () => {
    const out = join(folder, "epochs")
    const ran = await cli(["run", join(folder, "bloop.json"), "--out", out, "--epochs", "3", "--batch-size", "4"])
    expect(ran.code, ran.stderr).toBe(0)
    expect(ran.stdout).toContain("method: bloop, 6 steps")
    const spec = JSON.parse(await readFile(join(out, "spec.json"), "utf8")) as Record<string, unknown>
    expect(spec["epochs"]).toBe(3)
    expect(spec["steps"]).toBeUndefined()
    const both = await cli(["run", join(folder, "bloop.json"), "--steps", "3", "--epochs", "2"])
    expect(both.code).toBe(1)
    expect(both.stderr).toMatch(/^error: --epochs: give --steps or --epochs, not both$/m)
  })

  it("bad values name their flag", async () => {
    const [steps, options, rate] = await Promise.all([
      cli(["run", join(folder, "bloop.json"), "--steps", "0"]),
      cli(["run", join(folder, "bloop.json"), "--method-options", "{rho"]),
      cli(["run", join(folder, "bloop.json"), "--learning-rate", "-1"]),
    ])
    expect(steps.stderr).toMatch(/^error: --steps: expected a positive integer, got 0$/m)
    expect(options.stderr).toMatch(/^error: --method-options: not valid JSON/m)
    expect(rate.stderr).toMatch(/^error: --learning-rate: expected a positive number, got -1$/m)
    for (const r of [steps, options, rate]) expect(r.code).toBe(1)
  })
})

describe("scalpel sweep --interpreters", () => {
  it("sweeps the custom rule against bloop in worker processes that load the module", async () => {
    const out = join(folder, "sweep")
    const swept = await cli([
      "sweep", join(folder, "capped.json"), "--interpreters", interpreterModule, "--method", "capped-sum,bloop",
      "--lambda", "0.1,1", "--seeds", "1", "--jobs", "2", "--out", out,
    ])
    expect(swept.stderr).toBe("")
    expect(swept.code).toBe(0)
    expect(swept.stdout).toMatch(/capped-sum\s+λ=0\.1/)
    expect(swept.stdout).toMatch(/bloop\s+λ=1/)
    const unknown = await cli(["sweep", join(folder, "capped.json"), "--method", "capped-sum", "--seeds", "1", "--out", join(folder, "sweep-unknown")])
    expect(unknown.code).toBe(1)
    expect(unknown.stderr).toMatch(/capped-sum/)
  })
})
