/**
 * docs/checkpoints.md promises that no temporary checkpoint file outlives a write. A Ctrl-C
 * (SIGINT) or SIGTERM under `NodeRuntime.runMain` interrupts the run; a write in progress then
 * completes before the process exits (issue #12, point 6: before, 12 of 12 such signals left a
 * `.tmp` file behind).
 */
import { spawn } from "node:child_process"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as nodePath from "node:path"
import { fileURLToPath } from "node:url"
import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { readCheckpoint } from "../../src/training/checkpoint.ts"

const fixture = fileURLToPath(new URL("./fixtures/checkpointingRun.ts", import.meta.url))
let root = ""
beforeAll(async () => {
  root = await fs.mkdtemp(nodePath.join(os.tmpdir(), "scalpel-signals-"))
})
afterAll(() => fs.rm(root, { recursive: true, force: true }))

/** Run the fixture into a fresh folder, send `signal` once `afterSteps` steps are printed (plus `delayMs`), and wait for its exit. */
const interrupted = async (signal: NodeJS.Signals, afterSteps: number, delayMs: number) => {
  const folder = await fs.mkdtemp(nodePath.join(root, "run-"))
  const path = nodePath.join(folder, "run.ckpt")
  const child = spawn(process.execPath, ["--import", "tsx", fixture, path], { stdio: ["ignore", "pipe", "pipe"] })
  let stdout = ""
  let stderr = ""
  child.stderr.on("data", (d) => (stderr += String(d)))
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)))
  child.stdout.on("data", (d) => {
    const before = stdout
    stdout += String(d)
    if (!new RegExp(`^step ${afterSteps}$`, "m").test(before) && new RegExp(`^step ${afterSteps}$`, "m").test(stdout)) {
      setTimeout(() => child.kill(signal), delayMs)
    }
  })
  const code = await exited
  return { code, stderr, folder, path }
}

describe("a signal during a checkpoint write", () => {
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    it(`${signal}: exit code 0, a readable checkpoint, and no temporary file left`, { timeout: 600_000 }, async () => {
      for (const [afterSteps, delayMs] of [[2, 0], [3, 11]] as const) {
        const { code, stderr, folder, path } = await interrupted(signal, afterSteps, delayMs)
        expect(code, stderr).toBe(0)
        expect(await fs.readdir(folder)).toEqual(["run.ckpt"])
        expect((await Effect.runPromise(readCheckpoint(path))).step).toBeGreaterThanOrEqual(afterSteps)
      }
    })
  }
})
