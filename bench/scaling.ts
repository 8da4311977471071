/**
 * Scaling with the number of objectives: the rule's `step` alone (gradients and losses given) for
 * k = 2…16 objectives over 1e6 parameters, for every built-in rule that lowers a k-level hierarchy
 * (k tasks for the task-based rules, k levels for Bloop). At each k all rules run interleaved, one
 * step each per round, so that load on the machine hits them alike; the last column compares each
 * rule with PCGrad at k = 16, measured in the same rounds (issue #14's budget: at most 3×, or a
 * documented reason).
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

export const description = "rule step time vs number of objectives (2…16) at 1e6 parameters, every built-in rule, against PCGrad"

const n = 1e6
const counts = [2, 4, 8, 16] as const
/** The budget of issue #14: a rule step at k = 16 costs at most this many PCGrad steps, or the docs say why. */
const budget = 3

const lowered = (method: string, k: number, options: unknown = {}): UpdateRule<any> => {
  const objectives = Array.from({ length: k }, (_, i) => objective(`o${i}`, () => tf.scalar(0)))
  const structure = hierarchy(objectives.map((o, i) => (i === 0 ? o : { of: o, lambda: 0.5 })))
  return lowerBuiltin(method, structure, 1, options)
}

/** Rules that take a k-level hierarchy with default options (the others, e.g. primal-dual, are left out). */
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
  const losses = Object.fromEntries(Object.keys(gradients).map((name, i) => [name, 1 + i / 10]))
  const layout = layoutOf({ flat: { shape: [n] } })
  const times = new Map<string, number>()
  const peaks = new Map<string, number>()
  for (const k of counts) {
    const cases = everyRule(k).map(([name, rule]) => {
      const fresh = rule.init(layout)
      // One step first, so that stateful rules (EMAs, loss histories) take their steady-state path.
      const [d0, state] = tidy(() => rule.step(gradients, fresh, losses))
      d0.dispose()
      disposeReplaced(fresh, state)
      return { name, rule, state: state as RuleState }
    })
    const samples = interleave(
      rounds,
      cases.map((c) => [
        c.name,
        () =>
          timeMs(() => {
            const [d, next] = tidy(() => c.rule.step(gradients, c.state, losses))
            d.dispose()
            disposeReplaced(next, c.state)
          }),
      ] as const),
    )
    for (const c of cases) {
      times.set(`${c.name}/${k}`, median(samples[c.name]!.samples))
      peaks.set(`${c.name}/${k}`, samples[c.name]!.peak.tfBytes)
      disposeReplaced(c.state, undefined)
    }
  }
  const names = [...new Set(everyRule(Math.max(...counts)).map(([name]) => name))]
  const t = (name: string, k: number) => times.get(`${name}/${k}`)
  const cell = (x: number | undefined) => (x === undefined ? "n/a" : ms(x))
  const pcgrad16 = t("pcgrad", 16)!
  console.log(`backend: ${tf.getBackend()}, ${n.toExponential(0)} parameters, medians of ${rounds} interleaved steps per k (all rules in each round)\n`)
  console.log(
    table(
      ["rule", ...counts.map((k) => `k=${k} ms`), "k=16 / k=2", "k=16 / pcgrad k=16", `≤ ${budget}×`],
      names.map((name) => {
        const [t2, t16] = [t(name, 2), t(name, 16)]
        const versus = t16! / pcgrad16
        return [
          name,
          ...counts.map((k) => cell(t(name, k))),
          t2 === undefined ? "n/a" : ratio(t16! / t2),
          ratio(versus),
          versus <= budget ? "yes" : "NO",
        ]
      }),
    ),
  )
  console.log(`\npeak tfjs memory over the run: ${mb(Math.max(...peaks.values()))} MB`)
  tf.dispose(Object.values(gradients))
}
