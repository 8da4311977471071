/**
 * The `scalpel/experiments` entry point (Node only): sweeps over methods, λ and seeds run in a pool
 * of worker processes, Pareto-front reports, tables and Vega-Lite plots, the experiment files and
 * the built-in demonstration. It loads vega and Node built-ins, which the main entry (`scalpel`)
 * does not.
 */
export * from "./demo.ts"
export * from "./experimentFile.ts"
export * from "./plots.ts"
export * from "./pool.ts"
export * from "./report.ts"
export * from "./runSweep.ts"
export * from "./sweep.ts"
export * from "./sweepReport.ts"
export * from "./table.ts"
export * from "./problemModules.ts"
export * from "./interpreterModules.ts"
export { QueueUrl, QueueUrlInvalid, QueueUnreachable } from "./queue/url.ts"
export { runJobsOnQueue, type QueueSweepOptions } from "./queue/submit.ts"
export { serveQueue, type QueueWorkerOptions } from "./queue/serve.ts"
export { progressLine as queueProgressLine, type QueueProgress } from "./queue/progress.ts"
export { MissingOptionalDependency } from "./optionalDependency.ts"
