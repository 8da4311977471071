/**
 * The `scalpel/node` entry point: what needs Node's built-ins. Checkpoint files are written
 * atomically and read back with every defect reported as a `CheckpointError`; the byte format and
 * the host-side conversions are in the main entry (`scalpel`), which stays free of Node built-ins
 * so that it also runs in browsers. Data-parallel gradient workers (`gradientWorkers`, passed as
 * `TrainingOptions.workers`) run on `node:worker_threads`.
 */
export { readCheckpoint, writeCheckpoint } from "../training/checkpoint.ts"
export { readWeights, writeWeights } from "../training/weightsFile.ts"
export { documentRecipe } from "../training/parallel/recipe.ts"
export { gradientWorkers, openWorkerPool } from "../training/parallel/workerPool.ts"
