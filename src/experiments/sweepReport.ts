/**
 * Write the outputs of a sweep to a folder: the records (JSON, CSV), the tables (Markdown), the
 * two Pareto-front figures (SVG) and a Markdown report that embeds them.
 */
import { mkdir, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { Data, Effect } from "effect"
import type { MissingOptionalDependency } from "./optionalDependency.ts"
import { frontPlot, type PlotFailed, seriesPlot } from "./plots.ts"
import { formatNumber } from "./table.ts"
import {
  bestPerMethod,
  bestTableMarkdown,
  dominanceVerdict,
  frontPoints,
  frontTableMarkdown,
  metricTableMarkdown,
  metricValues,
  mixedLossCurve,
  recordsCsv,
  trajectoryValues,
} from "./report.ts"
import {
  epochTableMarkdown,
  epochValues,
  familyComparisonMarkdown,
  familyFacts,
  type FamilyConfiguration,
  type OtherFamily,
  type ReferenceTable,
  referenceFormPoints,
  referenceTableMarkdown,
} from "./referenceReport.ts"
import type { RunRecord, SweepGrid } from "./sweep.ts"

/** Writing an output file failed. */
export class OutputError extends Data.TaggedError("OutputError")<{ readonly path: string; readonly reason: string }> {
  override get message(): string {
    return `cannot write ${this.path}: ${this.reason}`
  }
}

/** What the report says about the sweep besides its numbers. */
export interface SweepDescription {
  /** Used in file names (`<name>-pareto-train.svg`) and titles. */
  readonly name: string
  readonly title: string
  /** One paragraph: problem, model, losses. */
  readonly setup: string
  readonly mainLabel: string
  readonly auxLabel: string
  readonly grid: SweepGrid
  /** Each run's length: steps, or epochs. */
  readonly steps: number | { readonly epochs: number }
  /** Figures besides the two fronts. */
  readonly figures?: ReportFigures | undefined
  /** A published setting the family reproduces, and what the family's column is computed from. */
  readonly reference?: { readonly table: ReferenceTable; readonly family: FamilyConfiguration } | undefined
  /** Another family's results to compare with (`compareWith` of the experiment file), or `null` when they are not committed. */
  readonly compareWith?: OtherFamily | null | undefined
}

/** Optional figures of a report. */
export interface ReportFigures {
  /** Plot the training trajectories of the runs at (the grid's λ closest to) this λ (needs `grid.trajectoryEvery`). */
  readonly trajectoryLambda?: number | undefined
  /** Plot the paper's Fig. 6: the best mixed loss (1 − t)·L_main + t·L_aux over λ, against t. */
  readonly mixedLoss?: boolean | undefined
  /** Plot and tabulate an evaluation of the runs against λ (e.g. the distance to a known optimum). */
  readonly metric?: { readonly name: string; readonly label: string } | undefined
  /** The fronts also in a reference's form: the main loss on a log x-axis against exp(aux) (log y-axis), labelled `auxExpLabel`. */
  readonly referenceForm?: { readonly auxExpLabel: string } | undefined
  /**
   * Per-epoch curves and table at (the grid's λ closest to) `lambda`, for runs declared in epochs:
   * the epoch's mean mini-batch main loss, the evaluations named `test` and `accuracy`, and
   * exp of the evaluation `aux` (labelled `auxExpLabel`).
   */
  readonly epochs?:
    | { readonly lambda: number; readonly test: string; readonly accuracy: string; readonly aux: string; readonly auxExpLabel: string }
    | undefined
}

/** Names of the files a sweep writes, relative to its folder. */
export const sweepFiles = (name: string) => ({
  records: `${name}-results.json`,
  csv: `${name}-results.csv`,
  table: `${name}-table.md`,
  trainPlot: `${name}-pareto-train.svg`,
  testPlot: `${name}-pareto-test.svg`,
  trajectoryPlot: `${name}-trajectories.svg`,
  mixedPlot: `${name}-mixed-loss.svg`,
  metricPlot: `${name}-metric.svg`,
  referenceTrainPlot: `${name}-reference-form-train.svg`,
  referenceTestPlot: `${name}-reference-form-test.svg`,
  epochPlot: `${name}-epochs.svg`,
  report: `${name}-report.md`,
})

/** The parts of a report, for the command line and for docs. */
export interface SweepSummary {
  readonly verdictTrain: string
  readonly verdictTest: string
  readonly bestTable: string
  readonly frontTable: string
  /** The results section in Markdown, with figure links relative to `figurePrefix`. */
  readonly section: (figurePrefix: string) => string
}

export const summarise = (records: ReadonlyArray<RunRecord>, description: SweepDescription): SweepSummary => {
  const files = sweepFiles(description.name)
  const heldOut = records.some((r) => r.heldOut)
  const verdictTrain = dominanceVerdict(frontPoints(records, "train"), "train")
  const verdictTest = heldOut
    ? dominanceVerdict(frontPoints(records, "test"), "test")
    : "This problem has no held-out data: the held-out columns below repeat the training losses, and there is no held-out front."
  const bestTable = bestTableMarkdown(bestPerMethod(records))
  const frontTable = frontTableMarkdown(records)
  const totalMinutes = records.reduce((a, r) => a + r.wallTimeMs, 0) / 60000
  const { grid } = description
  const figures = description.figures ?? {}
  const metric = figures.metric
  const reference = description.reference
  const referenceForm = figures.referenceForm
  const epochs = figures.epochs
  const withEpochs = epochs !== undefined && records.some((r) => r.epochs !== undefined)
  const section = (prefix: string) =>
    [
      ...(reference === undefined
        ? []
        : [
            `The reference (${reference.table.source}) and this family as it ran (its column is read from the family's document, its problem's options, its grid and the run records):`,
            "",
            referenceTableMarkdown(reference.table, familyFacts(reference.family, records), "this family (as run)"),
            "",
          ]),
      `Grid: methods ${grid.methods.join(", ")}; λ ∈ {${grid.lambdas.map((l) => String(Number(l.toPrecision(4)))).join(", ")}}; ${grid.seeds} seed(s); ${typeof description.steps === "number" ? `${description.steps} steps` : `${description.steps.epochs} epochs`} per run` +
        (grid.learningRateScaling === "inverse-one-plus-lambda" ? "; learning rate × 1/(1 + λ)" : "") +
        `; ${records.length} runs, ${totalMinutes.toFixed(1)} CPU-minutes of training on ${records[0]?.backend ?? "?"} (indicative: the CPU was shared).`,
      ...(grid.variants === undefined || Object.keys(grid.variants).length === 0
        ? []
        : ["", `Variants: ${Object.entries(grid.variants).map(([label, v]) => `\`${label}\` = ${v.name} ${JSON.stringify(v.options)}`).join("; ")}.`]),
      "",
      ...(heldOut
        ? [`| training losses | held-out losses |`, `|---|---|`, `| ![Pareto front, training](${prefix}${files.trainPlot}) | ![Pareto front, held out](${prefix}${files.testPlot}) |`]
        : [`![Pareto front, training](${prefix}${files.trainPlot})`]),
      "",
      verdictTrain,
      "",
      verdictTest,
      ...(metric === undefined
        ? []
        : ["", `${metric.label} (mean ± standard deviation over seeds):`, "", `![${metric.label}](${prefix}${files.metricPlot})`, "", metricTableMarkdown(records, metric.name)]),
      ...(referenceForm === undefined
        ? []
        : [
            "",
            `The same fronts in the reference's form: main loss on a log x-axis against ${referenceForm.auxExpLabel} (log y-axis), means over seeds:`,
            "",
            ...(heldOut
              ? [`| training | held out |`, `|---|---|`, `| ![Reference form, training](${prefix}${files.referenceTrainPlot}) | ![Reference form, held out](${prefix}${files.referenceTestPlot}) |`]
              : [`![Reference form, training](${prefix}${files.referenceTrainPlot})`]),
          ]),
      ...(withEpochs
        ? [
            "",
            `Epoch by epoch at λ = ${formatNumber(epochs.lambda)} (the grid's closest λ): the mean of the epoch's mini-batch main losses, the test loss, the test accuracy and ${epochs.auxExpLabel} at the epoch's end:`,
            "",
            `![Per-epoch curves](${prefix}${files.epochPlot})`,
            "",
            "<details><summary>Per-epoch values (means over seeds)</summary>",
            "",
            epochTableMarkdown(records, epochs.lambda, epochs, epochs.auxExpLabel),
            "",
            "</details>",
          ]
        : []),
      ...(figures.mixedLoss
        ? ["", `Mixed loss (1 − t)·L_main + t·L_aux, the lowest over the λ grid (each seed its own best λ), against t (the paper's Fig. 6):`, "", `![Mixed loss](${prefix}${files.mixedPlot})`]
        : []),
      ...(figures.trajectoryLambda !== undefined && records.some((r) => r.trajectory !== undefined)
        ? ["", `Training trajectories (mini-batch losses averaged over windows of ${grid.trajectoryEvery} steps, mean ± standard deviation over seeds):`, "", `![Trajectories](${prefix}${files.trajectoryPlot})`]
        : []),
      "",
      `Best ${heldOut ? "held-out" : "training"} main loss per method (mean ± standard deviation over seeds, at the λ that minimises the mean):`,
      "",
      bestTable,
      "",
      "<details><summary>Every (method, λ), means over seeds</summary>",
      "",
      frontTable,
      "",
      "</details>",
      ...(description.compareWith === undefined
        ? []
        : ["", familyComparisonMarkdown({ name: description.name, title: description.title, records }, description.compareWith ?? undefined)]),
    ].join("\n")
  return { verdictTrain, verdictTest, bestTable, frontTable, section }
}

const write = (path: string, content: string) =>
  Effect.tryPromise({
    try: () => writeFile(path, content),
    catch: (error) => new OutputError({ path, reason: error instanceof Error ? error.message : String(error) }),
  })

/** Write every output of a sweep into `folder` (created if missing) and return the summary. */
export const writeSweepOutputs = (
  folder: string,
  records: ReadonlyArray<RunRecord>,
  description: SweepDescription,
): Effect.Effect<SweepSummary, OutputError | PlotFailed | MissingOptionalDependency> =>
  Effect.gen(function* () {
    yield* Effect.tryPromise({
      try: () => mkdir(folder, { recursive: true }),
      catch: (error) => new OutputError({ path: folder, reason: error instanceof Error ? error.message : String(error) }),
    })
    const files = sweepFiles(description.name)
    const summary = summarise(records, description)
    const labels = { mainLabel: description.mainLabel, auxLabel: description.auxLabel }
    const trainSvg = yield* frontPlot(frontPoints(records, "train"), { ...labels, title: `${description.title}: training` })
    yield* write(join(folder, files.trainPlot), trainSvg)
    if (records.some((r) => r.heldOut)) {
      const testSvg = yield* frontPlot(frontPoints(records, "test"), { ...labels, title: `${description.title}: held out` })
      yield* write(join(folder, files.testPlot), testSvg)
    }
    const figures = description.figures ?? {}
    if (figures.referenceForm !== undefined) {
      const formLabels = { mainLabel: figures.referenceForm.auxExpLabel, auxLabel: description.mainLabel, log: true }
      yield* write(join(folder, files.referenceTrainPlot), yield* frontPlot(referenceFormPoints(records, "train"), { ...formLabels, title: `${description.title}: training (reference form)` }))
      if (records.some((r) => r.heldOut)) {
        yield* write(join(folder, files.referenceTestPlot), yield* frontPlot(referenceFormPoints(records, "test"), { ...formLabels, title: `${description.title}: held out (reference form)` }))
      }
    }
    if (figures.epochs !== undefined && records.some((r) => r.epochs !== undefined)) {
      const svg = yield* seriesPlot(epochValues(records, figures.epochs.lambda, figures.epochs, figures.epochs.auxExpLabel), {
        title: `${description.title}: per epoch`,
        xLabel: "epoch",
        yLabel: "value",
      })
      yield* write(join(folder, files.epochPlot), svg)
    }
    if (figures.metric !== undefined) {
      const svg = yield* seriesPlot(metricValues(records, figures.metric.name), {
        title: `${description.title}: ${figures.metric.label}`,
        xLabel: "λ",
        yLabel: figures.metric.label,
        logX: true,
        logY: true,
      })
      yield* write(join(folder, files.metricPlot), svg)
    }
    if (figures.mixedLoss) {
      const split = records.some((r) => r.heldOut) ? "test" : "train"
      const svg = yield* seriesPlot(mixedLossCurve(records, split), {
        title: `${description.title}: mixed loss (${split === "test" ? "held out" : "training"})`,
        xLabel: "t",
        yLabel: "min over λ of (1 − t)·L_main + t·L_aux",
      })
      yield* write(join(folder, files.mixedPlot), svg)
    }
    if (figures.trajectoryLambda !== undefined && records.some((r) => r.trajectory !== undefined)) {
      const svg = yield* seriesPlot(trajectoryValues(records, figures.trajectoryLambda, { main: description.mainLabel, aux: description.auxLabel }), {
        title: `${description.title}: training trajectories`,
        xLabel: "step",
        yLabel: "mini-batch loss",
      })
      yield* write(join(folder, files.trajectoryPlot), svg)
    }
    yield* write(join(folder, files.records), JSON.stringify({ description, records }, null, 2) + "\n")
    yield* write(join(folder, files.csv), recordsCsv(records))
    yield* write(join(folder, files.table), `${summary.bestTable}\n\n${summary.frontTable}\n`)
    yield* write(
      join(folder, files.report),
      [`# ${description.title}`, "", description.setup, "", summary.section(""), ""].join("\n"),
    )
    return summary
  })
