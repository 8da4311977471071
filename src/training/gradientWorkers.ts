/** Opening the gradient workers of a data-parallel run (`TrainingOptions.workers`). */
import { Effect, type Scope } from "effect"
import { layoutOf } from "../core/paramVector.ts"
import { isFastMatMulInstalled } from "../core/fastMatMul.ts"
import { matMulKernelVariant } from "../core/packedMatMul.ts"
import { tf } from "../core/tf.ts"
import type { Spec } from "../dsl/spec.ts"
import { objectivesOf } from "../dsl/structure.ts"
import type { UpdateRule } from "../interpreters/interpreter.ts"
import { GradientWorkerError, type GradientWorkers, type WorkerPool } from "./parallel/protocol.ts"
import { sourceSlots } from "./parallel/sources.ts"

/** tfjs engine names → the names `activateBackend` takes (a worker activates the training thread's backend). */
const backendOfEngine: Readonly<Record<string, string>> = { tensorflow: "node", wasm: "wasm", cpu: "cpu" }

/**
 * Start the gradient workers of a data-parallel run (none for `workers` undefined or 1). A
 * mini-batch smaller than the number of shares would leave a share empty: refused.
 */
export const openGradientWorkers = (
  spec: Spec,
  rule: UpdateRule<any>,
  workers: GradientWorkers | undefined,
): Effect.Effect<WorkerPool | undefined, GradientWorkerError, Scope.Scope> => {
  if (workers === undefined) return Effect.succeed(undefined)
  const refuse = (reason: string) => Effect.fail(new GradientWorkerError({ worker: 0, step: undefined, objective: undefined, reason }))
  if (!(Number.isInteger(workers.parts) && workers.parts >= 1)) return refuse(`the number of workers must be a positive integer, got ${workers.parts}`)
  if (workers.parts === 1) return Effect.succeed(undefined)
  if (spec.batchSize < workers.parts) return refuse(`batch size ${spec.batchSize} cannot be split into ${workers.parts} shares`)
  const declared = new Map(objectivesOf(spec.structure).map((o) => [o.name, o]))
  const objectives = rule.objectives.flatMap((name) => declared.get(name) ?? [])
  const engine = tf.getBackend()
  return workers.open({
    backend: backendOfEngine[engine] ?? engine,
    matMulKernel: matMulKernelVariant(engine),
    transposeRewrite: isFastMatMulInstalled(engine),
    objectives: objectives.map((o) => o.name),
    sourceOf: sourceSlots(objectives).sourceOf,
    layout: layoutOf(spec.parameters),
  })
}
