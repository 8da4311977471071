/**
 * The `scalpel/internals` entry point: the building blocks scalpel's own interpreters and training
 * loop are made of, for those who write interpreters of their own or benchmark the pieces. They
 * are not part of the public API (`scalpel`): their signatures may change in any release.
 *
 * - flat-vector kernels (`axpy`, `linearCombinationOnHost`, `orthogonalBasis`, ...) and the fused
 *   projected combination of Bloop (`projectedCombination`);
 * - flat parameter vectors (`flatten`, `flattenChecked`, `unflatten`, `checkLayout`);
 * - the optimizers as `init`/`update` pairs (`makeOptimizer`, `applyStep`), which `train` builds
 *   from the spec's `OptimizerSettings`;
 * - the seeded random stream (`seedState`, `sampleIndices`, ...);
 * - the direction and weight solvers of the built-in interpreters (`mgdaWeights`, `upgradDirection`,
 *   `pcgradSurgery`, ...), each exported by the interpreter's module.
 *
 * Browser-safe like the main entry: no Node built-ins.
 */
export { type Optimizer, type OptimizerState, applyStep, decoupledDecayAt, disposeOptimizerState, makeOptimizer } from "../core/optimizers.ts"
export {
  type PackedBlocking,
  type PackedKernelBinary,
  type PackedMatMulOptions,
  type PackedMatMulStatus,
  defaultBlocking,
  installPackedMatMul,
  isPackedMatMulInstalled,
  packedMatMulCount,
  uninstallPackedMatMul,
} from "../core/packedMatMul.ts"
export { type ParamVector, checkLayout, flatten, flattenChecked, sameLayout, unflatten } from "../core/paramVector.ts"
export {
  type EmaUpdates,
  defaultSpanTolerance,
  projectedCombination,
  projectedCombinationWithTensorOps,
  projectionCoefficients,
} from "../core/projectedCombination.ts"
export { fillUniform, nextFloat, nextInt, permutation, sampleIndices, seedState, uniformAt } from "../core/random.ts"
export { add, allFinite, axpy, gramSchmidtTolerance, linearCombinationOnHost, maxAbs, orthogonalBasis, scale } from "../core/vector.ts"
export { constructName } from "../dsl/structure.ts"
export { alignedMtlWeights } from "../interpreters/alignedMtl.ts"
export { bloopDirection } from "../interpreters/bloop.ts"
export { cagradDirection, cagradWeights } from "../interpreters/cagrad.ts"
export { configWeights } from "../interpreters/config.ts"
export { barrierConstraintDirection, barrierPriorityDirection } from "../interpreters/dynamicBarrier.ts"
export { gradDropDirection } from "../interpreters/gradDrop.ts"
export { imtlgDirection, imtlgWeights } from "../interpreters/imtlg.ts"
export { krumWeights } from "../interpreters/krum.ts"
export { mgdaDirection, mgdaWeights } from "../interpreters/mgda.ts"
export { nashMtlWeights, utilityWeightsOnLiveTasks } from "../interpreters/nashMtl.ts"
export { pcgradDirection, pcgradSurgery } from "../interpreters/pcgrad.ts"
export { normals } from "../interpreters/randomWeighting.ts"
export { sdmGradWeights } from "../interpreters/sdmGrad.ts"
export { projectOntoSimplex, softmax, taskLosses, total } from "../interpreters/taskRule.ts"
export { trimmedMeanDirection } from "../interpreters/trimmedMean.ts"
export { dualConeWeights, upgradDirection, upgradWeights } from "../interpreters/upgrad.ts"
