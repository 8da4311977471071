import { Effect } from "effect"
import fc from "fast-check"
import { beforeAll, describe, expect, it } from "vitest"
import { activateBackend } from "../../src/core/backend.ts"
import { installFastGather, isFastGatherInstalled, uninstallFastGather } from "../../src/core/fastGather.ts"
import { tf } from "../../src/core/tf.ts"
import { tfjsThenWrapped } from "../support/kernelWrapping.ts"

/** tfjs's kernel, then the wrapped one, on the same inputs. */
const both = tfjsThenWrapped({ install: () => installFastGather("wasm"), uninstall: uninstallFastGather })

/** A shape (rank 1–4), an axis of it, and indices (rank 0–2) into that axis, repeats allowed. */
const gatherCase = fc
  .array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 4 })
  .chain((shape) =>
    fc.record({
      shape: fc.constant(shape),
      axis: fc.integer({ min: 0, max: shape.length - 1 }),
      seed: fc.integer({ min: 0, max: 1000 }),
      dtype: fc.constantFrom("float32" as const, "int32" as const),
    }),
  )
  .chain((c) =>
    fc.record({
      ...Object.fromEntries(Object.entries(c).map(([k, v]) => [k, fc.constant(v)])),
      indexShape: fc.array(fc.integer({ min: 1, max: 5 }), { maxLength: 2 }),
    }).chain((d) =>
      fc.record({
        ...Object.fromEntries(Object.entries(d).map(([k, v]) => [k, fc.constant(v)])),
        indices: fc.array(fc.integer({ min: 0, max: c.shape[c.axis]! - 1 }), {
          minLength: d.indexShape.reduce((a: number, b: number) => a * b, 1),
          maxLength: d.indexShape.reduce((a: number, b: number) => a * b, 1),
        }),
      }),
    ),
  ) as fc.Arbitrary<{ shape: Array<number>; axis: number; seed: number; dtype: "float32" | "int32"; indexShape: Array<number>; indices: Array<number> }>

describe("fast gathers on wasm", () => {
  beforeAll(async () => {
    await Effect.runPromise(activateBackend("wasm"))
  })

  it("activating wasm installs it", () => {
    expect(isFastGatherInstalled("wasm")).toBe(true)
  })

  it("gather is a copy: bit-for-bit tfjs's values and shape, any axis, index rank and repeats", () => {
    fc.assert(
      fc.property(gatherCase, ({ shape, axis, seed, dtype, indexShape, indices }) => {
        const base = tf.randomNormal(shape, 0, 100, "float32", seed)
        const x = dtype === "int32" ? tf.cast(base, "int32") : base
        const idx = tf.tensor(indices, indexShape, "int32")
        const before = tf.memory().numTensors
        const [reference, fast] = both(() => {
          const g = tf.gather(x, idx, axis)
          const out = { shape: g.shape, dtype: g.dtype, values: Array.from(g.dataSync()) }
          g.dispose()
          return out
        })
        expect(tf.memory().numTensors).toBe(before)
        tf.dispose([base, x, idx])
        expect(fast).toEqual(reference)
      }),
      { numRuns: 80 },
    )
  })

  it("the reference step's batch (256 rows of 2048×784) is the same bytes", () => {
    const x = tf.randomUniform([2048, 784], 0, 1, "float32", 1)
    const idx = tf.tensor1d(Int32Array.from({ length: 256 }, (_, i) => (i * 977) % 2048), "int32")
    const [reference, fast] = both(() => tf.tidy(() => Buffer.from(tf.gather(x, idx).dataSync().buffer).toString("base64")))
    expect(fast).toBe(reference)
    tf.dispose([x, idx])
  })

  it("an index out of range goes to tfjs's kernel (whatever tfjs does, the wrapped kernel does the same)", () => {
    const x = tf.tensor2d([1, 2, 3, 4], [2, 2])
    const idx = tf.tensor1d([0, 5], "int32")
    const run = () => {
      try {
        return Array.from(tf.gather(x, idx).dataSync())
      } catch (error) {
        return error instanceof Error ? error.message : String(error)
      }
    }
    const [reference, fast] = both(run)
    expect(fast).toEqual(reference)
    tf.dispose([x, idx])
  })
})
