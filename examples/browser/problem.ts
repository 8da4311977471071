/**
 * The README's problem, shared by the browser page (`main.ts`) and the test that compares the
 * browser's numbers with Node's: least squares on 64 random rows of 256 features (many exact fits),
 * with an L2 prior on the weights, trained with Bloop (the prior only in the directions that leave
 * the fit's progress alone) or with the weighted sum of both losses.
 */
import { Effect, Stream } from "effect"
import {
  bloop,
  makeSpec,
  objective,
  prioritize,
  sgd,
  tf,
  trainingEvents,
  weightedSum,
  type BackendInfo,
  type StepEvent,
  type TrainingSummary,
} from "scalpel"
import type { ProductCheck } from "./productCheck.ts"

/** The two methods the page compares. */
export const methods = ["bloop", "weighted-sum"] as const
export type Method = (typeof methods)[number]

/** One finished run, as the page reports it. */
export interface MethodResult {
  readonly finalLosses: Readonly<Record<string, number>>
  readonly steps: number
  readonly wallTimeMs: number
  /** The tfjs engine that ran it (`tf.getBackend()`). */
  readonly engine: string
}

/** Everything the page knows, on `window.scalpelExample` (the browser test reads it). */
export interface ExampleState {
  state: "idle" | "running" | "done" | "failed"
  backend?: BackendInfo
  results: Partial<Record<Method, MethodResult>>
  /** The product check of `productCheck.ts` on the page's backend. */
  products?: ProductCheck
  error?: string
}

/** The README's number of steps. */
export const readmeSteps = 2000

/**
 * Train the README's problem with `method` on the active backend, calling `onStep` after every
 * step; resolves to the run's summary (final full-data losses, backend, wall time).
 */
export const trainReadmeProblem = (method: Method, steps: number, onStep: (event: StepEvent) => void = () => undefined) =>
  Effect.gen(function* () {
    const data = yield* Effect.acquireRelease(
      Effect.sync(() => ({ x: tf.randomNormal([64, 256], 0, 1 / 16, "float32", 1), y: tf.randomNormal([64, 1], 0, 1, "float32", 2) })),
      ({ x, y }) => Effect.sync(() => tf.dispose([x, y])),
    )
    const rows = { name: "rows", size: 64, batch: (i: Int32Array) => ({ x: tf.gather(data.x, i), y: tf.gather(data.y, i) }) }
    const fit = objective("fit", (p, b: { x: tf.Tensor; y: tf.Tensor }) =>
      tf.mul(0.5, tf.losses.meanSquaredError(b.y, tf.matMul(b.x, p.w!))), rows)
    const prior = objective("prior", (p) => tf.mul(0.5 / 256, tf.sum(tf.square(p.w!))))
    const spec = yield* makeSpec({
      parameters: { w: { shape: [256, 1], init: { kind: "zeros" } } },
      structure: prioritize(fit, prior, { lambda: 1 }),
      optimizer: sgd({ learningRate: 0.5 }),
      steps,
      batchSize: 8,
      seed: 1,
    })
    const rule =
      method === "bloop"
        ? yield* bloop.lower(spec.structure, yield* bloop.decodeOptions({ rho: 0.01 }), { seed: 1 })
        : yield* weightedSum.lower(spec.structure, yield* weightedSum.decodeOptions({}), { seed: 1 })
    let summary: TrainingSummary | undefined
    yield* Stream.runForEach(trainingEvents(spec, rule), (event) =>
      Effect.sync(() => {
        if (event._tag === "Step") onStep(event)
        else if (event._tag === "Finished") summary = event.summary
      }),
    )
    if (summary === undefined) return yield* Effect.dieMessage("training ended without a summary")
    return summary
  }).pipe(Effect.scoped)
