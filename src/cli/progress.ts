/**
 * Progress of a `scalpel run`: the training loop's display (training/progress.ts) with the
 * command line's number format, the bar on stderr when it is a terminal, else a line at every
 * tenth of the run on stdout (logs, CI, pipes).
 */
import { Effect } from "effect"
import { formatNumber } from "../experiments/table.ts"
import type { StepEvent } from "../training/events.ts"
import { progressBar as trainingProgressBar, progressDisplay, progressLine as trainingProgressLine } from "../training/progress.ts"

/** `[#####.....]  50%  step 500/1000  fit 0.1  prior 2.3` */
export const progressBar = (event: StepEvent, total: number, width = 24): string => trainingProgressBar(event, total, formatNumber, width)

/** A plain line, for when the output is not a terminal. */
export const progressLine = (event: StepEvent, total: number): string => trainingProgressLine(event, total, formatNumber)

/** A step-event consumer: the bar on stderr on a terminal, otherwise lines on stdout. */
export const progressReporter = (total: number, isTerminal: boolean) => {
  // Off a terminal the lines go to stdout, whatever stdout itself is.
  const sink = isTerminal ? process.stderr : { isTTY: false, write: (text: string) => process.stdout.write(text) }
  const display = progressDisplay(total, sink, { format: formatNumber })
  return (event: StepEvent): Effect.Effect<void> => Effect.sync(() => display.step(event))
}
