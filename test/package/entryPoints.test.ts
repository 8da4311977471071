/**
 * The entry points' dependency boundaries, checked on the static import graph of the sources
 * (esbuild's metafile): what `import "scalpel"` loads, whatever the bundler or runtime.
 */
import { fileURLToPath } from "node:url"
import { build, type Metafile } from "esbuild"
import { describe, expect, it } from "vitest"

const root = fileURLToPath(new URL("../../", import.meta.url))

/** Every package and Node built-in that `entry` loads through static imports (dynamic imports excluded: they load on use). */
const staticExternals = async (entry: string): Promise<ReadonlyArray<string>> => {
  const result = await build({
    entryPoints: [entry],
    absWorkingDir: root,
    bundle: true,
    write: false,
    metafile: true,
    platform: "node",
    format: "esm",
    packages: "external",
    logLevel: "silent",
  })
  const inputs: Metafile["inputs"] = result.metafile.inputs
  const seen = new Set<string>()
  const externals = new Set<string>()
  const visit = (path: string): void => {
    if (seen.has(path)) return
    seen.add(path)
    for (const imported of inputs[path]?.imports ?? []) {
      if (imported.kind !== "import-statement") continue
      if (imported.external === true) externals.add(imported.path)
      else visit(imported.path)
    }
  }
  visit(entry)
  return [...externals].sort()
}

/** The package a specifier names: `@effect/cli/Command` → `@effect/cli`, `vega` → `vega`. */
const packageOf = (specifier: string): string => specifier.split("/").slice(0, specifier.startsWith("@") ? 2 : 1).join("/")

const commandLineAndPlots = ["@effect/cli", "@effect/platform-node", "@effect/platform", "@effect/printer", "@effect/printer-ansi", "vega", "vega-lite"]
const isNodeBuiltin = (specifier: string): boolean => specifier.startsWith("node:")

describe("entry points", () => {
  it("scalpel loads only effect and @tensorflow/tfjs: no command line, plots or Node built-ins (it runs in browsers)", async () => {
    const loaded = (await staticExternals("src/index.ts")).map(packageOf)
    expect(loaded.filter((p) => commandLineAndPlots.includes(p))).toEqual([])
    expect(loaded.filter(isNodeBuiltin)).toEqual([])
    expect(new Set(loaded)).toEqual(new Set(["effect", "@tensorflow/tfjs"]))
  })

  it("scalpel/internals loads only effect and @tensorflow/tfjs too (browser-safe)", async () => {
    const loaded = (await staticExternals("src/internals/index.ts")).map(packageOf)
    expect(new Set(loaded)).toEqual(new Set(["effect", "@tensorflow/tfjs"]))
  })

  it("scalpel/testing adds only fast-check to that", async () => {
    const loaded = (await staticExternals("src/testing/index.ts")).map(packageOf)
    expect(new Set(loaded)).toEqual(new Set(["effect", "@tensorflow/tfjs", "fast-check"]))
  })

  it("scalpel/node loads Node built-ins but no command line or plots", async () => {
    const loaded = (await staticExternals("src/node/index.ts")).map(packageOf)
    expect(loaded.filter((p) => commandLineAndPlots.includes(p))).toEqual([])
  })

  it("scalpel/experiments and the command line load the optional packages (plots, queue) only on use, by dynamic import", async () => {
    for (const entry of ["src/experiments/index.ts", "src/cli/main.ts"]) {
      const loaded = (await staticExternals(entry)).map(packageOf)
      expect(loaded.filter((p) => ["vega", "vega-lite", "bullmq", "ioredis"].includes(p)), entry).toEqual([])
    }
  })

  it("the scalpel command's launcher loads nothing before checking that the command line's packages are installed", async () => {
    expect(await staticExternals("src/cli/bin.ts")).toEqual([])
  })

  it("scalpel/experiments loads no command-line package", async () => {
    const loaded = (await staticExternals("src/experiments/index.ts")).map(packageOf)
    expect(loaded.filter((p) => p.startsWith("@effect/"))).toEqual([])
  })
})
