import { execFile } from "node:child_process"
import { promisify } from "node:util"
import { Effect, Either } from "effect"
import { describe, expect, it } from "vitest"
import { importOptional, MissingOptionalDependency } from "../../src/experiments/optionalDependency.ts"

/** A Node --import hook under which `names` cannot be found, as when they are not installed. */
const hiding = (names: ReadonlyArray<string>) =>
  "data:text/javascript," +
  encodeURIComponent(
    `import { register } from "node:module"; register("data:text/javascript," + encodeURIComponent(${JSON.stringify(
      `const hidden = ${JSON.stringify(names)}; export async function resolve(s, c, n) { if (hidden.includes(s)) { const e = new Error("Cannot find package " + s); e.code = "ERR_MODULE_NOT_FOUND"; throw e } return n(s, c) }`,
    )}))`,
  )

const runHidden = async (names: ReadonlyArray<string>, code: string) => {
  const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", "--import", hiding(names), "--input-type=module", "-e", code])
  return stdout.trim()
}

describe("optional peer dependencies are loaded on use, with an install hint when missing", () => {
  it("importOptional: a package that is not found is a MissingOptionalDependency naming the install command; other failures are defects", async () => {
    const missing = await Effect.runPromise(
      Effect.either(importOptional("plots", ["vega", "vega-lite"], () => Promise.reject(Object.assign(new Error("x"), { code: "ERR_MODULE_NOT_FOUND" })))),
    )
    expect(Either.isLeft(missing) && missing.left).toBeInstanceOf(MissingOptionalDependency)
    expect(Either.isLeft(missing) && missing.left.message).toBe("plots need vega and vega-lite, optional dependencies of scalpel that are not installed: npm install vega vega-lite")
    const broken = await Effect.runPromiseExit(importOptional("plots", ["vega"], () => Promise.reject(new Error("syntax error"))))
    expect(broken._tag === "Failure" && broken.cause._tag).toBe("Die")
  })

  it("without vega, rendering a figure fails with the hint (the module itself still loads)", async () => {
    const out = await runHidden(
      ["vega", "vega-lite"],
      `import { Effect, Either } from "effect"; const m = await import(${JSON.stringify(new URL("../../src/experiments/plots.ts", import.meta.url).href)}); const r = await Effect.runPromise(Effect.either(m.renderSvg({}, "t"))); console.log(Either.isLeft(r) ? r.left._tag + ": " + r.left.message : "rendered")`,
    )
    expect(out).toBe("MissingOptionalDependency: plots need vega and vega-lite, optional dependencies of scalpel that are not installed: npm install vega vega-lite")
  })

  it("without bullmq, a queue sweep fails with the hint before connecting", async () => {
    const out = await runHidden(
      ["bullmq"],
      `import { Effect, Either } from "effect"; const c = await import(${JSON.stringify(new URL("../../src/experiments/queue/connection.ts", import.meta.url).href)}); const r = await Effect.runPromise(Effect.either(c.queueEngine)); console.log(Either.isLeft(r) ? r.left.message : "loaded")`,
    )
    expect(out).toBe("queue sweeps need bullmq and ioredis, optional dependencies of scalpel that are not installed: npm install bullmq ioredis")
  })
})
