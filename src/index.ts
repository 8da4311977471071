/**
 * scalpel's public API (the `scalpel` entry point): declare objectives and how they relate (dsl),
 * lower the declaration to an update rule with an interpreter (interpreters), and train (training)
 * on flat parameter vectors (core).
 *
 * This entry runs in Node and in browsers: it loads no Node built-in, command-line or plotting
 * package. The other entry points are `scalpel/testing` (the property-testing kit),
 * `scalpel/experiments` (sweeps, worker pools, reports and plots; Node only) and `scalpel/node`
 * (checkpoint files; Node only). The `scalpel` command is `src/cli/main.ts`.
 */
export * from "./core/backend.ts"
export * from "./core/errors.ts"
export * from "./core/optimizers.ts"
export * from "./core/paramVector.ts"
export * from "./core/projectedCombination.ts"
export * from "./core/random.ts"
export * from "./core/tf.ts"
export * from "./core/vector.ts"
export * from "./dsl/errors.ts"
export * from "./dsl/json.ts"
export * from "./dsl/model.ts"
export * from "./dsl/objective.ts"
export * from "./dsl/problem.ts"
export * from "./dsl/sharing.ts"
export * from "./dsl/spec.ts"
export * from "./dsl/structure.ts"
export * from "./interpreters/alignedMtl.ts"
export * from "./interpreters/bloop.ts"
export * from "./interpreters/builtins.ts"
export * from "./interpreters/cagrad.ts"
export * from "./interpreters/chain.ts"
export * from "./interpreters/chainInterpreter.ts"
export * from "./interpreters/config.ts"
export * from "./interpreters/dbMtl.ts"
export * from "./interpreters/dualProj.ts"
export * from "./interpreters/dwa.ts"
export * from "./interpreters/dynamicBarrier.ts"
export * from "./interpreters/excessMtl.ts"
export * from "./interpreters/fairGrad.ts"
export * from "./interpreters/famo.ts"
export * from "./interpreters/geometricMean.ts"
export * from "./interpreters/gradDrop.ts"
export * from "./interpreters/gradNorm.ts"
export * from "./interpreters/gradVac.ts"
export * from "./interpreters/guarantees.ts"
export * from "./interpreters/imtlg.ts"
export * from "./interpreters/interpreter.ts"
export * from "./interpreters/krum.ts"
export * from "./interpreters/levels.ts"
export * from "./interpreters/mean.ts"
export * from "./interpreters/method.ts"
export * from "./interpreters/mgda.ts"
export * from "./interpreters/moCo.ts"
export * from "./interpreters/moDo.ts"
export * from "./interpreters/nashMtl.ts"
export * from "./interpreters/options.ts"
export * from "./interpreters/pcgrad.ts"
export * from "./interpreters/primalDual.ts"
export * from "./interpreters/randomWeighting.ts"
export * from "./interpreters/registry.ts"
export * from "./interpreters/sdmGrad.ts"
export * from "./interpreters/sharedParameters.ts"
export * from "./interpreters/stch.ts"
export * from "./interpreters/taskRule.ts"
export * from "./interpreters/transforms.ts"
export * from "./interpreters/trimmedMean.ts"
export * from "./interpreters/uncertaintyWeighting.ts"
export * from "./interpreters/upgrad.ts"
export * from "./interpreters/weightedSum.ts"
export {
  checkParameters,
  CheckpointError,
  checkpointFormatVersion,
  type CheckpointContents,
  type CheckpointSettings,
  HostTensor,
  type HostState,
  hostStateOf,
  outlineMismatch,
  runMismatch,
  tensorStateOf,
  toHostTensor,
} from "./training/checkpoint.ts"
export * from "./problems/catalogue.ts"
export * from "./problems/resolveSpec.ts"
export * from "./training/train.ts"
export { canonicalJson, type JsonValue, SpecChangedOnResume, type SpecDifference, type SpecRecord, specRecordOf } from "./training/specRecord.ts"
export * from "./training/weights.ts"
export { GradientWorkerError, type GradientWorkers, type SpecRecipe, type WorkerPool, type WorkerPoolSettings } from "./training/parallel/protocol.ts"
