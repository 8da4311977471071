import { Effect } from "effect"
import fc from "fast-check"
import { beforeAll, describe, expect, it } from "vitest"
import { activateBackend } from "../../src/core/backend.ts"
import { installFastSum, isFastSumInstalled, uninstallFastSum } from "../../src/core/fastSum.ts"
import { tf } from "../../src/core/tf.ts"
import { tfjsThenWrapped } from "../support/kernelWrapping.ts"

/** tfjs's kernel, then the wrapped one, on the same inputs. */
const both = tfjsThenWrapped({ install: () => installFastSum("wasm"), uninstall: uninstallFastSum })

const bytes = (t: tf.Tensor): string => Buffer.from(t.dataSync().buffer.slice(0)).toString("base64")

describe("fast sums over leading axes on wasm", () => {
  beforeAll(async () => {
    await Effect.runPromise(activateBackend("wasm"))
  })

  it("activating wasm installs it", () => {
    expect(isFastSumInstalled("wasm")).toBe(true)
  })

  it("bit-for-bit tfjs's sums for every axis set and keepDims, on values spanning 1e-8 … 1e8 (rounding order shows)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 0, max: 1000 }),
        fc.boolean(),
        fc.func(fc.boolean()),
        (shape, seed, keepDims, pick) => {
          const axes = shape.map((_, i) => i).filter((i) => pick(i))
          const x = tf.tidy(() => tf.mul(tf.randomNormal(shape, 0, 1, "float32", seed), tf.pow(10, tf.randomUniform(shape, -8, 8, "float32", seed + 1))))
          const before = tf.memory().numTensors
          const [reference, fast] = both(() => tf.tidy(() => {
            const s = tf.sum(x, axes.length === 0 ? undefined : axes, keepDims)
            return { shape: s.shape, values: bytes(s) }
          }))
          expect(tf.memory().numTensors).toBe(before)
          x.dispose()
          expect(fast).toEqual(reference)
        },
      ),
      { numRuns: 120 },
    )
  })

  it("the bias gradient of the reference step (Σ over 256 rows of 256×1024) is the same bytes, NaN and ±0 included", () => {
    const x = tf.tidy(() => tf.mul(tf.randomNormal([256, 1024], 0, 1, "float32", 3), 1e3))
    const special = tf.tensor2d([[Number.NaN, -0, 1], [1, -0, -1]])
    const [reference, fast] = both(() => tf.tidy(() => [bytes(tf.sum(x, 0)), bytes(tf.sum(special, 0)), bytes(tf.sum(x, [0], true))]))
    expect(fast).toEqual(reference)
    tf.dispose([x, special])
  })
})
