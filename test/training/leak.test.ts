import { Effect, Stream } from "effect"
import { describe, expect, it } from "vitest"
import { tf } from "../../src/core/tf.ts"
import { makeSpec, sgd } from "../../src/dsl/spec.ts"
import { exampleStructureFor } from "../../src/interpreters/builtinExamples.ts"
import { builtinInterpreters } from "../../src/interpreters/builtins.ts"
import { builtinOptionsFor } from "../support/builtinOptions.ts"
import { leastSquaresProblem } from "../../src/problems/leastSquares.ts"
import { trainingEvents } from "../../src/training/train.ts"
import { useCpuBackend } from "../support/cpuBackend.ts"

useCpuBackend()

const steps = 1000

describe("training is leak-free over 1,000 steps", () => {
  it.each([...builtinInterpreters.keys()])("%s: tensor count and bytes at step 1000 equal those at step 100; all released at the end", async (name) => {
    const problem = leastSquaresProblem({ examples: 16, dimensions: 32, seed: 3 })
    const baseline = tf.memory()
    const memoryAt = new Map<number, { numTensors: number; numBytes: number }>()
    await Effect.runPromise(
      Effect.gen(function* () {
        const spec = yield* makeSpec({
          parameters: problem.parameters,
          // primal-dual lowers constraints, not priorities: it gets "min fit s.t. prior ≤ 0.1".
          structure: exampleStructureFor(name, problem.objectives.fit!, problem.objectives.prior!, { lambda: 0.5, atMost: 0.1 }),
          optimizer: sgd({ learningRate: 0.1 }),
          steps,
          batchSize: 4,
          seed: 1,
        })
        const interpreter = builtinInterpreters.get(name)!
        const rule = yield* interpreter.lower(spec.structure, yield* interpreter.decodeOptions(builtinOptionsFor(name)), { seed: 1 })
        yield* trainingEvents(spec, rule).pipe(
          Stream.tap((event) =>
            Effect.sync(() => {
              if (event._tag === "Step" && (event.step === 100 || event.step === steps)) {
                const { numTensors, numBytes } = tf.memory()
                memoryAt.set(event.step, { numTensors, numBytes })
              }
            }),
          ),
          Stream.runDrain,
        )
      }),
    )
    expect(memoryAt.get(steps)).toEqual(memoryAt.get(100))
    expect(tf.memory().numTensors).toBe(baseline.numTensors)
    problem.dispose()
  })
})
