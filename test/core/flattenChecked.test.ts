import { Effect } from "effect"
import fc from "fast-check"
import { beforeAll, describe, expect, it } from "vitest"
import { activateBackend } from "../../src/core/backend.ts"
import { hostKernel } from "../../src/core/hostKernels.ts"
import { runsOnSimd } from "../../src/core/hostSweeps.ts"
import { flattenChecked, layoutOf } from "../../src/core/paramVector.ts"
import { tf } from "../../src/core/tf.ts"

/** Named float32 tensors of assorted shapes (sizes 0…23, so the SIMD loops' tails are exercised). */
const namedTensors = fc.dictionary(
  fc.stringMatching(/^[a-z]{1,4}$/),
  fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 1, max: 6 })).chain(([rows, cols]) =>
    fc.record({ shape: fc.constant([rows, cols]), values: fc.float32Array({ minLength: rows * cols, maxLength: rows * cols }) }),
  ),
  { minKeys: 1, maxKeys: 5 },
)

describe.each(["cpu", "wasm"] as const)("flattenChecked on %s", (backend) => {
  beforeAll(() => Effect.runPromise(activateBackend(backend)))

  it(`host kernels ${backend === "wasm" ? "run" : "do not run"} the WebAssembly SIMD sweeps`, () => {
    const x = tf.ones([10])
    let simd: boolean | undefined
    const outputs = hostKernel([x], 1, ([input], [output]) => {
      simd = runsOnSimd(input!, output!)
      output!.set(input!)
    })
    expect(simd).toBe(backend === "wasm")
    tf.dispose([x, ...(outputs ?? [])])
  })

  it("gives the layout-order concatenation, bit for bit, and finite = every value is finite; allocates only the result", () =>
    fc.assert(
      fc.property(namedTensors, (entries) => {
        const tensors = Object.fromEntries(Object.entries(entries).map(([name, e]) => [name, tf.tensor(e.values, [...e.shape], "float32")]))
        const layout = layoutOf(tensors)
        const before = tf.memory().numTensors
        const { flat, finite } = flattenChecked(layout, tensors)
        expect(tf.memory().numTensors).toBe(before + 1)
        const expected = new Float32Array(layout.size)
        for (const e of layout.entries) expected.set(entries[e.name]!.values, e.offset)
        const actual = flat.dataSync() as Float32Array
        expect(Array.from(new Uint32Array(actual.buffer, actual.byteOffset, actual.length))).toEqual(Array.from(new Uint32Array(expected.buffer)))
        expect(finite).toBe(expected.every(Number.isFinite))
        tf.dispose([flat, ...Object.values(tensors)])
      }),
      { numRuns: 60 },
    ))
})
