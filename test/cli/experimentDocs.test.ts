/**
 * `scalpel experiment NAME --docs` rewrites docs/ of a repository checkout only: from an installed
 * package it used to overwrite node_modules/scalpel/docs/experiments.md and its figures, and ignore
 * --out. (The installed-CLI case is in test/package/.)
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { Option } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { docsRefusal } from "../../src/cli/experiment.ts"

const repository = fileURLToPath(new URL("../../", import.meta.url))
let installed = ""
let folder = ""
beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), "scalpel-docs-"))
  installed = join(folder, "node_modules", "scalpel")
  // An installed package that (wrongly) shipped its sources still counts as installed.
  await mkdir(join(installed, "src", "cli"), { recursive: true })
  await writeFile(join(installed, "src", "cli", "main.ts"), "")
})
afterAll(() => rm(folder, { recursive: true, force: true }))

describe("experiment --docs", () => {
  it("works in the repository checkout, alone", () => {
    expect(docsRefusal(repository, Option.none())).toBeUndefined()
    expect(docsRefusal(repository, Option.some("out"))?.message).toBe("--docs: --docs writes into the checkout's docs/figures; give either --docs or --out, not both")
  })
  it("is refused from an installed package and from a folder without the sources", () => {
    expect(docsRefusal(installed, Option.none())?.message).toMatch(/^--docs: it rewrites docs\/experiments\.md of a scalpel repository checkout, and .*node_modules\/scalpel is an installed package; use --out DIR/)
    expect(docsRefusal(folder, Option.none())).toBeDefined()
  })
})
