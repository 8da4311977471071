/**
 * Scaling with the number of objectives: the rule's `step` alone (gradients given) for k = 2…16
 * objectives over 1e6 parameters, for PCGrad (k tasks: O(k²) inner products, then projections in
 * coefficient space), MGDA (the k×k Gram matrix, then a small QP) and Bloop with a k-level
 * hierarchy (Gram–Schmidt on k − 1 EMAs). Sizes alternate within a round. A second table times
 * every built-in rule that lowers a k-level hierarchy at k = 4 and 16, against PCGrad at k = 16
 * (losses are passed, for the loss-based rules).
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
import { builtinRules } from "../src/interpreters/builtins.ts"
import { disposeReplaced } from "../src/training/tensors.ts"
import { interleave, isQuick, mb, median, ms, ratio, table, timeMs } from "./measure.ts"
import { lowerBuiltin } from "./rules.ts"

export const description = "rule step time vs number of objectives (2…16) at 1e6 parameters: PCGrad, MGDA and k-level Bloop"

const n = 1e6
const counts = [2, 4, 8, 16] as const
const methods = ["pcgrad", "mgda", "bloop"] as const

const lowered = (method: string, k: number, options: unknown = {}): UpdateRule<any> => {
  const objectives = Array.from({ length: k }, (_, i) => objective(`o${i}`, () => tf.scalar(0)))
  const structure = hierarchy(objectives.map((o, i) => (i === 0 ? o : { of: o, lambda: 0.5 })))
  return lowerBuiltin(method, structure, 1, options)
}

/** Rules that take a k-level hierarchy (the others, e.g. primal-dual, are left out), and their options. */
const everyRule = (k: number): ReadonlyArray<readonly [string, UpdateRule<any>]> =>
  [...builtinRules.keys()].flatMap((name) => {
    try {
      return [[name, lowered(name, k)] as const]
    } catch {
      return []
    }
  })

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

  // Every rule at k = 4 and 16.
  const losses = Object.fromEntries(Object.keys(gradients).map((name, i) => [name, 1 + i / 10]))
  const ruleCases = [4, 16].flatMap((k) =>
    everyRule(k).map(([name, rule]) => {
      const fresh = rule.init(layout)
      const [d0, state] = tidy(() => rule.step(gradients, fresh, losses))
      d0.dispose()
      disposeReplaced(fresh, state)
      return { name, k, rule, state: state as RuleState }
    }),
  )
  const ruleSamples = interleave(
    rounds,
    ruleCases.map((c) => [
      `${c.name}/${c.k}`,
      () =>
        timeMs(() => {
          const [d, next] = tidy(() => c.rule.step(gradients, c.state, losses))
          d.dispose()
          disposeReplaced(next, c.state)
        }),
    ] as const),
  )
  const r = (name: string, k: number) => median(ruleSamples[`${name}/${k}`]!.samples)
  const names = [...new Set(ruleCases.map((c) => c.name))]
  console.log(`\nevery rule lowering a k-level hierarchy, ${n.toExponential(0)} parameters, medians of ${rounds} interleaved steps\n`)
  console.log(
    table(
      ["rule", "k=4 ms", "k=16 ms", "k=16 / pcgrad k=16"],
      names.map((name) => {
        const has16 = ruleSamples[`${name}/16`] !== undefined
        return [name, ruleSamples[`${name}/4`] === undefined ? "n/a" : ms(r(name, 4)), has16 ? ms(r(name, 16)) : "n/a", has16 ? ratio(r(name, 16) / r("pcgrad", 16)) : "n/a"]
      }),
    ),
  )
  for (const c of ruleCases) disposeReplaced(c.state, undefined)
  tf.dispose(Object.values(gradients))
}
