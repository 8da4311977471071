/**
 * How close n-level Bloop's error comes to its bound (`bloopErrorBound`, test/support/extremeSets.ts):
 * the worst and median ratio ‖d − d*‖/bound over generated sets, the property generator of
 * test/interpreters/extremeSets.test.ts, (1) through the rule on the host and the tensor-op paths,
 * with the Gram matrix's actual rounding, and (2) on the rule's small Gram–Schmidt with every Gram
 * entry moved by ±ε‖a‖‖b‖ (random signs), the worst case the bound allows.
 *
 *   npm run numerics:bloop-bound -- [seed] [runs] [maxLength]     (defaults 1, 2000, 65536)
 */
import { Effect } from "effect"
import fc from "fast-check"
import { activateBackend } from "../src/core/backend.ts"
import { useHostKernels } from "../src/core/hostKernels.ts"
import { defaultSpanTolerance, projectionCoefficients } from "../src/core/projectedCombination.ts"
import { bloopDirection } from "../src/interpreters/bloop.ts"
import { extremeBlockSets, reference, type BlockSet } from "../src/testing/index.ts"
import { blockNorms, bloopErrorBound, gramResolution, ruleDirection } from "../test/support/extremeSets.ts"

const [seed, runs, maxLength] = [Number(process.argv[2] ?? 1), Number(process.argv[3] ?? 2000), Number(process.argv[4] ?? 2 ** 16)]
await Effect.runPromise(activateBackend("cpu"))

const sets = fc.sample(
  extremeBlockSets({ maxLength, minCount: 3, maxCount: 4, kinds: ["near-parallel", "near-opposite", "spread"], nearness: { min: -5, max: -2 } }),
  { seed, numRuns: runs },
)
const lambdasOf = (set: BlockSet) => [1, 0.5, 2, 1.5].slice(0, set.blocks.length)
/** The sets the properties cover: every residual ratio ≥ 1e-5, and ε′k/σ² ≤ 1e-3. */
const covered = sets.filter((set) => {
  const refs = set.blocks.slice(0, set.blocks.length - 1)
  const basis = reference.orthogonalBasis(refs, 0)
  return basis.every((q, i) => reference.norm(q) >= 1e-5 * reference.norm(refs[i]!)) && bloopErrorBound(set, lambdasOf(set), "float64").order <= 1e-3
})

const summary = (name: string, ratios: ReadonlyArray<number>) => {
  if (ratios.length === 0) return console.log(`${name.padEnd(34)} sets     0`)
  const sorted = [...ratios].sort((a, b) => a - b)
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!.toExponential(2)
  console.log(`${name.padEnd(34)} sets ${String(sorted.length).padStart(5)}   worst ${at(1)}   p99 ${at(0.99)}   median ${at(0.5)}`)
}

for (const [name, host] of [["rule, host path", true], ["rule, tensor-op path", false]] as const) {
  useHostKernels(host)
  const outcomes = covered.map((set) => {
    const k = set.blocks.length
    const lambdas = lambdasOf(set)
    const expected = reference.bloopLevels(set.blocks, lambdas, set.blocks.slice(0, k - 1), 0)
    const d = ruleDirection(set, (tasks) => bloopDirection(tasks, tasks.slice(0, k - 1), lambdas))
    const { bound, data } = bloopErrorBound(set, lambdas, host ? "host" : "tensor-op")
    return { ratio: reference.distance(d, expected) / bound, dataDominated: data > bound / 2 }
  })
  summary(name, outcomes.map((o) => o.ratio))
  // Where the Gram term is most of the bound (rather than the float32 rounding of d).
  summary(`  of which Gram term > half`, outcomes.filter((o) => o.dataDominated).map((o) => o.ratio))
}
useHostKernels(true)

let state = seed
const sign = () => ((state = (state * 48271) % 2147483647) & 1 ? 1 : -1)
summary(
  "perturbed Gram (±ε‖a‖‖b‖ per entry)",
  covered.map((set) => {
    const k = set.blocks.length
    const m = k - 1
    const lambdas = lambdasOf(set)
    const refs = set.blocks.slice(0, m)
    const eps = gramResolution(set.length)
    const norms = blockNorms(set)
    const R = new Float64Array(m * m)
    const P = new Float64Array(k * m)
    for (let a = 0; a < m; a++) for (let b = a; b < m; b++) R[a * m + b] = R[b * m + a] = reference.dot(refs[a]!, refs[b]!) + sign() * eps * norms[a]! * norms[b]!
    for (let j = 1; j < k; j++) for (let a = 0; a < j; a++) P[j * m + a] = reference.dot(set.blocks[j]!, refs[a]!) + sign() * eps * norms[j]! * norms[a]!
    const { gCoefficients, rCoefficients } = projectionCoefficients(R, P, lambdas, { levels: k, length: set.length, spanTolerance: defaultSpanTolerance })
    const d = reference.weightedSum([...set.blocks.map((g, i) => [gCoefficients[i]!, g] as const), ...refs.map((r, a) => [rCoefficients[a]!, r] as const)])
    return reference.distance(d, reference.bloopLevels(set.blocks, lambdas, refs, 0)) / bloopErrorBound(set, lambdas, "float64").bound
  }),
)
