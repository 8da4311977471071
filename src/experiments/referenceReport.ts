/**
 * A family measured against a published setting (the smooth-authors family against the Bloop
 * authors' smooth-MNIST example): the reference's configuration beside the family's own, the
 * fronts in the reference's form (main loss on a log x-axis against the exponential of the
 * auxiliary loss, which for log Π‖W‖₂² is the Lipschitz bound Π‖W‖₂²), per-epoch curves, and a
 * comparison with another family's committed results, every number computed from the records.
 */
import type { SpecDocument } from "../dsl/json.ts"
import type { SeriesValue } from "./plots.ts"
import { compareFronts, frontPoints, type FrontPoint, methodsOf, type Split, bestPerMethod } from "./report.ts"
import type { RunRecord, SweepGrid } from "./sweep.ts"
import { formatNumber, markdownTable } from "./table.ts"

/** The aspects of a configuration the family's column is computed for. */
export type ReferenceAspect = "data" | "network" | "optimizer" | "training" | "auxiliary" | "methods" | "lambda"

/** One row of the reference table: the aspect, the reference's setting and (optionally) another family's, as written. */
export interface ReferenceRow {
  readonly aspect: ReferenceAspect
  readonly reference: string
  readonly other?: string | undefined
}

/** The reference a family reproduces: where it is published, and its settings row by row. */
export interface ReferenceTable {
  readonly source: string
  /** The column heads of the written columns (e.g. "authors' example", "family (c)"). */
  readonly referenceLabel: string
  readonly otherLabel?: string | undefined
  readonly rows: ReadonlyArray<ReferenceRow>
}

/** What the family's column is computed from. */
export interface FamilyConfiguration {
  readonly document: SpecDocument
  /** The problem's options as its factory decoded them (defaults filled in). */
  readonly problemOptions: Readonly<Record<string, unknown>>
  readonly grid: SweepGrid
}

const text = (value: unknown): string => (Array.isArray(value) ? value.join("-") : String(value))

/** λ values as the reference writes them, `logspace(a, b, n)`, when they are exactly that; otherwise listed. */
export const lambdaGridText = (lambdas: ReadonlyArray<number>): string => {
  const logs = lambdas.map(Math.log10)
  const n = lambdas.length
  const a = logs[0]!
  const b = logs[n - 1]!
  const even = n >= 3 && logs.every((l, i) => Math.abs(l - (a + ((b - a) * i) / (n - 1))) < 1e-9)
  return even ? `logspace(${Number(a.toPrecision(4))}, ${Number(b.toPrecision(4))}, ${n})` : lambdas.map(formatNumber).join(", ")
}

/**
 * The family's own value of each aspect, read from its document, its problem's decoded options,
 * its grid and (for the run length) the records' per-epoch steps, so that the column says what ran.
 */
export const familyFacts = (family: FamilyConfiguration, records: ReadonlyArray<RunRecord>): Readonly<Record<ReferenceAspect, string>> => {
  const { document, problemOptions: o, grid } = family
  const optimizer = document.optimizer
  const epochRecord = records.find((r) => r.epochs !== undefined)?.epochs
  const perEpoch = epochRecord === undefined ? undefined : epochRecord.steps[0]!
  const total = epochRecord?.steps.at(-1)
  const length =
    document.epochs !== undefined
      ? `${document.epochs} epochs${perEpoch === undefined ? "" : ` of ${perEpoch} steps`} (${document.sampling ?? "epochs"})${total === undefined ? "" : ` = ${total} steps`}`
      : `${document.steps} steps`
  const methodText = grid.methods
    .map((label) => {
      const variant = grid.variants?.[label]
      const options = variant?.options ?? (label === document.method.name ? document.method.options : {})
      const shown = Object.keys(options).length === 0 ? "" : ` ${JSON.stringify(options)}`
      return `${label}${variant !== undefined && variant.name !== label ? ` (${variant.name})` : ""}${shown}`
    })
    .join(", ")
  return {
    data: o["trainSize"] !== undefined ? `${text(o["trainSize"])} train / ${text(o["testSize"])} test digits (problem \`${document.problem.name}\`)` : `problem \`${document.problem.name}\``,
    network: o["hidden"] !== undefined ? `MLP with hidden layers ${text(o["hidden"])}` : "–",
    optimizer: `${optimizer.kind} ${formatNumber(optimizer.learningRate)}, ${optimizer.schedule === undefined || optimizer.schedule.kind === "constant" ? "constant" : optimizer.schedule.kind}`,
    training: `batch ${document.batchSize}, ${length}`,
    auxiliary:
      o["spectralTolerance"] !== undefined
        ? `restarted Lanczos warm-started across steps, to a relative residual ${formatNumber(Number(o["spectralTolerance"]))} (at most ${text(o["spectralMaxIterations"])} steps)`
        : "–",
    methods: methodText,
    lambda: lambdaGridText(grid.lambdas),
  }
}

/** The reference table in Markdown with the family's computed column beside the written ones. */
export const referenceTableMarkdown = (table: ReferenceTable, facts: Readonly<Record<ReferenceAspect, string>>, familyLabel: string): string => {
  const withOther = table.otherLabel !== undefined
  return markdownTable(
    ["", table.referenceLabel, familyLabel, ...(withOther ? [table.otherLabel!] : [])],
    table.rows.map((row) => [row.aspect, row.reference, facts[row.aspect], ...(withOther ? [row.other ?? "–"] : [])]),
  )
}

/** Records with the auxiliary losses replaced by their exponentials (log Π‖W‖₂² → Π‖W‖₂²), per run, before averaging. */
export const exponentiatedAux = (records: ReadonlyArray<RunRecord>): ReadonlyArray<RunRecord> =>
  records.map((r) => ({ ...r, auxTrain: Math.exp(r.auxTrain), auxTest: Math.exp(r.auxTest) }))

/** Front points in the reference's form: x = the main loss, y = exp(aux) (the plot's "aux" field is the x axis, so they swap). */
export const referenceFormPoints = (records: ReadonlyArray<RunRecord>, split: Split): ReadonlyArray<FrontPoint> =>
  frontPoints(exponentiatedAux(records), split).map((p) => ({ ...p, main: p.aux, aux: p.main, mainStd: p.auxStd, auxStd: p.mainStd }))

/** The λ of the records closest to `lambda` in log scale. */
const closestLambda = (records: ReadonlyArray<RunRecord>, lambda: number): number =>
  records.map((r) => r.lambda).reduce((a, b) => (Math.abs(Math.log(b / lambda)) < Math.abs(Math.log(a / lambda)) ? b : a))

/** The panels of the per-epoch figure, in order. */
export const epochPanels = (auxExpLabel: string) => ["train loss (mean over the epoch)", "test loss", "test accuracy", auxExpLabel] as const

/**
 * Per-epoch values at (the grid's λ closest to) `lambda`: the epoch's mean mini-batch main loss,
 * the held-out main loss, the held-out accuracy and exp(aux) at the epoch's end; one panel each.
 */
export const epochValues = (
  records: ReadonlyArray<RunRecord>,
  lambda: number,
  names: { readonly test: string; readonly accuracy: string; readonly aux: string },
  auxExpLabel: string,
): ReadonlyArray<SeriesValue> => {
  const withEpochs = records.filter((r) => r.epochs !== undefined)
  if (withEpochs.length === 0) return []
  const chosen = closestLambda(withEpochs, lambda)
  const [train, test, accuracy, bound] = epochPanels(auxExpLabel)
  return withEpochs
    .filter((r) => r.lambda === chosen)
    .flatMap((r) => {
      const e = r.epochs!
      return e.steps.flatMap((_, i) => {
        const x = i + 1
        const at = (name: string) => e.values[name]?.[i]
        const point = (panel: string, y: number | undefined) => (y === undefined ? [] : [{ method: r.method, seed: r.seed, x, y, panel }])
        const aux = at(names.aux)
        return [
          ...point(train, e.trainMain[i]),
          ...point(test, at(names.test)),
          ...point(accuracy, at(names.accuracy)),
          ...point(bound, aux === undefined ? undefined : Math.exp(aux)),
        ]
      })
    })
}

/** The per-epoch values at one λ as a Markdown table (epoch, method, the four values; means over seeds). */
export const epochTableMarkdown = (
  records: ReadonlyArray<RunRecord>,
  lambda: number,
  names: { readonly test: string; readonly accuracy: string; readonly aux: string },
  auxExpLabel: string,
): string => {
  const values = epochValues(records, lambda, names, auxExpLabel)
  const panels = epochPanels(auxExpLabel)
  const methods = methodsOf(records)
  const epochs = [...new Set(values.map((v) => v.x))].sort((a, b) => a - b)
  const meanOf = (method: string, x: number, panel: string) => {
    const ys = values.filter((v) => v.method === method && v.x === x && v.panel === panel).map((v) => v.y)
    return ys.length === 0 ? "–" : formatNumber(ys.reduce((a, b) => a + b, 0) / ys.length)
  }
  return markdownTable(
    ["epoch", "method", ...panels],
    epochs.flatMap((x) => methods.map((m) => [String(x), m, ...panels.map((p) => meanOf(m, x, p))])),
  )
}

/** How `reference`'s front compares with one other method's, in a word. */
const relation = (points: ReadonlyArray<FrontPoint>, reference: string, method: string): string => {
  const c = compareFronts(points, reference).find((x) => x.method === method)
  if (c === undefined) return "not run"
  if (c.coveredByReference === c.points && c.coversReference === 0) return `${reference} dominates`
  if (c.coversReference === c.referencePoints && c.coveredByReference === 0) return `${reference} is dominated`
  return `neither (${reference} dominates ${c.coveredByReference}/${c.points}, is dominated at ${c.coversReference}/${c.referencePoints})`
}

/** Another family's committed results, to compare with. */
export interface OtherFamily {
  readonly name: string
  readonly title: string
  readonly records: ReadonlyArray<RunRecord>
}

/**
 * The comparison with another family, computed: per method shared by both, how Bloop's front
 * compares with it on training and on held-out losses in each family, and each family's best
 * held-out main loss per method (at its own best λ). The reading is left to the text around it.
 */
export const familyComparisonMarkdown = (own: OtherFamily, other: OtherFamily | undefined, reference = "bloop"): string => {
  if (other === undefined) return "The other family's results are not committed, so there is nothing to compare with yet."
  const shared = methodsOf(own.records).filter((m) => m !== reference && methodsOf(other.records).includes(m))
  const fronts = (records: ReadonlyArray<RunRecord>, split: Split) => frontPoints(records, split)
  const ownBest = new Map(bestPerMethod(own.records).map((b) => [b.method, b]))
  const otherBest = new Map(bestPerMethod(other.records).map((b) => [b.method, b]))
  const bestText = (b: ReturnType<typeof bestPerMethod>[number] | undefined) => (b === undefined ? "–" : `${formatNumber(b.mainTest)} (λ ${formatNumber(b.lambda)})`)
  const relations = markdownTable(
    ["method", `${own.name}: training`, `${own.name}: held out`, `${other.name}: training`, `${other.name}: held out`],
    shared.map((m) => [
      m,
      relation(fronts(own.records, "train"), reference, m),
      relation(fronts(own.records, "test"), reference, m),
      relation(fronts(other.records, "train"), reference, m),
      relation(fronts(other.records, "test"), reference, m),
    ]),
  )
  const best = markdownTable(
    ["method", `${own.name}: best held-out main loss`, `${other.name}: best held-out main loss`],
    [reference, ...shared].map((m) => [m, bestText(ownBest.get(m)), bestText(otherBest.get(m))]),
  )
  const same = shared.filter(
    (m) =>
      relation(fronts(own.records, "train"), reference, m).split(" (")[0] === relation(fronts(other.records, "train"), reference, m).split(" (")[0],
  )
  return [
    `Bloop's front against each method's, in this family (${own.records.length} runs) and in ${other.title} (${other.records.length} runs):`,
    "",
    relations,
    "",
    `On training losses the relation is the same in both families for ${same.length} of the ${shared.length} methods${same.length === 0 ? "" : ` (${same.join(", ")})`}.`,
    "",
    best,
  ].join("\n")
}
