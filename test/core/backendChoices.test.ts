import { Effect, Exit } from "effect"
import { describe, expect, it } from "vitest"
import { autoOrder, inBrowser, selectBackend } from "../../src/core/backend.ts"

const failureMessage = async (effect: Effect.Effect<unknown, { readonly _tag: string; readonly message: string }>) => {
  const exit = await Effect.runPromiseExit(effect)
  if (Exit.isFailure(exit) && exit.cause._tag === "Fail") return `${exit.cause.error._tag}: ${exit.cause.error.message}`
  throw new Error("expected a typed failure")
}

// The browser side of these choices runs in headless Chromium: test/browser/example.test.ts.
describe("backend choices under Node", () => {
  it("auto tries node, wasm, cpu (never the browser-only GPU backends)", () => {
    expect(inBrowser()).toBe(false)
    expect(autoOrder()).toEqual(["node", "wasm", "cpu"])
  })

  it("forcing webgl fails with BackendUnavailable saying WebGL exists in browsers only", async () => {
    expect(await failureMessage(selectBackend("webgl"))).toMatch(/^BackendUnavailable: backend 'webgl' is unavailable: .*WebGL exists in browsers only/)
  })

  it("forcing webgpu without its package fails naming the package to import", async () => {
    expect(await failureMessage(selectBackend("webgpu"))).toMatch(/^BackendUnavailable: backend 'webgpu' .*not registered.*@tensorflow\/tfjs-backend-webgpu/)
  })
})
