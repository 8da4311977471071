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
export { type LearningRateSchedule, type OptimizerSettings, learningRateAt, scheduleFactor } from "./core/optimizers.ts"
export { type MatMulKernelChoice, type MatMulKernelVariant, matMulKernelVariant, relaxedSimdSupported } from "./core/packedMatMul.ts"
export { type Layout, type LayoutEntry, layoutOf } from "./core/paramVector.ts"
export { type RandomState } from "./core/random.ts"
export * from "./core/tf.ts"
export {
  type Coefficient,
  dot,
  emaUpdate,
  linearCombination,
  projectIfConflicting,
  projectOrthogonal,
  projectOutSpan,
  squaredNorm,
} from "./core/vector.ts"
export * from "./dsl/errors.ts"
export * from "./dsl/json.ts"
export * from "./dsl/model.ts"
export * from "./dsl/objective.ts"
export * from "./dsl/problem.ts"
export * from "./dsl/sharing.ts"
export * from "./dsl/spec.ts"
export {
  type Constrained,
  type Hierarchy,
  type Level,
  type NormalLevel,
  type Structure,
  type Sum,
  type Term,
  type Weighted,
  constrain,
  hierarchy,
  levelsOf,
  maxStructureDepth,
  objectivesOf,
  prioritize,
  sum,
  sumOf,
  validateStructure,
  weighted,
} from "./dsl/structure.ts"
export { AlignedMtlOptions, alignedMtl } from "./interpreters/alignedMtl.ts"
export { BloopOptions, type BloopState, bloop, bloopNoEma } from "./interpreters/bloop.ts"
export * from "./interpreters/builtins.ts"
export { CagradOptions, cagrad } from "./interpreters/cagrad.ts"
export * from "./interpreters/chain.ts"
export * from "./interpreters/chainInterpreter.ts"
export { ConfigOptions, config } from "./interpreters/config.ts"
export * from "./interpreters/dbMtl.ts"
export * from "./interpreters/dualProj.ts"
export * from "./interpreters/dwa.ts"
export { DynamicBarrierOptions, type DynamicBarrierState, dynamicBarrier } from "./interpreters/dynamicBarrier.ts"
export * from "./interpreters/excessMtl.ts"
export * from "./interpreters/fairGrad.ts"
export * from "./interpreters/famo.ts"
export * from "./interpreters/geometricMean.ts"
export { GradDropOptions, type GradDropState, gradDrop } from "./interpreters/gradDrop.ts"
export * from "./interpreters/gradNorm.ts"
export * from "./interpreters/gradVac.ts"
export * from "./interpreters/guarantees.ts"
export { ImtlgOptions, imtlg } from "./interpreters/imtlg.ts"
export * from "./interpreters/interpreter.ts"
export { KrumOptions, krum } from "./interpreters/krum.ts"
export * from "./interpreters/levels.ts"
export * from "./interpreters/mean.ts"
export * from "./interpreters/method.ts"
export { MgdaOptions, mgda } from "./interpreters/mgda.ts"
export * from "./interpreters/moCo.ts"
export * from "./interpreters/moDo.ts"
export { NashMtlOptions, nashMtl } from "./interpreters/nashMtl.ts"
export * from "./interpreters/options.ts"
export { PCGradOptions, type PCGradState, pcgrad } from "./interpreters/pcgrad.ts"
export * from "./interpreters/primalDual.ts"
export { RandomWeightingOptions, randomWeighting } from "./interpreters/randomWeighting.ts"
export * from "./interpreters/registry.ts"
export { SdmGradOptions, sdmGrad } from "./interpreters/sdmGrad.ts"
export * from "./interpreters/sharedParameters.ts"
export * from "./interpreters/stch.ts"
export { type TaskRuleSpec, type TaskStepInput, taskRuleInterpreter } from "./interpreters/taskRule.ts"
export * from "./interpreters/transforms.ts"
export { TrimmedMeanOptions, trimmedMean } from "./interpreters/trimmedMean.ts"
export * from "./interpreters/uncertaintyWeighting.ts"
export { UpgradOptions, upgrad } from "./interpreters/upgrad.ts"
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
