import { Effect } from "effect"
import fc from "fast-check"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { activateBackend } from "../../src/core/backend.ts"
import { areFastGradientsInstalled, installFastGradients, uninstallFastGradients } from "../../src/core/fastGradients.ts"
import { tf } from "../../src/core/tf.ts"
import { tfjsThenWrapped } from "../support/kernelWrapping.ts"

/** tfjs's gradients, then scalpel's, on the same inputs. */
const both = tfjsThenWrapped({ install: installFastGradients, uninstall: uninstallFastGradients })

const bytes = (t: tf.Tensor): string => Buffer.from(t.dataSync().buffer.slice(0)).toString("base64")

/**
 * The sizes of the value arrays handed to the engine from JavaScript while `fn` runs
 * (`ENGINE.makeTensor` with values: tf.tensor, tf.ones, tf.zeros, ... all go through it).
 */
const uploadsDuring = (fn: () => void): Array<number> => {
  const engine = tf.engine() as unknown as { makeTensor: (values: ArrayLike<unknown>, ...rest: Array<unknown>) => unknown }
  const original = engine.makeTensor
  const sizes: Array<number> = []
  engine.makeTensor = function (this: unknown, values, ...rest) {
    sizes.push(values.length)
    return original.call(this, values, ...rest)
  }
  try {
    fn()
  } finally {
    engine.makeTensor = original
  }
  return sizes
}

describe("backend-resident gradients of Sum and Mean", () => {
  beforeAll(async () => {
    await Effect.runPromise(activateBackend("wasm"))
  })
  afterAll(() => installFastGradients())

  it("activating a backend installs them", () => {
    expect(areFastGradientsInstalled()).toBe(true)
  })

  it("no array of the reduced tensor's size crosses from JavaScript (tfjs's own gradient uploads one of 784·1024 ones)", () => {
    const w = tf.variable(tf.randomNormal([784, 1024], 0, 1, "float32", 4))
    const prior = () => tf.tidy(() => tf.variableGrads(() => tf.add(tf.sum(tf.square(w)), tf.mean(w)) as tf.Scalar, [w]).grads[w.name]!.dataSync())
    const [reference, fast] = both(() => uploadsDuring(prior))
    expect(reference.filter((n) => n >= w.size)).toEqual([w.size, w.size])
    expect(fast.filter((n) => n >= w.size)).toEqual([])
    w.dispose()
  })

  it("bit for bit tfjs's gradients for every axis set and keepDims, with NaN, ±∞ and −0 in dy's path, leak-free", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 0, max: 1000 }),
        fc.boolean(),
        fc.func(fc.boolean()),
        fc.constantFrom(1, Number.NaN, Number.POSITIVE_INFINITY, -0, 1e-30, 3e38),
        (shape, seed, keepDims, pick, scale) => {
          const axes = shape.map((_, i) => i).filter((i) => pick(i))
          const axis = axes.length === 0 ? undefined : axes
          const x = tf.tidy(() => tf.mul(tf.randomNormal(shape, 0, 1, "float32", seed), tf.pow(10, tf.randomUniform(shape, -8, 8, "float32", seed + 1))))
          const before = tf.memory().numTensors
          // A weighting of the reduced values makes dy a tensor of many values, scaled into special ones.
          const gradients = () =>
            tf.tidy(() => {
              const f = (v: tf.Tensor) => {
                const s = tf.sum(v, axis, keepDims), m = tf.mean(v, axis, keepDims)
                return tf.sum(tf.mul(tf.add(s, m), tf.mul(tf.randomNormal(s.shape, 0, 1, "float32", seed + 2), scale)))
              }
              const g = tf.grad(f)(x)
              return { shape: g.shape, values: bytes(g) }
            })
          const [reference, fast] = both(gradients)
          expect(tf.memory().numTensors).toBe(before)
          x.dispose()
          expect(fast).toEqual(reference)
        },
      ),
      { numRuns: 100 },
    )
  })

  it("a million-parameter L2 prior's gradient: the same bytes as tfjs's", () => {
    const w = tf.variable(tf.mul(tf.randomNormal([1024, 1024], 0, 1, "float32", 9), 1e3))
    const gradient = () => tf.tidy(() => bytes(tf.variableGrads(() => tf.mul(5e-5, tf.sum(tf.square(w))) as tf.Scalar, [w]).grads[w.name]!))
    const [reference, fast] = both(gradient)
    expect(fast).toEqual(reference)
    w.dispose()
  })

  it("uninstalling gives tfjs's gradients back; installing is idempotent", () => {
    installFastGradients()
    installFastGradients()
    uninstallFastGradients()
    expect(areFastGradientsInstalled()).toBe(false)
    expect(uploadsDuring(() => tf.tidy(() => tf.grad((v: tf.Tensor) => tf.sum(v))(tf.zeros([64, 64])).dataSync())).some((n) => n === 64 * 64)).toBe(true)
    installFastGradients()
    expect(areFastGradientsInstalled()).toBe(true)
  })
})
