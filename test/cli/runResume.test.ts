/**
 * `scalpel run` interrupted with Ctrl-C and resumed (#12 point 5): the final checkpoint and the
 * events log agree exactly (every step the checkpoint holds is logged, nothing after it), and
 * resuming into the same --out appends to events.jsonl instead of truncating it.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { readCheckpoint } from "../../src/training/checkpoint.ts"
import { cliSignalled } from "../support/cli.ts"

let folder = ""
const spec = {
  problem: { name: "least-squares", options: { examples: 32, dimensions: 64 } },
  structure: { kind: "prioritize", main: "fit", aux: "prior", lambda: 1 },
  method: { name: "bloop" },
  optimizer: { kind: "adam", learningRate: 0.01 },
  steps: 2_000_000,
  batchSize: 8,
  seed: 1,
}
beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), "scalpel-resume-"))
  await writeFile(join(folder, "long.json"), JSON.stringify(spec))
})
afterAll(() => rm(folder, { recursive: true, force: true }))

/** Every line of the events log, parsed (a torn last line would throw here). */
const eventsOf = async (out: string): Promise<ReadonlyArray<{ _tag: string; step: number }>> =>
  (await readFile(join(out, "events.jsonl"), "utf8"))
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as { _tag: string; step: number })

const stepsOf = (events: ReadonlyArray<{ _tag: string; step: number }>) => events.filter((e) => e._tag === "Step").map((e) => e.step)
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)

describe("scalpel run --checkpoint / --resume", () => {
  it("SIGINT writes a final checkpoint, the events log ends at its step; --resume into the same --out appends the following steps", { timeout: 600_000 }, async () => {
    const checkpoint = join(folder, "run.ckpt")
    const out = join(folder, "a")
    const args = ["run", join(folder, "long.json"), "--out", out, "--checkpoint", checkpoint, "--checkpoint-every", "1000000"]
    // Interrupt once the run has logged steps (events are appended at least every second).
    const started = (o: { stdout: string }) => o.stdout.includes("writing to")
    const first = await cliSignalled(args, { when: started, delayMs: 2500 })
    expect(first.signalled).toBe(true)
    // An interrupted run exits 130 (was 0, so `scalpel run ... && next` carried on) and says what it kept.
    expect(first.code, first.stderr).toBe(130)
    expect(first.stderr).toMatch(new RegExp(`^interrupted by SIGINT after step \\d+ of 2000000: kept the summary \\(marked interrupted\\) and the weights of that step, checkpoint of step \\d+ in ${checkpoint}`, "m"))
    const saved = await Effect.runPromise(readCheckpoint(checkpoint))
    expect(saved.step).toBeGreaterThan(0)
    const logged = await eventsOf(out)
    // Before #12 the log kept up to 255 steps fewer than the checkpoint (a 256-event buffer, not
    // flushed on Ctrl-C). Now: steps 1..k exactly, k the checkpoint's step.
    expect(stepsOf(logged)).toEqual(range(1, saved.step))

    const resumed = await cliSignalled(["run", join(folder, "long.json"), "--out", out, "--resume", checkpoint, "--checkpoint", checkpoint, "--checkpoint-every", "1000000"], {
      when: started,
      delayMs: 2500,
    })
    expect(resumed.code, resumed.stderr).toBe(130)
    expect(resumed.stdout).toContain(`resumed from ${checkpoint} after step ${saved.step} of 2000000`)
    const again = await Effect.runPromise(readCheckpoint(checkpoint))
    // It counts the steps it trained, not the run's total (was "33000 steps in 1.6 s" for ~540).
    expect(resumed.stdout).toContain(`${again.step - saved.step} steps (${saved.step + 1} to ${again.step}, resumed) in `)
    expect(again.step).toBeGreaterThan(saved.step)
    const all = await eventsOf(out)
    // The first run's events are kept (appended to, not truncated), then the resume, then its steps.
    expect(all.slice(0, logged.length)).toEqual(logged)
    expect(all[logged.length]).toMatchObject({ _tag: "Resumed", step: saved.step, path: checkpoint })
    expect(stepsOf(all)).toEqual(range(1, again.step))
  })

  it("SIGINT without --checkpoint exits 130 with a summary marked interrupted and the weights; SIGTERM exits 143", { timeout: 600_000 }, async () => {
    const started = (o: { stdout: string }) => o.stdout.includes("writing to")
    const out = join(folder, "no-checkpoint")
    const stopped = await cliSignalled(["run", join(folder, "long.json"), "--out", out], { when: started, delayMs: 2500 })
    expect(stopped.signalled).toBe(true)
    expect(stopped.code, stopped.stderr).toBe(130)
    expect(stopped.stderr).toMatch(/^interrupted by SIGINT after step \d+ of 2000000: .*no checkpoint \(run with --checkpoint FILE to be able to resume\)$/m)
    const summary = JSON.parse(await readFile(join(out, "summary.json"), "utf8")) as { summary: { interrupted: boolean; steps: number } }
    expect(summary.summary.interrupted).toBe(true)
    expect(stepsOf(await eventsOf(out)).length).toBe(summary.summary.steps)
    expect(await readFile(join(out, "model.json"), "utf8")).toContain("weightsManifest")
    const terminated = await cliSignalled(["run", join(folder, "long.json"), "--out", join(folder, "terminated")], { when: started, delayMs: 2500, signal: "SIGTERM" })
    expect(terminated.code, terminated.stderr).toBe(143)
    expect(terminated.stderr).toMatch(/^interrupted by SIGTERM after step \d+ of 2000000/m)
  })
})
