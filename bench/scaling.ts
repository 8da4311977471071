/**
 * Scaling with the number of objectives: the rule's `step` alone (gradients given) for k = 2…16
 * objectives over 1e6 parameters, for PCGrad (k tasks: O(k²) inner products, then projections in
 * coefficient space), MGDA (the k×k Gram matrix, then a small QP) and Bloop with a k-level
 * hierarchy (Gram–Schmidt on k − 1 EMAs). Sizes alternate within a round.
 *
 * `npm run bench -- scaling` (`--quick` for fewer repetitions).
 */
import { Effect } from "effect"
import { activateBackend } from "../src/core/backend.ts"
import { layoutOf } from "../src/core/paramVector.ts"
import { tf, tidy, type Tensor1D } from "../src/core/tf.ts"
import { objective } from "../src/dsl/objective.ts"
import { hierarchy } from "../src/dsl/structure.ts"
import type { RuleState, UpdateRule } from "../src/interpreters/interpreter.ts"
import { disposeReplaced } from "../src/training/tensors.ts"
import { interleave, isQuick, mb, median, ms, ratio, table, timeMs } from "./measure.ts"
import { lowerBuiltin } from "./rules.ts"

export const description = "rule step time vs number of objectives (2…16) at 1e6 parameters: PCGrad, MGDA and k-level Bloop"

const n = 1e6
const counts = [2, 4, 8, 16] as const
const methods = ["pcgrad", "mgda", "bloop"] as const

const lowered = (method: string, k: number): UpdateRule<any> => {
  const objectives = Array.from({ length: k }, (_, i) => objective(`o${i}`, () => tf.scalar(0)))
  const structure = hierarchy(objectives.map((o, i) => (i === 0 ? o : { of: o, lambda: 0.5 })))
  return lowerBuiltin(method, structure, 1)
}

export const run = async (args: ReadonlyArray<string>): Promise<void> => {
  await Effect.runPromise(activateBackend("wasm"))
  const rounds = isQuick(args) ? 3 : 9
  const gradients = Object.fromEntries(
    Array.from({ length: Math.max(...counts) }, (_, i) => [`o${i}`, tf.randomNormal([n], 0, 1, "float32", i + 1) as Tensor1D]),
  )
  const layout = layoutOf({ flat: { shape: [n] } })
  const cases = methods.flatMap((method) =>
    counts.map((k) => {
      const rule = lowered(method, k)
      const fresh = rule.init(layout)
      // One step first, so that Bloop's EMAs exist and every timed step takes the steady-state path.
      const [d0, state] = tidy(() => rule.step(gradients, fresh))
      d0.dispose()
      disposeReplaced(fresh, state)
      return { method, k, rule, state: state as RuleState }
    }),
  )
  const samples = interleave(
    rounds,
    cases.map((c) => [
      `${c.method}/${c.k}`,
      () =>
        timeMs(() => {
          const [d, next] = tidy(() => c.rule.step(gradients, c.state))
          d.dispose()
          disposeReplaced(next, c.state)
        }),
    ] as const),
  )
  const t = (method: string, k: number) => median(samples[`${method}/${k}`]!.samples)
  console.log(`backend: ${tf.getBackend()}, ${n.toExponential(0)} parameters, medians of ${rounds} interleaved steps\n`)
  console.log(
    table(
      ["objectives k", ...methods.flatMap((m) => [`${m} ms`, `${m} / k=2`]), "peak RSS MB", "peak tfjs MB"],
      counts.map((k) => [
        String(k),
        ...methods.flatMap((m) => [ms(t(m, k)), ratio(t(m, k) / t(m, 2))]),
        mb(Math.max(...methods.map((m) => samples[`${m}/${k}`]!.peak.rssBytes))),
        mb(Math.max(...methods.map((m) => samples[`${m}/${k}`]!.peak.tfBytes))),
      ]),
    ),
  )
  for (const c of cases) disposeReplaced(c.state, undefined)
  tf.dispose(Object.values(gradients))
}
