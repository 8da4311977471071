/**
 * A progress display for a run, as a consumer of its step events: a bar redrawn in place on a
 * terminal (at most every 100 ms, and at the last step), or a plain line at every tenth of the run
 * where the output is not a terminal. The command line shows it on every run; `train` and
 * `trainPromise` show the bar when their process has a terminal on stderr (`progress` option).
 * Browser-safe: the stream is looked up on `globalThis.process`, never imported.
 */
import type { StepEvent } from "./events.ts"

/** Where a display writes: a Node stream (`process.stderr`) or anything with `write`. */
export interface ProgressSink {
  readonly isTTY?: boolean
  readonly write: (text: string) => unknown
}

const defaultFormat = (x: number): string => (Number.isFinite(x) ? Number(x.toPrecision(4)).toString() : String(x))

const lossText = (event: StepEvent, format: (x: number) => string): string =>
  Object.entries(event.losses as Readonly<Record<string, number>>)
    .map(([name, value]) => `${name} ${format(value)}`)
    .join("  ")

/** `[#####.....]  50%  step 500/1000  fit 0.1  prior 2.3` */
export const progressBar = (event: StepEvent, total: number, format: (x: number) => string = defaultFormat, width = 24): string => {
  const filled = Math.min(width, Math.round((width * event.step) / total))
  const percent = Math.floor((100 * event.step) / total)
  return `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${String(percent).padStart(3)}%  step ${event.step}/${total}  ${lossText(event, format)}`
}

/** A plain line, for when the output is not a terminal. */
export const progressLine = (event: StepEvent, total: number, format: (x: number) => string = defaultFormat): string =>
  `step ${event.step}/${total}  ${lossText(event, format)}`

/** The process's stderr where there is one (Node), else undefined (browsers). */
export const standardError = (): ProgressSink | undefined => (globalThis as { process?: { stderr?: ProgressSink } }).process?.stderr

/**
 * A step consumer drawing on `sink`: the bar when `sink` is a terminal, lines otherwise (or
 * nothing when `linesOffTerminal` is false). `end()` finishes the bar's line when a run stops early.
 */
export const progressDisplay = (
  total: number,
  sink: ProgressSink,
  options: { readonly format?: (x: number) => string; readonly linesOffTerminal?: boolean; readonly now?: () => number } = {},
) => {
  const now = options.now ?? Date.now
  const every = Math.max(1, Math.round(total / 10))
  let lastDraw = Number.NEGATIVE_INFINITY
  let open = false
  return {
    step: (event: StepEvent): void => {
      if (sink.isTTY === true) {
        const t = now()
        if (t - lastDraw < 100 && event.step < total) return
        lastDraw = t
        sink.write(`\r${progressBar(event, total, options.format)}\u001b[K${event.step === total ? "\n" : ""}`)
        open = event.step < total
      } else if (options.linesOffTerminal !== false && (event.step % every === 0 || event.step === total)) {
        sink.write(`${progressLine(event, total, options.format)}\n`)
      }
    },
    end: (): void => {
      if (open) sink.write("\n")
      open = false
    },
  }
}
