/**
 * The package as a user gets it: `npm pack`, installed offline into a fresh project (see
 * installedPackage.ts), then used from plain Node ESM, from TypeScript under nodenext and bundler
 * resolution with the strictest flags, and through the `scalpel` command. One install serves all
 * checks (packing builds dist/ and takes most of the time).
 */
import { execFile, spawn } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync } from "node:fs"
import { readFile, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { promisify } from "node:util"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { documentedPaths, listed, repositoryOnly } from "./docPaths.ts"
import { installPackedScalpel, repository } from "./installedPackage.ts"

const run = promisify(execFile)
let folder = ""
let tarball = ""

/** Run a command in the consumer project; resolves with its output whatever the exit code. */
const inConsumer = async (command: string, args: ReadonlyArray<string>, env: Readonly<Record<string, string>> = {}) => {
  // The consumer chooses its backend itself unless a check says otherwise.
  const { SCALPEL_BACKEND: _ignored, ...inherited } = process.env
  try {
    const { stdout, stderr } = await run(command, args, { cwd: folder, env: { ...inherited, ...env }, maxBuffer: 1 << 26 })
    return { code: 0, stdout, stderr }
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string }
    return { code: e.code ?? 1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" }
  }
}

beforeAll(async () => {
  folder = mkdtempSync(join(tmpdir(), "scalpel-consumer-"))
  tarball = (await installPackedScalpel(folder)).tarball
}, 900_000)
// Asynchronous, like the install: removing the consumer's node_modules (thousands of files)
// synchronously blocks the test worker's event loop meanwhile, and on a loaded machine that can pass
// vitest's fixed 60 s wait for the reply to its own progress messages (seen once, most likely this:
// "[vitest-worker]: Timeout calling onTaskUpdate" with every test green, and exit code 1).
afterAll(async () => {
  if (folder !== "") await rm(folder, { recursive: true, force: true })
}, 300_000)

// Generous timeouts: each check starts Node or tsc on a fresh install, which is slow on a busy machine.
describe("the packed package, installed offline into a fresh project", { timeout: 600_000 }, () => {
  it("plain Node ESM trains a small problem with Bloop, on the application's tfjs, without banners", async () => {
    const { code, stdout, stderr } = await inConsumer(process.execPath, ["app.mjs"])
    expect(code, stderr).toBe(0)
    const result = JSON.parse(stdout) as { steps: number; initialFit: number; finalLosses: { fit: number; prior: number } }
    expect(result.steps).toBe(200)
    expect(result.finalLosses.fit).toBeLessThan(0.7 * result.initialFit)
    expect(Number.isFinite(result.finalLosses.prior)).toBe(true)
    // One line naming the backend; no tfjs banner, no duplicate-registration warnings (one tfjs).
    expect(stderr.trim().split("\n")).toHaveLength(1)
    expect(stderr).toMatch(/^backend: (node|wasm|cpu) \(/)
    expect(stderr).not.toMatch(/looks like you are running|already registered|Cannot find package/)
  })

  it("every relative path README.md and docs/*.md mention is in the tarball (test/, bench/, scripts/: in the repository, as README says)", async () => {
    const { stdout } = await run("tar", ["-tzf", tarball], { maxBuffer: 1 << 26 })
    const shipped = new Set(stdout.split("\n").filter((l) => l.startsWith("package/")).map((l) => l.slice("package/".length).replace(/\/$/, "")))
    const { stdout: tracked } = await run("git", ["ls-files"], { cwd: repository, maxBuffer: 1 << 26 })
    const inRepository = new Set(tracked.trim().split("\n"))
    const paths = documentedPaths(repository)
    expect(paths.length).toBeGreaterThan(100)
    const missing = paths.filter((p) => (repositoryOnly.some((r) => `${p.path}/`.startsWith(r)) ? !listed(inRepository, p.path) : !listed(shipped, p.path)))
    expect(missing.map((p) => `${p.where}: ${p.path}`)).toEqual([])
    expect(readFileSync(join(repository, "README.md"), "utf8")).toMatch(/Paths under `test\/`, `bench\/` and `scripts\/` refer to the repository/)
  })

  it("CommonJS require() loads the same ES module (Node ≥ 20.19)", async () => {
    const { code, stdout, stderr } = await inConsumer(process.execPath, ["-e", 'const s = require("scalpel"); console.log(typeof s.train, typeof s.bloop.lower)'])
    expect(code, stderr).toBe(0)
    expect(stdout.trim()).toBe("function function")
  })

  // What README.md says: without skipLibCheck, the only errors are in TensorFlow.js's own
  // declarations (node_modules/@tensorflow/) and vega-lite's; with skipLibCheck, none at all.
  const errors = (output: string): ReadonlyArray<string> => output.split("\n").filter((line) => /^\S.*\(\d+,\d+\): error/.test(line))
  const typecheck = (config: string, extra: ReadonlyArray<string> = []) =>
    inConsumer(process.execPath, [join(repository, "node_modules/typescript/bin/tsc"), "-p", config, ...extra])

  it("its declarations type-check under nodenext and bundler resolution with strict and exactOptionalPropertyTypes: without skipLibCheck only tfjs's and vega-lite's own declarations fail, with it nothing does (as README says)", async () => {
    const [nodenext, bundler, nodenextSkip, bundlerSkip] = await Promise.all([
      typecheck("tsconfig.nodenext.json"),
      typecheck("tsconfig.bundler.json"),
      typecheck("tsconfig.nodenext.json", ["--skipLibCheck"]),
      typecheck("tsconfig.bundler.json", ["--skipLibCheck"]),
    ])
    const foreign = (line: string) => line.startsWith("node_modules/@tensorflow/") || line.startsWith("node_modules/vega-lite/")
    expect(errors(nodenext.stdout).filter((line) => !foreign(line))).toEqual([])
    expect(errors(bundler.stdout).filter((line) => !foreign(line))).toEqual([])
    expect(errors(nodenext.stdout).length).toBeGreaterThan(0) // README's explanation is still needed
    expect(readFileSync(join(repository, "README.md"), "utf8")).toMatch(/a strict consumer sets `"skipLibCheck": true`/)
    expect([nodenextSkip.code, nodenextSkip.stdout.trim()]).toEqual([0, ""])
    expect([bundlerSkip.code, bundlerSkip.stdout.trim()]).toEqual([0, ""])
  })

  it("without the command line's optional packages, scalpel says in one line what to install (a resolve hook hides @effect/cli)", async () => {
    const hide = "data:text/javascript," + encodeURIComponent(
      'import { register } from "node:module"; register("data:text/javascript," + encodeURIComponent("export async function resolve(s, c, n) { if (s === \'@effect/cli\') { const e = new Error(\'not found\'); e.code = \'ERR_MODULE_NOT_FOUND\'; throw e } return n(s, c) }"))',
    )
    const result = await inConsumer(process.execPath, ["--import", hide, "node_modules/scalpel/dist/cli/bin.js", "--help"])
    expect(result.code).toBe(1)
    expect(result.stderr.trim()).toBe(
      "error: the scalpel command needs @effect/cli (optional dependencies of the library): npm install @effect/cli @effect/platform @effect/platform-node @effect/printer @effect/printer-ansi",
    )
  })

  it("npx scalpel --help and npx scalpel run SPEC.json work from the installed package", async () => {
    const help = await inConsumer("npx", ["--offline", "--no-install", "scalpel", "--help"])
    expect(help.code, help.stderr).toBe(0)
    expect(help.stdout).toMatch(/scalpel 0\.1\.0/)
    const runResult = await inConsumer("npx", ["--offline", "--no-install", "scalpel", "run", "spec.json", "--out", "run"], { SCALPEL_BACKEND: "cpu" })
    expect(runResult.code, runResult.stderr).toBe(0)
    expect(runResult.stdout).toMatch(/^backend: cpu \(forced by SCALPEL_BACKEND/m)
    expect(runResult.stdout).toMatch(/100 steps in .* on cpu/)
    expect(runResult.stderr).not.toMatch(/looks like you are running/)
  })

  it("#21: a Dropout + BatchNorm model trained by fromModel + Bloop, validated every epoch with early stopping, saved with model.save and loaded with identical predictions (no tfjs-node)", async () => {
    const { code, stdout, stderr } = await inConsumer(process.execPath, ["workflow.mjs"])
    expect(code, stderr).toBe(0)
    const result = JSON.parse(stdout.trim().split("\n").pop()!) as {
      stopped: { reason: string; step: number } | null
      restoredBest: { step: number } | null
      epochsValidated: number
      statisticsMoved: boolean
      identical: boolean
      finalFit: number
    }
    expect(result.identical).toBe(true)
    expect(result.statisticsMoved).toBe(true)
    expect(result.stopped?.reason).toBe("earlyStopping")
    // Validated once per epoch of ⌈256/32⌉ = 8 steps, up to the stop.
    expect(result.epochsValidated).toBe(Math.ceil(result.stopped!.step / 8))
    expect(Number.isFinite(result.finalFit)).toBe(true)
    expect(await readFile(join(folder, "saved", "model", "model.json"), "utf8")).toContain('"weightsManifest"')
  })

  it("#22: the installed CLI runs and sweeps a custom interpreter module against bloop; a closed pipe, Ctrl-C, --docs and /proc behave", async () => {
    const npx = (args: ReadonlyArray<string>, env: Readonly<Record<string, string>> = {}) => inConsumer("npx", ["--offline", "--no-install", "scalpel", ...args], { SCALPEL_BACKEND: "cpu", ...env })
    const capped = await npx(["run", "spec.json", "--interpreters", "./capped-sum.mjs", "--method", "capped-sum", "--out", "run-capped"])
    expect(capped.code, capped.stderr).toBe(0)
    expect(capped.stdout).toContain("method: capped-sum, 100 steps")
    const sweep = await npx(["sweep", "spec.json", "--interpreters", "./capped-sum.mjs", "--method", "capped-sum,bloop", "--lambda", "0.1,1", "--seeds", "1", "--jobs", "2", "--out", "sweep"])
    expect(sweep.code, sweep.stderr).toBe(0)
    expect(sweep.stdout).toMatch(/capped-sum\s+λ=0\.1/)
    expect(sweep.stdout).toMatch(/bloop\s+λ=1\.000 /)

    const piped = await inConsumer("bash", ["-o", "pipefail", "-c", "npx --offline --no-install scalpel run spec.json --out run-piped | head -1"], { SCALPEL_BACKEND: "cpu" })
    expect(piped.stderr).not.toMatch(/EPIPE|\n\s+at /)
    expect(piped.stdout.trim().split("\n")).toHaveLength(1)

    const docsBefore = await readFile(join(folder, "node_modules", "scalpel", "docs", "experiments.md"), "utf8")
    const docs = await npx(["experiment", "bias", "--smoke", "--docs", "--out", "docs-out"])
    expect(docs.code).toBe(1)
    expect(docs.stderr).toMatch(/^error: --docs: it rewrites docs\/experiments\.md of a scalpel repository checkout, and .*node_modules\/scalpel is an installed package/m)
    expect(await readFile(join(folder, "node_modules", "scalpel", "docs", "experiments.md"), "utf8")).toBe(docsBefore)
    expect(existsSync(join(folder, "docs-out"))).toBe(false)

    const started = Date.now()
    const proc = await npx(["run", "spec.json", "--out", "/proc/x"])
    expect(proc.code).toBe(1)
    expect(proc.stderr).toMatch(/cannot write \/proc\/x: it is inside \/proc, a kernel file system/)
    expect(Date.now() - started).toBeLessThan(60_000)

    // Ctrl-C without --checkpoint: exit 130 and a summary marked interrupted. Signalled at the first
    // progress line, which comes at a tenth of the run: 100,000 steps put it at step 10,000 (a few
    // seconds) with 90 % of the run still ahead (2,000,000 waited minutes for step 200,000).
    await writeFile(join(folder, "long.json"), JSON.stringify({ ...JSON.parse(await readFile(join(folder, "spec.json"), "utf8")), steps: 100_000 }))
    const interrupted = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [join(folder, "node_modules", "scalpel", "dist", "cli", "bin.js"), "run", "long.json", "--out", "interrupted"], {
        cwd: folder,
        env: { ...process.env, SCALPEL_BACKEND: "cpu" },
      })
      let stdout = ""
      let stderr = ""
      child.stdout.on("data", (chunk: Buffer) => {
        stdout += chunk.toString()
        if (stdout.includes("step ") && !child.killed) child.kill("SIGINT")
      })
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()))
      child.on("exit", (code) => resolve({ code, stderr }))
    })
    expect(interrupted.code, interrupted.stderr).toBe(130)
    const summary = JSON.parse(await readFile(join(folder, "interrupted", "summary.json"), "utf8")) as { summary: { interrupted: boolean; steps: number } }
    expect(summary.summary.interrupted).toBe(true)
    // Signalled at the line of step 10,000 (a step's line comes after the step), well before the end.
    expect(summary.summary.steps).toBeGreaterThanOrEqual(10_000)
    expect(summary.summary.steps).toBeLessThan(100_000)
  })
})
