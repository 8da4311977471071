/** Progress of a sweep on a queue, as the submitting terminal shows it. */

/** Where the runs of a sweep are. */
export interface QueueProgress {
  readonly total: number
  /** Finished, including `reused`. */
  readonly done: number
  /** Finished before this submission (results taken from the queue, not recomputed). */
  readonly reused: number
  readonly running: number
  readonly failed: number
  /** Waiting for a worker (or for a retry). */
  readonly queued: number
  /** Since the submission. */
  readonly elapsedMs: number
}

/** `1 h 02 min`, `3 min 20 s`, `12 s`. */
export const formatDuration = (ms: number): string => {
  const seconds = Math.max(0, Math.round(ms / 1000))
  if (seconds < 60) return `${seconds} s`
  const minutes = Math.floor(seconds / 60)
  if (minutes < 60) return `${minutes} min ${String(seconds % 60).padStart(2, "0")} s`
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, "0")} min`
}

/**
 * Time left, from the rate at which runs finished since the submission (reused runs excluded);
 * undefined until one has.
 */
export const estimateRemainingMs = (progress: QueueProgress): number | undefined => {
  const computed = progress.done - progress.reused
  const left = progress.total - progress.done - progress.failed
  if (left <= 0) return 0
  return computed > 0 ? (progress.elapsedMs / computed) * left : undefined
}

/** `queue: 12/48 done (4 reused), 2 running, 0 failed, 34 queued, ETA 3 min 20 s` */
export const progressLine = (progress: QueueProgress): string => {
  const eta = estimateRemainingMs(progress)
  return (
    `queue: ${progress.done}/${progress.total} done${progress.reused > 0 ? ` (${progress.reused} reused)` : ""}, ` +
    `${progress.running} running, ${progress.failed} failed, ${progress.queued} queued, ` +
    `ETA ${eta === undefined ? "unknown" : formatDuration(eta)}`
  )
}
