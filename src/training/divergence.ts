/**
 * Divergence: a run whose loss explodes (a learning rate too large for the problem) still ends,
 * and its numbers look like any others in a table. A run is said to have diverged when, for some
 * objective, the loss at the end (on the whole data set) is NaN or infinite, or more than
 * {@link divergenceFactor} times the run's loss scale: the largest loss of any objective at the
 * run's first step (on its mini-batch; at least 1e-6). Not the objective's own first loss: an
 * auxiliary loss that starts at exactly 0 (a weight penalty at zero weights) and rises while the
 * main loss is solved is the bilevel problem at work, not an explosion.
 */

/** How many times its first loss an objective's final loss may be before the run counts as diverged. */
export const divergenceFactor = 1000

/** The objective whose loss diverged, with its first and final values. */
export interface Divergence {
  readonly objective: string
  /** Loss at the first step of the run (its mini-batch). */
  readonly first: number
  /** Loss at the end, on the whole data set. */
  readonly final: number
}

/** The first objective (in `final`'s order) whose loss diverged, or undefined. */
export const divergenceOf = (
  first: Readonly<Record<string, number>>,
  final: Readonly<Record<string, number>>,
  factor = divergenceFactor,
): Divergence | undefined => {
  const scale = Object.values(first).reduce((m, v) => (Number.isFinite(v) ? Math.max(m, Math.abs(v)) : m), 1e-6)
  for (const [objective, value] of Object.entries(final)) {
    const start = first[objective]
    if (start === undefined) continue
    if (!Number.isFinite(value) || value > factor * scale) return { objective, first: start, final: value }
  }
  return undefined
}

/** One sentence for terminals and logs. */
export const describeDivergence = (d: Divergence, factor = divergenceFactor): string =>
  Number.isFinite(d.final)
    ? `the loss of '${d.objective}' grew from ${d.first.toPrecision(3)} at the first step to ${d.final.toPrecision(3)} at the end (more than ${factor}× the run's largest first-step loss); lower the learning rate`
    : `the loss of '${d.objective}' is ${d.final} at the end (it was ${d.first.toPrecision(3)} at the first step); lower the learning rate`
