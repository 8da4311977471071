/**
 * The `scalpel/node` entry point: what needs Node's built-ins. Checkpoint files are written
 * atomically and read back with every defect reported as a `CheckpointError`; the byte format and
 * the host-side conversions are in the main entry (`scalpel`), which stays free of Node built-ins
 * so that it also runs in browsers. Data-parallel gradient workers (`gradientWorkers`, passed as
 * `TrainingOptions.workers`) run on `node:worker_threads`.
 *
 * Importing this entry registers TensorFlow.js IO handlers for `file://` URLs (see
 * `fileSystemIo.ts`), so that `model.save("file://DIR")` and `tf.loadLayersModel("file://DIR/model.json")`
 * work without `@tensorflow/tfjs-node`, in the tfjs-layers format tfjs-node writes.
 */
import { registerFileSystemIo } from "./fileSystemIo.ts"

registerFileSystemIo()

export { fileSystemRouter, loadModelArtifacts, ModelFileError, registerFileSystemIo, saveModelArtifacts } from "./fileSystemIo.ts"
export { readCheckpoint, writeCheckpoint } from "../training/checkpoint.ts"
export { readWeights, writeWeights } from "../training/weightsFile.ts"
export { documentRecipe } from "../training/parallel/recipe.ts"
export { gradientWorkers, openWorkerPool } from "../training/parallel/workerPool.ts"
