/**
 * Where the reference Bloop step's time goes with gradient workers (issue #15): each phase of a
 * data-parallel step, timed on its own with the functions the session calls, in interleaved rounds.
 *
 * - gradient of the main objective (forward + backward + flatten) on 256 rows (1 worker's share)
 *   and on 128 rows (each part's share with 2 parts);
 * - gradient of the prior (no data: computed once, on the training thread), and the same with
 *   tfjs-core's own gradient of `Sum` (`fastGradients.ts` uninstalled for that phase);
 * - θ out: the training thread copies the variables into the shared buffer;
 * - θ in: a worker assigns its variables from the shared buffer;
 * - gradient out: a worker copies its flat gradient into its shared slot;
 * - combine shares: the training thread wraps a worker's slot as a tensor and forms the weighted sum;
 * - rule + optimizer: EMA, projection, SGD update (bench/rules.ts's combineStepper).
 *
 * With 2 parts the critical path is max(θ in + grad128 + grad out [worker], grad128 + prior
 * [training thread]) + θ out + combine + rule; the report prints that model beside the phases.
 *
 * `npm run bench -- phases` (`--quick` for fewer rounds).
 */
import { loadavg } from "node:os"
import { Effect } from "effect"
import { activateBackend } from "../src/core/backend.ts"
import { installFastGradients, uninstallFastGradients } from "../src/core/fastGradients.ts"
import { hostValues } from "../src/core/hostKernels.ts"
import { flattenChecked, layoutOf } from "../src/core/paramVector.ts"
import { tf, type Scalar, type Tensor, type Tensor1D } from "../src/core/tf.ts"
import { linearCombination } from "../src/core/vector.ts"
import { trainingContext } from "../src/dsl/objective.ts"
import { objectivesOf } from "../src/dsl/structure.ts"
import { createVariables } from "../src/training/parameters.ts"
import { lossAndGradients } from "../src/training/train.ts"
import { combineStepper } from "./rules.ts"
import { lowerBloop, referenceSpec } from "./step.ts"
import { median, ms, table, timeMs } from "./timing.ts"

export const description = "phases of a data-parallel reference Bloop step (gradients, shared-memory crossings, combine, rule)"

export const run = async (args: ReadonlyArray<string>): Promise<void> => {
  const rounds = args.includes("--quick") ? 5 : 15
  await Effect.runPromise(activateBackend("wasm"))
  const spec = referenceSpec(1)
  const variables = createVariables(spec.parameters, spec.seed)
  const names = Object.keys(variables).sort()
  const layout = layoutOf(variables)
  const [main, prior] = objectivesOf(spec.structure)
  const source = main!.data!
  const gradient = (rows: number) => () =>
    tf.tidy(() => {
      const batch = source.batch(Int32Array.from({ length: rows }, (_, i) => (i * 7) % source.size))
      const { value, grads } = lossAndGradients(() => main!.loss(variables, batch, trainingContext) as Scalar, variables, names)
      const byName: Record<string, Tensor> = {}
      names.forEach((n, i) => (byName[n] = grads[i]!))
      flattenChecked(layout, byName) // the wasm backend computes synchronously: no read-back needed
      value.dataSync()
    })
  const priorGradient = () =>
    tf.tidy(() => {
      const { grads } = lossAndGradients(() => prior!.loss(variables, undefined, trainingContext) as Scalar, variables, names)
      const byName: Record<string, Tensor> = {}
      names.forEach((n, i) => (byName[n] = grads[i]!))
      flattenChecked(layout, byName)
    })
  const shared = new Float32Array(new SharedArrayBuffer(layout.size * 4))
  const slot = new Float32Array(new SharedArrayBuffer(layout.size * 4))
  const thetaOut = () => {
    for (const entry of layout.entries) shared.set(hostValues(variables[entry.name]!), entry.offset)
  }
  const thetaIn = () => {
    for (const entry of layout.entries) {
      tf.tidy(() => variables[entry.name]!.assign(tf.tensor(shared.subarray(entry.offset, entry.offset + entry.size), [...entry.shape], "float32")))
    }
  }
  const flat = tf.randomNormal([layout.size], 0, 1e-3, "float32", 9) as Tensor1D
  const gradientOut = () => slot.set(hostValues(flat))
  const combineShares = () =>
    tf.tidy(() => {
      linearCombination([
        [0.5, flat],
        [0.5, tf.tensor1d(slot)],
      ])
    })
  const rule = combineStepper(lowerBloop(spec), spec.optimizer, spec.parameters, spec.seed)
  const phases: Record<string, () => unknown> = {
    "gradient, 256 rows": gradient(256),
    "gradient, 128 rows": gradient(128),
    "gradient of the prior": priorGradient,
    // The same, with tfjs-core's own gradients of Sum and Mean (their ones built in JavaScript).
    "gradient of the prior, tfjs-core's Sum gradient": () => {
      uninstallFastGradients()
      try {
        priorGradient()
      } finally {
        installFastGradients()
      }
    },
    "θ out (variables → shared buffer)": thetaOut,
    "θ in (shared buffer → variables)": thetaIn,
    "gradient out (flat → shared slot)": gradientOut,
    "combine shares (slot → tensor, weighted sum)": combineShares,
    "rule + optimizer (EMA, projection, SGD)": () => rule.step(),
  }
  // Wall time, and this process's CPU time (user + system): on a loaded machine the CPU time still
  // measures each phase's work; the model below uses it.
  const samples: Record<string, Array<number>> = Object.fromEntries(Object.keys(phases).map((k) => [k, []]))
  const cpuSamples: Record<string, Array<number>> = Object.fromEntries(Object.keys(phases).map((k) => [k, []]))
  for (const phase of Object.values(phases)) phase() // warm-up
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? Object.entries(phases) : Object.entries(phases).reverse()
    for (const [name, phase] of order) {
      const cpu = process.cpuUsage()
      samples[name]!.push(timeMs(() => void phase()))
      const used = process.cpuUsage(cpu)
      cpuSamples[name]!.push((used.user + used.system) / 1000)
    }
  }
  const wall = (name: string) => median(samples[name]!)
  const at = (name: string) => median(cpuSamples[name]!)
  console.log(
    table(
      ["phase", "wall ms (median)", "CPU ms (median)", "n"],
      Object.keys(phases).map((name) => [name, ms(wall(name)), ms(at(name)), String(samples[name]!.length)]),
    ),
  )
  const serial = at("θ out (variables → shared buffer)") + at("combine shares (slot → tensor, weighted sum)") + at("rule + optimizer (EMA, projection, SGD)")
  const worker = at("θ in (shared buffer → variables)") + at("gradient, 128 rows") + at("gradient out (flat → shared slot)")
  const trainer = at("gradient, 128 rows") + at("gradient of the prior")
  const oneWorker = at("gradient, 256 rows") + at("gradient of the prior") + at("rule + optimizer (EMA, projection, SGD)")
  console.log(
    `\nmodel from the CPU times, 1 worker: grad256 + prior + rule = ${ms(oneWorker)} ms\n` +
      `model, 2 parts: max(worker ${ms(worker)}, training thread ${ms(trainer)}) + serial ${ms(serial)} (θ out + combine + rule) = ${ms(Math.max(worker, trainer) + serial)} ms` +
      ` → speed-up ${(oneWorker / (Math.max(worker, trainer) + serial)).toFixed(2)} if the two threads ran undisturbed on two cores (load average now: ${loadavg()[0]!.toFixed(1)})`,
  )
  rule.dispose()
  tf.dispose([...Object.values(variables), flat])
}
