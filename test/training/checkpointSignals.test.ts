/**
 * SIGINT or SIGTERM during a checkpoint write (#12 point 6): the write completes (it is
 * uninterruptible), no temporary file is left behind, and the checkpoint on disk is whole. The
 * signal is sent only once the write's temporary file is seen, so it lands inside a write; the
 * 64 MB checkpoint (encoding, writing and fsync) keeps that window open for many milliseconds.
 */
import { spawn } from "node:child_process"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as nodePath from "node:path"
import { fileURLToPath } from "node:url"
import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { readCheckpoint } from "../../src/training/checkpoint.ts"

const fixture = fileURLToPath(new URL("./fixtures/checkpointWriter.ts", import.meta.url))
let folder = ""
beforeAll(async () => {
  folder = await fs.mkdtemp(nodePath.join(os.tmpdir(), "scalpel-ckpt-signal-"))
})
afterAll(() => fs.rm(folder, { recursive: true, force: true }))

const temporaries = async (dir: string) => (await fs.readdir(dir)).filter((n) => n.endsWith(".tmp"))

/** Start the writer, wait for its first complete write, then signal it while a temporary file exists. */
const signalDuringWrite = async (signal: NodeJS.Signals) => {
  const dir = await fs.mkdtemp(nodePath.join(folder, `${signal}-`))
  const path = nodePath.join(dir, "big.ckpt")
  const child = spawn(process.execPath, ["--import", "tsx", fixture, path, "64"], { stdio: ["ignore", "pipe", "pipe"] })
  let stdout = ""
  let stderr = ""
  child.stdout.on("data", (d) => (stdout += String(d)))
  child.stderr.on("data", (d) => (stderr += String(d)))
  const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)))
  let sentDuringWrite = false
  let ended = false
  void exited.then(() => (ended = true))
  while (!ended) {
    if (/wrote 1\n/.test(stdout) && (await temporaries(dir)).length > 0) {
      child.kill(signal)
      sentDuringWrite = true
      break
    }
    await new Promise((r) => setTimeout(r, 2))
  }
  const code = await exited
  return { dir, path, code, stdout, stderr, sentDuringWrite }
}

describe("a signal during a checkpoint write", () => {
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    it(`${signal}: the write finishes, no temporary file is left, the checkpoint is whole`, { timeout: 300_000 }, async () => {
      const result = await signalDuringWrite(signal)
      expect(result.sentDuringWrite, `${result.stdout}\n${result.stderr}`).toBe(true)
      expect(await temporaries(result.dir)).toEqual([])
      const saved = await Effect.runPromise(readCheckpoint(result.path))
      const written = Math.max(...[...result.stdout.matchAll(/^wrote (\d+)$/gm)].map((m) => Number(m[1])))
      // The write under way when the signal came completed (its rename happened), whether or not
      // the fiber got to print its line.
      expect(saved.step === written || saved.step === written + 1).toBe(true)
      expect(result.stderr).not.toMatch(/\n\s+at /)
    })
  }
})
