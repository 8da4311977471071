import { execFile } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { createRequire } from "node:module"
import { pathToFileURL } from "node:url"
import { promisify } from "node:util"
import { describe, expect, it } from "vitest"

/** Run an example with plain Node + tsx; its last stdout line as JSON. A user sees no tfjs banner on stderr. */
const run = async (file: string) => {
  // From a scratch working folder (an example may write files there), with the repository's tsconfig (its `paths` resolve `scalpel`).
  const cwd = mkdtempSync(join(tmpdir(), "scalpel-example-"))
  const { stdout, stderr } = await promisify(execFile)(process.execPath, ["--import", pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href, resolve(file)], {
    cwd,
    env: { ...process.env, TSX_TSCONFIG_PATH: resolve("tsconfig.json") },
  }).finally(() => rmSync(cwd, { recursive: true, force: true }))
  expect(stderr).not.toMatch(/looks like you are running TensorFlow\.js in Node\.js/)
  return JSON.parse(stdout.trim().split("\n").at(-1)!) as unknown
}

describe("the README example", () => {
  const example = readFileSync("examples/readme.ts", "utf8")

  it("is shown verbatim in the README", () => {
    expect(readFileSync("README.md", "utf8")).toContain(example)
  })

  it("runs, reaches the main optimum, and hands back the trained weights", async () => {
    const summary = (await run("examples/readme.ts")) as { finalLosses: { fit: number; prior: number }; norm: number }
    expect(summary.finalLosses.fit).toBeLessThan(1e-2)
    expect(summary.finalLosses.prior).toBeGreaterThan(0)
    // prior = ½/256·‖w‖², so the returned weights are the ones the final loss was measured on.
    expect(summary.norm).toBeCloseTo(Math.sqrt((summary.finalLosses.prior * 256) / 0.5), 3)
  })
})

describe("the README's tfjs-layers example (examples/model.ts)", () => {
  const example = readFileSync("examples/model.ts", "utf8")

  it("is shown verbatim in the README", () => {
    expect(readFileSync("README.md", "utf8")).toContain(example)
  })

  it("trains the model itself: its own predictions improve, and match the run's final loss; saved and loaded back (file://, no tfjs-node) it predicts the same", async () => {
    const out = (await run("examples/model.ts")) as { before: number; after: number; loaded: number; finalLosses: { fit: number } }
    expect(out.after).toBeLessThan(out.before / 4)
    expect(out.after).toBeCloseTo(out.finalLosses.fit, 6)
    expect(out.loaded).toBe(out.after)
  })
})

describe("the Node versions README states", () => {
  const readme = readFileSync("README.md", "utf8")
  const ci = readFileSync(".ci/run", "utf8")

  it("are package.json's engines, and the Node 24 that .ci/run installs and tests on", () => {
    const engines = (JSON.parse(readFileSync("package.json", "utf8")) as { engines: { node: string } }).engines.node
    expect(readme).toContain(`\`engines\` says \`${engines}\``)
    const pinned = /^node24_version=(\S+)$/m.exec(ci)?.[1]
    expect(pinned).toMatch(/^24\.\d+\.\d+$/)
    expect(readme).toContain(`CI runs the whole suite on it too (${pinned})`)
    // Both runs are in the script: the machine's Node, then the pinned one.
    expect(ci).toMatch(/^suite "\$\(dirname "\$\(command -v node\)"\)"$/m)
    expect(ci).toMatch(/^suite "\$node24_home\/bin"$/m)
  })

  it("say which runtimes get the relaxed-SIMD kernel: Node 20 never, and this Node as WebAssembly.validate says", async () => {
    expect(readme).toMatch(/\| Node 20\.19\+ \| [^|]+ \| plain SIMD only: Node 20 rejects relaxed SIMD \|/)
    expect(readme).toMatch(/\| Node 24 LTS \| [^|]+ \| plain SIMD by default; relaxed-SIMD fused multiply-add if you opt in \|/)
    // f32x4.relaxed_madd(local 0, local 1, local 2) in a function (v128, v128, v128) -> v128.
    const { default: wabt } = await import("wabt")
    const module = (await wabt()).parseWat(
      "relaxed.wat",
      '(module (func (export "f") (param v128 v128 v128) (result v128) (f32x4.relaxed_madd (local.get 0) (local.get 1) (local.get 2))))',
      { simd: true, relaxed_simd: true },
    )
    // The project's `lib` has no DOM typings, so no WebAssembly value type (as in src/core/hostSweeps.ts).
    const { WebAssembly: wasm } = globalThis as unknown as { readonly WebAssembly: { readonly validate: (bytes: Uint8Array) => boolean } }
    const validates = wasm.validate(module.toBinary({}).buffer)
    module.destroy()
    const major = Number(process.versions.node.split(".")[0])
    expect(validates).toBe(major >= 22)
  })
})
