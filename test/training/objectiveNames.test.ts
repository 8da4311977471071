import { describe, expect, expectTypeOf, it } from "vitest"
import { tf } from "../../src/core/tf.ts"
import { objective, type Params } from "../../src/dsl/objective.ts"
import { sgd } from "../../src/dsl/spec.ts"
import { constrain, sum, type Structure } from "../../src/dsl/structure.ts"
import { trainPromise } from "../../src/training/train.ts"
import { useCpuBackend } from "../support/cpuBackend.ts"

useCpuBackend()

const fit = objective("fit", (p: Params<"w">) => tf.sum(tf.square(tf.sub(p.w, 1))))
const prior = objective("prior", (p: Params<"w">) => tf.mul(1e-3, tf.sum(tf.square(p.w))))
const size = objective("size", (p: Params<"w">) => tf.sum(tf.square(p.w)))
const parameters = { w: { shape: [2], init: { kind: "zeros" as const } } }

describe("results keyed by the declared objective names", () => {
  it("finalLosses, firstLosses and the history's losses have exactly the declared names as keys (type-checked by tsc)", async () => {
    const result = await trainPromise({ parameters, structure: sum(fit, prior, constrain(size, { atMost: 1 })), optimizer: sgd({ learningRate: 0.1 }), steps: 2, batchSize: 1 }, "primal-dual")
    tf.dispose(Object.values(result.parameters))
    expectTypeOf(result.finalLosses).toEqualTypeOf<Readonly<Record<"fit" | "prior" | "size", number>>>()
    expectTypeOf(result.firstLosses).toEqualTypeOf<Readonly<Record<"fit" | "prior" | "size", number>>>()
    expectTypeOf(result.history.steps[0]!.losses).toEqualTypeOf<Readonly<Record<"fit" | "prior" | "size", number>>>()
    // @ts-expect-error: 'fitt' is not a declared objective
    void result.finalLosses.fitt
    const fitLoss: number = result.finalLosses.fit // a number, not number | undefined
    expect(fitLoss).toBeGreaterThan(0)
    expect(Object.keys(result.finalLosses).sort()).toEqual(["fit", "prior", "size"])
  })

  it("a structure typed only as Structure gives string keys, as before", async () => {
    const structure: Structure = sum(fit, prior)
    const result = await trainPromise({ parameters, structure, optimizer: sgd({ learningRate: 0.1 }), steps: 1, batchSize: 1 }, "weighted-sum")
    tf.dispose(Object.values(result.parameters))
    expectTypeOf(result.finalLosses).toEqualTypeOf<Readonly<Record<string, number>>>()
  })
})
