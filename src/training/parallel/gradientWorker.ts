/**
 * A gradient worker thread (started by `workerPool.ts`): holds its own TensorFlow.js backend and a
 * copy of the parameters, rebuilds the objectives from the recipe, and for each step request
 * computes the data objectives' mean losses and gradients on its share of the examples, writing
 * the gradients into its shared slots.
 */
import { parentPort, workerData } from "node:worker_threads"
import { Effect } from "effect"
import { activateBackend, type BackendName } from "../../core/backend.ts"
import { hostValues } from "../../core/hostKernels.ts"
import { matMulKernelVariant } from "../../core/packedMatMul.ts"
import { flattenChecked, layoutOf } from "../../core/paramVector.ts"
import { tf, type Tensor } from "../../core/tf.ts"
import { type Objective, trainingContext } from "../../dsl/objective.ts"
import { objectivesOf } from "../../dsl/structure.ts"
import { createVariables } from "../parameters.ts"
import { scalarLoss } from "../errors.ts"
import { lossAndGradients } from "../gradients.ts"
import type { FailureMessage, ReadyMessage, StepReply, StepRequest, WorkerSetup } from "./protocol.ts"
import { buildSpec } from "./recipe.ts"
import { sourceSlots } from "./sources.ts"

const setup = workerData as WorkerSetup
const port = parentPort!
const describe = (error: unknown): string => (error instanceof Error ? error.message : String(error))
const fail = (message: Omit<FailureMessage, "_tag">) => port.postMessage({ _tag: "Failed", ...message } satisfies FailureMessage)

const start = async () => {
  // The training thread's product kernel, so that every share of a step uses the same arithmetic.
  const kernel = setup.matMulKernel
  await Effect.runPromise(
    activateBackend(
      setup.backend as BackendName,
      kernel === undefined
        ? {}
        : kernel === "tfjs"
          ? { matMulKernel: setup.transposeRewrite === true ? "transpose" : "tfjs" }
          : { matMulKernel: "packed", relaxedSimd: kernel === "relaxed-fma" },
    ),
  )
  const built = await buildSpec(setup.recipe)
  const declared = new Map(objectivesOf(built.spec.structure).map((o) => [o.name, o]))
  const objectives: Array<Objective<any>> = setup.objectives.map((name) => {
    const found = declared.get(name)
    if (found === undefined) throw new Error(`the recipe's spec has no objective '${name}'`)
    return found
  })
  const variables = createVariables(built.spec.parameters, built.spec.seed)
  const names = Object.keys(variables).sort()
  const layout = layoutOf(variables)
  const { sources, sourceOf } = sourceSlots(objectives)
  const theta = new Float32Array(setup.theta, 0, setup.parameterCount)
  const slots = objectives.map((_, k) => new Float32Array(setup.gradients, k * setup.parameterCount * 4, setup.parameterCount))
  port.postMessage({ _tag: "Ready", parameters: layout.entries.map((e) => [e.name, e.size] as const), sourceOf, matMulKernel: matMulKernelVariant() } satisfies ReadyMessage)

  let current: string | undefined
  const step = (request: StepRequest): StepReply => {
    // θ from shared memory into this thread's variables.
    for (const entry of layout.entries) {
      tf.tidy(() => variables[entry.name]!.assign(tf.tensor(theta.subarray(entry.offset, entry.offset + entry.size), [...entry.shape], "float32")))
    }
    const batches = sources.map((source, s) => source.batch(request.indices[s]!))
    const losses: Array<number> = []
    const finite: Array<boolean> = []
    current = undefined
    try {
      objectives.forEach((o, k) => {
        if (sourceOf[k] === -1) {
          losses.push(Number.NaN)
          finite.push(true)
          return
        }
        current = o.name
        const [loss, flat, ok] = tf.tidy(() => {
          const { value, grads } = lossAndGradients(() => scalarLoss(o.name, o.loss(variables, batches[sourceOf[k]!], trainingContext)), variables, names)
          const byName: Record<string, Tensor> = {}
          names.forEach((n, i) => (byName[n] = grads[i]!))
          const checked = flattenChecked(layout, byName)
          return [value, checked.flat, checked.finite] as const
        })
        slots[k]!.set(hostValues(flat))
        losses.push(loss.dataSync()[0]!)
        finite.push(ok)
        tf.dispose([loss, flat])
      })
    } finally {
      for (const batch of batches) tf.dispose(batch as never)
    }
    return { _tag: "Done", step: request.step, losses, finite }
  }

  port.on("message", (request: StepRequest) => {
    try {
      port.postMessage(step(request))
    } catch (error) {
      fail({ step: request.step, objective: current, reason: describe(error) })
    }
  })
  port.on("close", built.dispose)
}

start().catch((error) => fail({ step: undefined, objective: undefined, reason: describe(error) }))
