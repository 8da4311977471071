import { readdirSync } from "node:fs"
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { cli } from "../support/cli.ts"
import { irisSpec } from "../support/specFixtures.ts"

const noStackTrace = (text: string) => expect(text).not.toMatch(/\n\s+at /)

let folder = ""
const spec = irisSpec()

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), "scalpel-cli-"))
  await writeFile(join(folder, "iris.json"), JSON.stringify(spec))
  await writeFile(join(folder, "broken.json"), '{ "problem": { "name": "iris-weight-norm" }, "steps": 10,, }')
  await writeFile(join(folder, "unknown-objective.json"), JSON.stringify({ ...spec, structure: { ...spec.structure, aux: "nope" } }))
})
afterAll(() => rm(folder, { recursive: true, force: true }))

describe("scalpel run", () => {
  it("trains a JSON spec and writes one JSON line per step and a summary", async () => {
    const out = join(folder, "run-out")
    const { code, stdout } = await cli(["run", join(folder, "iris.json"), "--out", out])
    expect(code).toBe(0)
    // Not a terminal here: plain progress lines, the last one at the final step.
    expect(stdout).toContain(`step ${spec.steps}/${spec.steps}`)
    const events = (await readFile(join(out, "events.jsonl"), "utf8")).trimEnd().split("\n").map((l) => JSON.parse(l) as { step: number })
    expect(events.map((e) => e.step)).toEqual(Array.from({ length: spec.steps }, (_, i) => i + 1))
    const summary = JSON.parse(await readFile(join(out, "summary.json"), "utf8")) as { summary: { steps: number; evaluations: Record<string, number> } }
    expect(summary.summary.steps).toBe(spec.steps)
    expect(Object.keys(summary.summary.evaluations)).toContain("accuracy:test")
  })

  it("a missing file, invalid JSON and an unknown objective each give one line and exit 1", async () => {
    const [missing, broken, unknown] = await Promise.all([
      cli(["run", join(folder, "absent.json")]),
      cli(["run", join(folder, "broken.json")]),
      cli(["run", join(folder, "unknown-objective.json")]),
    ])
    expect(missing.code).toBe(1)
    expect(missing.stderr).toMatch(/^error: cannot read .*absent\.json: no such file$/m)
    expect(broken.code).toBe(1)
    expect(broken.stderr).toMatch(/^error: invalid JSON at line 1, column \d+/m)
    expect(unknown.code).toBe(1)
    expect(unknown.stderr).toMatch(/^error: structure\.aux: unknown objective 'nope'/m)
    for (const r of [missing, broken, unknown]) noStackTrace(r.stdout + r.stderr)
  })
})

describe("scalpel sweep and experiment: arguments", () => {
  it("--help works for every command", async () => {
    const commands = ["run", "sweep", "experiment", "worker"]
    const results = await Promise.all(commands.map((command) => cli([command, "--help"])))
    results.forEach(({ code, stdout }, i) => {
      expect(code).toBe(0)
      expect(stdout).toContain(`$ scalpel ${commands[i]}`)
      expect(stdout).toMatch(/OPTIONS/)
    })
  })

  it("rejects a bad λ list, an unknown method and an unknown experiment with one line and exit 1", async () => {
    const [lambda, method, experiment] = await Promise.all([
      cli(["sweep", join(folder, "iris.json"), "--lambda", "0.1,x", "--jobs", "1"]),
      cli(["sweep", join(folder, "iris.json"), "--method", "bloop,sgd", "--jobs", "1"]),
      cli(["experiment", "nonsense"]),
    ])
    expect(lambda.code).toBe(1)
    expect(lambda.stderr).toMatch(/^error: --lambda: expected comma-separated numbers, got 'x'/m)
    expect(method.code).toBe(1)
    expect(method.stderr).toMatch(/^error: method: unknown method 'sgd'/m)
    expect(experiment.code).toBe(1)
    const families = readdirSync("experiments").filter((f) => f.endsWith(".json")).map((f) => f.replace(/\.json$/, "")).sort()
    expect(experiment.stderr).toMatch(new RegExp(`^error: no experiment named 'nonsense' \\(known: ${families.join(", ")};`, "m"))
    for (const r of [lambda, method, experiment]) noStackTrace(r.stdout + r.stderr)
  })

  it("--queue: an invalid address, --backend (the workers choose) and an unreachable server each give one line without the password", async () => {
    const [invalid, backend, unreachable] = await Promise.all([
      cli(["sweep", join(folder, "iris.json"), "--queue", "http://:hunter2@localhost:1"]),
      cli(["sweep", join(folder, "iris.json"), "--queue", "redis://:hunter2@127.0.0.1:1", "--backend", "cpu"]),
      cli(["sweep", join(folder, "iris.json"), "--queue", "redis://:hunter2@127.0.0.1:1", "--method", "bloop", "--lambda", "1", "--seeds", "1"]),
    ])
    expect(invalid.stderr).toMatch(/^error: invalid queue address 'http:\/\/:\*\*\*@localhost:1': unsupported scheme 'http:'/m)
    expect(backend.stderr).toMatch(/^error: --backend: with --queue the workers choose the backend/m)
    expect(unreachable.stderr).toMatch(/^error: cannot reach the queue at redis:\/\/:\*\*\*@127\.0\.0\.1:1: connect ECONNREFUSED/m)
    for (const r of [invalid, backend, unreachable]) {
      expect(r.code).toBe(1)
      expect(r.stdout + r.stderr).not.toContain("hunter2")
      noStackTrace(r.stdout + r.stderr)
    }
  })

  it("experiment --list names every family of experiments/", async () => {
    const { code, stdout } = await cli(["experiment", "--list"])
    expect(code).toBe(0)
    const families = readdirSync("experiments").filter((f) => f.endsWith(".json")).map((f) => f.replace(/\.json$/, ""))
    expect(families.sort()).toEqual(["bias", "ema-ablation", "mnist-joint", "mnist-multitask", "quadratic", "smooth", "smooth-authors"])
    for (const name of families) expect(stdout).toMatch(new RegExp(`^${name}\\s`, "m"))
  })
})
