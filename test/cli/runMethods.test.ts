/**
 * `scalpel run` with a method added for issue #14 named in the spec file: FAMO, a loss-reading
 * rule whose logits are its state. The JSON path of every built-in method is tested in-process in
 * test/dsl/everyMethod.test.ts; this checks that the command line takes the same path (one run:
 * each costs seconds).
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { cli } from "../support/cli.ts"

let folder = ""
const base = {
  problem: { name: "least-squares", options: { examples: 32 } },
  optimizer: { kind: "sgd", learningRate: 0.05 },
  steps: 6,
  batchSize: 8,
  seed: 2,
}
const specs = {
  famo: { ...base, structure: { kind: "prioritize", main: "fit", aux: "prior", lambda: 0.5 }, method: { name: "famo" } },
}

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), "scalpel-methods-"))
  for (const [name, spec] of Object.entries(specs)) await writeFile(join(folder, `${name}.json`), JSON.stringify(spec))
})
afterAll(() => rm(folder, { recursive: true, force: true }))

describe("scalpel run with the methods of issue #14", () => {
  it("famo: the spec file trains and writes its summary", async () => {
    await Promise.all(
      Object.keys(specs).map(async (name) => {
        const out = join(folder, `${name}-out`)
        const { code, stderr } = await cli(["run", join(folder, `${name}.json`), "--out", out])
        expect(stderr, name).toBe("")
        expect(code, name).toBe(0)
        const summary = JSON.parse(await readFile(join(out, "summary.json"), "utf8")) as { summary: { steps: number; rule: string; finalLosses: Record<string, number> } }
        expect(summary.summary.steps, name).toBe(6)
        expect(summary.summary.rule, name).toBe(name)
        expect(Object.values(summary.summary.finalLosses).every(Number.isFinite), name).toBe(true)
      }),
    )
  })
})
