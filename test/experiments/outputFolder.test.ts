/** Output folders are checked before training (issue #12, points 7 and 9). */
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as nodePath from "node:path"
import { Effect, Either } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { isSystemFolder, isVirtualFolder, prepareOutputFolder } from "../../src/experiments/outputFolder.ts"
import { divergenceOf } from "../../src/training/divergence.ts"

let folder = ""
beforeAll(async () => {
  folder = await fs.mkdtemp(nodePath.join(os.tmpdir(), "scalpel-out-"))
})
afterAll(async () => {
  await fs.chmod(nodePath.join(folder, "locked"), 0o755).catch(() => undefined)
  await fs.rm(folder, { recursive: true, force: true })
})

const failure = async (effect: Effect.Effect<void, { message: string }>) => {
  const result = await Effect.runPromise(Effect.either(effect))
  if (Either.isRight(result)) throw new Error("expected an OutputError")
  return result.left.message
}

describe("prepareOutputFolder", () => {
  it("refuses / and top-level system folders unless forced", async () => {
    expect(isSystemFolder("/")).toBe(true)
    expect(isSystemFolder("/usr/")).toBe(true)
    expect(isSystemFolder(folder)).toBe(false)
    expect(await failure(prepareOutputFolder("/"))).toBe("cannot write /: it is a system folder (/); choose another --out, or pass --force-out to write there anyway")
  })

  it("creates a missing folder and leaves no probe file", async () => {
    const target = nodePath.join(folder, "a", "b")
    await Effect.runPromise(prepareOutputFolder(target))
    expect(await fs.readdir(target)).toEqual([])
  })

  it("a folder that cannot be created is an OutputError before any training", async () => {
    const file = nodePath.join(folder, "plain-file")
    await fs.writeFile(file, "")
    expect(await failure(prepareOutputFolder(nodePath.join(file, "out")))).toMatch(/^cannot write .*plain-file\/out: .*plain-file is a file, not a folder; choose another --out$/)
    // The file itself named as the folder (before: "the folder is not writable (EEXIST ...)").
    expect(await failure(prepareOutputFolder(file, { flag: "--checkpoint" }))).toMatch(/^cannot write .*plain-file: it is a file, not a folder; choose another --checkpoint$/)
  })

  it("refuses paths inside /proc, /sys and /dev at once, even when forced (mkdir loops forever under /proc)", async () => {
    for (const path of ["/proc/x", "/proc", "/sys/y/z", "/dev/shm/run"]) {
      expect(isVirtualFolder(path)).toBe(true)
      const started = Date.now()
      expect(await failure(prepareOutputFolder(path, { force: true }))).toMatch(/a kernel file system that holds no files; choose another --out$/)
      expect(Date.now() - started).toBeLessThan(5000)
    }
    expect(isVirtualFolder("/process")).toBe(false)
    expect(isVirtualFolder(folder)).toBe(false)
  })
})

describe("divergenceOf", () => {
  it("flags a loss 1000× above its first value, or non-finite, and nothing else", () => {
    expect(divergenceOf({ fit: 0.5 }, { fit: 7e27 })).toEqual({ objective: "fit", first: 0.5, final: 7e27 })
    expect(divergenceOf({ fit: 0.5 }, { fit: Number.NaN })?.objective).toBe("fit")
    expect(divergenceOf({ fit: 0.5, prior: 1 }, { fit: 0.4, prior: 999 })).toBeUndefined()
    expect(divergenceOf({ fit: 0 }, { fit: 1e-7 })).toBeUndefined()
    // The README's run: the prior starts at exactly 0 (zero weights) and rises to 0.2 as the fit is
    // solved; that is the bilevel problem at work, not an explosion.
    expect(divergenceOf({ fit: 0.557, prior: 0 }, { fit: 2.7e-4, prior: 0.207 })).toBeUndefined()
    // ... while a loss that starts at 0 and explodes past 1000× the run's loss scale is caught.
    expect(divergenceOf({ fit: 0.557, prior: 0 }, { fit: 0.1, prior: 7e5 })?.objective).toBe("prior")
  })
})
