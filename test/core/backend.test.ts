import { spawnSync } from "node:child_process"
import { fileURLToPath } from "node:url"
import { Effect, Exit, Layer } from "effect"
import { describe, expect, it } from "vitest"
import { Backend, BackendLive, describeBackend, selectBackend } from "../../src/core/backend.ts"
import { tf } from "../../src/core/tf.ts"

const root = fileURLToPath(new URL("../../", import.meta.url))

const nodeInstalled = await import("@tensorflow/tfjs-node" as string).then(
  () => true,
  () => false,
)

describe("backend selection", () => {
  it("auto picks the first backend that loads (node, then wasm, then cpu) and reports why", async () => {
    const info = await Effect.runPromise(selectBackend("auto"))
    expect(info.name).toBe(nodeInstalled ? "node" : "wasm")
    expect(tf.getBackend()).toBe(nodeInstalled ? "tensorflow" : "wasm")
    if (!nodeInstalled) expect(info.reason).toMatch(/tfjs-node is not installed/)
  })

  it("a forced backend is activated", async () => {
    const info = await Effect.runPromise(selectBackend("cpu"))
    expect(info).toMatchObject({ name: "cpu" })
    expect(tf.getBackend()).toBe("cpu")
  })

  it.skipIf(nodeInstalled)("forcing an unavailable backend fails with BackendUnavailable naming what to install", async () => {
    const exit = await Effect.runPromiseExit(selectBackend("node"))
    expect(Exit.isFailure(exit)).toBe(true)
    if (Exit.isFailure(exit) && exit.cause._tag === "Fail") {
      expect(exit.cause.error._tag).toBe("BackendUnavailable")
      expect(exit.cause.error.message).toMatch(/npm install @tensorflow\/tfjs-node/)
    } else {
      throw new Error("expected a typed failure")
    }
  })

  it("SCALPEL_BACKEND selects the backend, and an unknown value is an error, not a fallback", async () => {
    const withEnv = async (value: string) => {
      const previous = process.env.SCALPEL_BACKEND
      process.env.SCALPEL_BACKEND = value
      try {
        return await Effect.runPromiseExit(Effect.provide(Backend, BackendLive as Layer.Layer<Backend, unknown>))
      } finally {
        if (previous === undefined) delete process.env.SCALPEL_BACKEND
        else process.env.SCALPEL_BACKEND = previous
      }
    }
    const cpu = await withEnv("cpu")
    expect(Exit.isSuccess(cpu) && cpu.value.name).toBe("cpu")
    const bad = await withEnv("gpu")
    expect(Exit.isFailure(bad)).toBe(true)
    expect(String(Exit.isFailure(bad) && bad.cause)).toMatch(/SCALPEL_BACKEND names no known backend/)
  })
})

describe("backend selection: SCALPEL_BACKEND and messages", () => {
  const withEnv = async <A>(value: string | undefined, run: () => Promise<A>): Promise<A> => {
    const previous = process.env.SCALPEL_BACKEND
    if (value === undefined) delete process.env.SCALPEL_BACKEND
    else process.env.SCALPEL_BACKEND = value
    try {
      return await run()
    } finally {
      if (previous === undefined) delete process.env.SCALPEL_BACKEND
      else process.env.SCALPEL_BACKEND = previous
    }
  }

  it('selectBackend("auto") honours SCALPEL_BACKEND (empty means unset), and rejects a value that names no backend', async () => {
    const info = await withEnv("cpu", () => Effect.runPromise(selectBackend("auto")))
    expect(info.name).toBe("cpu")
    expect(info.reason).toMatch(/SCALPEL_BACKEND/)
    expect(tf.getBackend()).toBe("cpu")
    expect((await withEnv("", () => Effect.runPromise(selectBackend("auto")))).reason).toMatch(/^auto/)
    const bad = await withEnv("gpu", () => Effect.runPromiseExit(selectBackend("auto")))
    expect(Exit.isFailure(bad)).toBe(true)
    expect(String(Exit.isFailure(bad) && bad.cause)).toMatch(/SCALPEL_BACKEND names no known backend/)
  })

  it("an explicit choice wins over SCALPEL_BACKEND", async () => {
    const info = await withEnv("cpu", () => Effect.runPromise(selectBackend("wasm")))
    expect(info.name).toBe("wasm")
  })

  it.skipIf(nodeInstalled)("auto without tfjs-node says so briefly, without a module-resolution error, and how to get a faster backend", async () => {
    const info = await withEnv(undefined, () => Effect.runPromise(selectBackend("auto")))
    expect(info.reason).not.toMatch(/Cannot find package|imported from/)
    expect(info.reason).toMatch(/@tensorflow\/tfjs-node is not installed/)
    const line = describeBackend(info)
    expect(line).toMatch(/^backend: wasm/)
    expect(line).toMatch(/npm install @tensorflow\/tfjs-node/)
    expect(line.split("\n")).toHaveLength(1)
  })

  it("training on the cpu backend prints no TensorFlow.js banner", { timeout: 600_000 }, async () => {
    const script = [
      'import { Effect } from "effect"',
      'import { selectBackend } from "./src/core/backend.ts"',
      'import { tf } from "./src/core/tf.ts"',
      'await Effect.runPromise(selectBackend("cpu"))',
      "tf.tidy(() => tf.add(tf.tensor1d([1, 2]), 1).dataSync())",
      'console.log("done")',
    ].join("\n")
    const child = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { encoding: "utf8", cwd: root })
    expect(child.stdout.trim(), child.stderr).toBe("done")
    expect(child.stderr).not.toMatch(/looks like you are running TensorFlow\.js in Node\.js/)
    expect(child.stderr).toBe("")
  })
})
