/**
 * What the training thread and its gradient workers say to each other (see `workerPool.ts`).
 *
 * Parameters and gradients cross threads through shared memory: one `SharedArrayBuffer` holds θ
 * (written by the training thread before each step), and each worker has its own buffer with one
 * flat gradient slot per data objective. Messages carry only small things: the step's example
 * indices, the losses, finiteness flags and errors.
 */
import type { MatMulKernelVariant } from "../../core/packedMatMul.ts"
import { Data, type Effect, type Scope } from "effect"
import type { Layout } from "../../core/paramVector.ts"

/**
 * How a worker thread rebuilds the spec's objectives. Loss functions are closures and cannot cross
 * threads, so each worker imports `module` and calls its export `export` with `argument` (plain,
 * structured-cloneable data); the result is a `Spec`, an object with a `spec` field (such as a
 * `ResolvedSpec`), a Promise of either, or an Effect of either. It must declare the same
 * parameters and objectives as the spec being trained.
 */
export interface SpecRecipe {
  /** A module URL or path (`import.meta.url` of the module that builds the spec works well). */
  readonly module: string
  /** The name of the exported function to call. */
  readonly export: string
  /** The function's argument (structured-cloneable). */
  readonly argument?: unknown
}

/** Data the training thread gives a worker when it starts it. */
export interface WorkerSetup {
  readonly worker: number
  readonly recipe: SpecRecipe
  readonly backend: string
  /**
   * The training thread's matrix-product kernel (`matMulKernelVariant()`): the worker installs the
   * same one, so that every share of a step is computed with the same arithmetic.
   */
  readonly matMulKernel?: MatMulKernelVariant
  /** With `matMulKernel` `tfjs`: whether the training thread wraps tfjs's kernels with explicit transposes (`fastMatMul.ts`). */
  readonly transposeRewrite?: boolean
  /** Objective names in the rule's order; the worker computes those with data. */
  readonly objectives: ReadonlyArray<string>
  /** θ, `parameterCount` float32 values in layout order. */
  readonly theta: SharedArrayBuffer
  /** One slot of `parameterCount` float32 values per data objective, in `objectives` order. */
  readonly gradients: SharedArrayBuffer
  readonly parameterCount: number
}

/** Worker → training thread: set up; what it found, for the training thread to compare. */
export interface ReadyMessage {
  readonly _tag: "Ready"
  /** Layout of the worker's parameters: names and sizes, in layout order. */
  readonly parameters: ReadonlyArray<readonly [string, number]>
  /** For each objective: the index of its data source among the distinct sources, or -1 without data. */
  readonly sourceOf: ReadonlyArray<number>
  /** The matrix-product kernel the worker runs (`matMulKernelVariant()` there). */
  readonly matMulKernel: MatMulKernelVariant
}

/** Training thread → worker: compute the data objectives' losses and gradients on these examples. */
export interface StepRequest {
  readonly _tag: "Step"
  readonly step: number
  /** This worker's share of each distinct data source's indices (source order of `sourceOf`). */
  readonly indices: ReadonlyArray<Int32Array>
}

/** Worker → training thread: gradients are in the shared slots. */
export interface StepReply {
  readonly _tag: "Done"
  readonly step: number
  /** Mean loss over this worker's examples, per data objective (NaN for objectives without data). */
  readonly losses: ReadonlyArray<number>
  /** Whether the loss and every gradient value are finite, per data objective. */
  readonly finite: ReadonlyArray<boolean>
}

/** Worker → training thread: something failed (setup or a step). */
export interface FailureMessage {
  readonly _tag: "Failed"
  readonly step: number | undefined
  readonly objective: string | undefined
  readonly reason: string
}

export type WorkerMessage = ReadyMessage | StepReply | FailureMessage

/** A gradient worker could not start, or failed during a step. */
export class GradientWorkerError extends Data.TaggedError("GradientWorkerError")<{
  /** 1-based worker number (the training thread computes share 0). */
  readonly worker: number
  readonly step: number | undefined
  readonly objective: string | undefined
  readonly reason: string
}> {
  override get message(): string {
    const at = this.step === undefined ? "while starting" : `at step ${this.step}`
    const objective = this.objective === undefined ? "" : ` computing objective '${this.objective}'`
    return `gradient worker ${this.worker} failed ${at}${objective}: ${this.reason}`
  }
}

/** What the pool needs to know about the run. */
export interface WorkerPoolSettings {
  /** Total parts of each mini-batch, the training thread included (≥ 2). */
  readonly parts: number
  readonly recipe: SpecRecipe
  readonly backend: string
  /** The training thread's matrix-product kernel, which each worker installs too. */
  readonly matMulKernel?: MatMulKernelVariant
  /** With `matMulKernel` `tfjs`: whether the training thread wraps tfjs's kernels with explicit transposes. */
  readonly transposeRewrite?: boolean
  /** Objective names in the rule's order. */
  readonly objectives: ReadonlyArray<string>
  /** Source index per objective (-1 without data), as the training thread numbers them. */
  readonly sourceOf: ReadonlyArray<number>
  readonly layout: Layout
}

/** A started pool of `parts − 1` gradient workers. */
export interface WorkerPool {
  readonly parts: number
  /** θ in layout order; write it before {@link WorkerPool.request}. */
  readonly theta: Float32Array
  /** Post step `step`'s shares (part 1 … parts − 1 of each source's indices); resolves with the replies in worker order. */
  readonly request: (step: number, indices: ReadonlyArray<Int32Array>) => Promise<ReadonlyArray<StepReply>>
  /** Worker `worker`'s (1-based) gradient of objective `objective` (rule order), valid until the next request. */
  readonly gradient: (worker: number, objective: number) => Float32Array
}

/** How the training loop opens its gradient workers (see {@link gradientWorkers}). */
export interface GradientWorkers {
  readonly parts: number
  readonly open: (settings: Omit<WorkerPoolSettings, "parts" | "recipe">) => Effect.Effect<WorkerPool, GradientWorkerError, Scope.Scope>
}
