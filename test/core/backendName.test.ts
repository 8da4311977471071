import { describe, expect, it } from "vitest"
import { type BackendChoice, selectBackendPromise } from "../../src/core/backend.ts"
import { BackendUnavailable } from "../../src/core/errors.ts"

describe("an unknown backend name", () => {
  it("is a BackendUnavailable naming the valid backends (was: importers[name] is not a function)", async () => {
    const error = await selectBackendPromise("bogus" as BackendChoice).then(() => undefined, (e: unknown) => e)
    expect(error).toBeInstanceOf(BackendUnavailable)
    expect((error as BackendUnavailable).message).toBe("backend 'bogus' is unavailable: no backend has that name. Use one of node, wasm, cpu, webgl, webgpu or auto")
  })
})
