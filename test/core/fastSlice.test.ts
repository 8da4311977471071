import { Effect } from "effect"
import fc from "fast-check"
import { beforeAll, describe, expect, it } from "vitest"
import { activateBackend } from "../../src/core/backend.ts"
import { installFastSlice, isFastSliceInstalled, uninstallFastSlice } from "../../src/core/fastSlice.ts"
import { tf } from "../../src/core/tf.ts"
import { tfjsThenWrapped } from "../support/kernelWrapping.ts"

/** A tensor shape (rank 1–4, small dims), and a slice box inside it. */
const sliceCase = fc
  .array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 4 })
  .chain((shape) =>
    fc.record({
      shape: fc.constant(shape),
      begin: fc.tuple(...shape.map((d) => fc.integer({ min: 0, max: d - 1 }))),
      seed: fc.integer({ min: 0, max: 1000 }),
    }),
  )
  .chain(({ shape, begin, seed }) =>
    fc.record({
      shape: fc.constant(shape),
      begin: fc.constant(begin as Array<number>),
      size: fc.tuple(...shape.map((d, i) => fc.integer({ min: 1, max: d - begin[i]! }))),
      seed: fc.constant(seed),
    }),
  )

/** tfjs's kernel, then the wrapped one, on the same inputs. */
const both = tfjsThenWrapped({ install: () => installFastSlice("wasm"), uninstall: uninstallFastSlice }, false)

describe("fast contiguous slices on wasm", () => {
  beforeAll(async () => {
    await Effect.runPromise(activateBackend("wasm"))
  })

  it("slice is a copy: bit-for-bit the values and shape of tfjs's kernel, contiguous or not", () => {
    fc.assert(
      fc.property(sliceCase, ({ shape, begin, size, seed }) => {
        const x = tf.randomNormal(shape, 0, 1, "float32", seed)
        const [reference, fast] = both(() => {
          const s = tf.slice(x, begin, size as Array<number>)
          const out = { shape: s.shape, values: Array.from(s.dataSync()) }
          s.dispose()
          return out
        })
        x.dispose()
        expect(fast).toEqual(reference)
      }),
      { numRuns: 60 },
    )
  })

  it("split of a flat vector into variable-sized pieces equals tfjs's (the unflatten of every step)", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 6 }), fc.integer({ min: 0, max: 99 }), (sizes, seed) => {
        const total = sizes.reduce((a, b) => a + b, 0)
        const x = tf.randomNormal([total], 0, 1, "float32", seed)
        const [reference, fast] = both(() => {
          const pieces = tf.split(x, sizes)
          const out = pieces.map((p) => Array.from(p.dataSync()))
          tf.dispose(pieces)
          return out
        })
        x.dispose()
        expect(fast).toEqual(reference)
      }),
      { numRuns: 40 },
    )
  })

  it("leaks neither tensors nor backend buffers, and uninstall restores tfjs's kernels", () => {
    const x = tf.randomNormal([7, 5])
    installFastSlice("wasm")
    expect(isFastSliceInstalled("wasm")).toBe(true)
    const before = tf.memory()
    tf.dispose([tf.slice(x, [2, 0], [3, 5]), tf.slice(x, [1, 1], [2, 2]), ...tf.split(x, [3, 4]), ...tf.split(x, [2, 3], 1)])
    const after = tf.memory()
    expect(after.numTensors).toBe(before.numTensors)
    expect(after.numDataBuffers).toBe(before.numDataBuffers)
    uninstallFastSlice()
    expect(isFastSliceInstalled("wasm")).toBe(false)
    x.dispose()
  })
})
