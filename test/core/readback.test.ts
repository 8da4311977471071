import { describe, expect, it } from "vitest"
import { synchronousReadbackProblem } from "../../src/core/readback.ts"
import { tf } from "../../src/core/tf.ts"

describe("synchronousReadbackProblem", () => {
  it("finds nothing wrong on the cpu backend, and leaks nothing", async () => {
    await tf.setBackend("cpu")
    const before = tf.memory().numTensors
    expect(synchronousReadbackProblem()).toBeUndefined()
    expect(tf.memory().numTensors).toBe(before)
  })

  it("names the first wrong read: zeros (as tfjs-backend-webgpu gives on SwiftShader), or a read that throws", async () => {
    await tf.setBackend("cpu")
    const before = tf.memory().numTensors
    expect(synchronousReadbackProblem((t) => new Float32Array(t.size))).toBe("x + 1: got [0, 0, 0, 0], expected [2, -1, 4.5, 5]")
    let reads = 0
    expect(synchronousReadbackProblem((t) => (++reads < 3 ? t.dataSync() : new Float32Array(t.size)))).toBe("sum(x): got [0], expected [6.5]")
    expect(
      synchronousReadbackProblem(() => {
        throw new Error("readSync is only available for CPU-resident tensors")
      }),
    ).toBe("x + 1: reading it failed (readSync is only available for CPU-resident tensors)")
    expect(tf.memory().numTensors).toBe(before)
  })
})
