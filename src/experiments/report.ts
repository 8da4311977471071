/**
 * From the records of a sweep to evidence: per (method, λ) means over seeds, Pareto fronts,
 * a table of the best held-out result per method, and a verdict sentence computed from the
 * numbers (never written in advance) on whether Bloop's front dominates the others'.
 *
 * Dominance (minimisation of both losses): a point a dominates b when a.main ≤ b.main and
 * a.aux ≤ b.aux with one inequality strict. A method's front "covers" a point of another method
 * when one of its points dominates it.
 */
import type { SeriesValue } from "./plots.ts"
import type { RunRecord } from "./sweep.ts"
import { formatNumber, markdownTable } from "./table.ts"

/** Training or held-out losses. */
export type Split = "train" | "test"

/** One point of a front: a method at one λ, averaged over seeds. */
export interface FrontPoint {
  readonly method: string
  readonly lambda: number
  readonly main: number
  readonly aux: number
  /** Sample standard deviations over seeds (0 for one seed). */
  readonly mainStd: number
  readonly auxStd: number
  readonly seeds: number
}

const mean = (xs: ReadonlyArray<number>) => xs.reduce((a, b) => a + b, 0) / xs.length
const std = (xs: ReadonlyArray<number>) => {
  if (xs.length < 2) return 0
  const m = mean(xs)
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1))
}

/** Methods in order of first appearance. */
export const methodsOf = (records: ReadonlyArray<RunRecord>): ReadonlyArray<string> => [...new Set(records.map((r) => r.method))]

/** Records grouped by method and λ (groups in order of first appearance, λ ascending within a method). */
const groups = (records: ReadonlyArray<RunRecord>): ReadonlyArray<ReadonlyArray<RunRecord>> => {
  const byKey = new Map<string, Array<RunRecord>>()
  for (const r of records) {
    const key = `${r.method}\u0000${r.lambda}`
    byKey.set(key, [...(byKey.get(key) ?? []), r])
  }
  const methods = methodsOf(records)
  return [...byKey.values()].sort((a, b) => methods.indexOf(a[0]!.method) - methods.indexOf(b[0]!.method) || a[0]!.lambda - b[0]!.lambda)
}

/** Mean over seeds of each (method, λ) on one split. */
export const frontPoints = (records: ReadonlyArray<RunRecord>, split: Split): ReadonlyArray<FrontPoint> =>
  groups(records).map((g) => {
    const main = g.map((r) => (split === "train" ? r.mainTrain : r.mainTest))
    const aux = g.map((r) => (split === "train" ? r.auxTrain : r.auxTest))
    return { method: g[0]!.method, lambda: g[0]!.lambda, main: mean(main), aux: mean(aux), mainStd: std(main), auxStd: std(aux), seeds: g.length }
  })

/** `a` dominates `b`. */
export const dominates = (a: { main: number; aux: number }, b: { main: number; aux: number }): boolean =>
  a.main <= b.main && a.aux <= b.aux && (a.main < b.main || a.aux < b.aux)

/** The non-dominated points among `points`. */
export const paretoFront = <P extends { main: number; aux: number }>(points: ReadonlyArray<P>): ReadonlyArray<P> =>
  points.filter((p) => !points.some((q) => dominates(q, p)))

/**
 * Area dominated by `points` and bounded by `reference` (2-D hypervolume): larger is better. Only
 * points below the reference in both coordinates count.
 */
export const hypervolume = (points: ReadonlyArray<{ main: number; aux: number }>, reference: { main: number; aux: number }): number => {
  const front = paretoFront(points.filter((p) => p.main < reference.main && p.aux < reference.aux))
  const sorted = [...front].sort((a, b) => a.aux - b.aux || a.main - b.main)
  let area = 0
  let ceiling = reference.main
  for (const p of sorted) {
    if (p.main < ceiling) {
      area += (reference.aux - p.aux) * (ceiling - p.main)
      ceiling = p.main
    }
  }
  return area
}

/** How two methods' fronts compare on one split. */
export interface FrontComparison {
  readonly method: string
  /** Points of `method` dominated by a point of the reference method, out of `points`. */
  readonly coveredByReference: number
  readonly points: number
  /** Points of the reference method dominated by a point of `method`, out of `referencePoints`. */
  readonly coversReference: number
  readonly referencePoints: number
}

/** Compare `reference`'s front with every other method's on the given points. */
export const compareFronts = (points: ReadonlyArray<FrontPoint>, reference: string): ReadonlyArray<FrontComparison> => {
  const ref = points.filter((p) => p.method === reference)
  return [...new Set(points.map((p) => p.method))]
    .filter((m) => m !== reference)
    .map((method) => {
      const own = points.filter((p) => p.method === method)
      return {
        method,
        coveredByReference: own.filter((p) => ref.some((q) => dominates(q, p))).length,
        points: own.length,
        coversReference: ref.filter((q) => own.some((p) => dominates(p, q))).length,
        referencePoints: ref.length,
      }
    })
}

/**
 * One sentence, computed from the points, on whether `reference`'s (Bloop's) front dominates each
 * other method's: "dominates" when every point of the other method is dominated by one of
 * Bloop's and none of Bloop's by one of theirs; "is dominated by" for the converse; otherwise
 * the counts both ways. Hypervolumes (reference point: the worst value of each loss among all
 * points) summarise the fronts in one number each.
 */
export const dominanceVerdict = (points: ReadonlyArray<FrontPoint>, split: Split, reference = "bloop"): string => {
  const where = split === "train" ? "On training losses" : "On held-out losses"
  if (!points.some((p) => p.method === reference)) return `${where}: ${reference} was not run, so there is no front to compare.`
  const comparisons = compareFronts(points, reference)
  if (comparisons.length === 0) return `${where}: ${reference} was the only method run.`
  const dominated: Array<string> = []
  const dominating: Array<string> = []
  const mixed: Array<string> = []
  for (const c of comparisons) {
    if (c.coveredByReference === c.points && c.coversReference === 0) dominated.push(c.method)
    else if (c.coversReference === c.referencePoints && c.coveredByReference === 0) dominating.push(c.method)
    else {
      mixed.push(
        `${c.method} (${reference} dominates ${c.coveredByReference} of its ${c.points} points, it dominates ${c.coversReference} of ${reference}'s ${c.referencePoints})`,
      )
    }
  }
  const reference2D = { main: Math.max(...points.map((p) => p.main)), aux: Math.max(...points.map((p) => p.aux)) }
  const volumes = [...new Set(points.map((p) => p.method))].map((m) => ({
    method: m,
    volume: hypervolume(
      points.filter((p) => p.method === m),
      reference2D,
    ),
  }))
  const best = volumes.reduce((a, b) => (b.volume > a.volume ? b : a))
  const parts: Array<string> = []
  if (dominated.length > 0) parts.push(`${reference}'s front dominates that of ${dominated.join(", ")}`)
  if (dominating.length > 0) parts.push(`${reference}'s front is dominated by that of ${dominating.join(", ")}`)
  if (mixed.length > 0) parts.push(`neither front dominates for ${mixed.join("; ")}`)
  const volumeText = volumes.map((v) => `${v.method} ${formatNumber(v.volume)}`).join(", ")
  return `${where}, ${parts.join("; ")}. Hypervolume (larger is better): ${volumeText}; the largest is ${best.method}'s.`
}

/** Per method: the λ with the lowest mean held-out main loss, and what it achieves. */
export interface BestRow {
  readonly method: string
  readonly lambda: number
  readonly mainTest: number
  readonly mainTestStd: number
  readonly auxTest: number
  readonly mainTrain: number
  readonly metrics: Readonly<Record<string, number>>
  readonly seeds: number
}

export const bestPerMethod = (records: ReadonlyArray<RunRecord>): ReadonlyArray<BestRow> =>
  methodsOf(records).map((method) => {
    const candidates = groups(records).filter((g) => g[0]!.method === method)
    const scored = candidates.map((g) => ({ g, score: mean(g.map((r) => r.mainTest)) }))
    const { g } = scored.reduce((a, b) => (b.score < a.score ? b : a))
    const metricNames = Object.keys(g[0]!.metrics)
    return {
      method,
      lambda: g[0]!.lambda,
      mainTest: mean(g.map((r) => r.mainTest)),
      mainTestStd: std(g.map((r) => r.mainTest)),
      auxTest: mean(g.map((r) => r.auxTest)),
      mainTrain: mean(g.map((r) => r.mainTrain)),
      metrics: Object.fromEntries(metricNames.map((n) => [n, mean(g.map((r) => r.metrics[n] ?? Number.NaN))])),
      seeds: g.length,
    }
  })

/** The best-per-method table in Markdown. */
export const bestTableMarkdown = (rows: ReadonlyArray<BestRow>): string => {
  const metricNames = [...new Set(rows.flatMap((r) => Object.keys(r.metrics)))]
  return markdownTable(
    ["method", "best λ", "main loss (held out)", "aux loss (held out)", "main loss (train)", ...metricNames, "seeds"],
    rows.map((r) => [
      r.method,
      formatNumber(r.lambda),
      `${formatNumber(r.mainTest)} ± ${formatNumber(r.mainTestStd)}`,
      formatNumber(r.auxTest),
      formatNumber(r.mainTrain),
      ...metricNames.map((n) => formatNumber(r.metrics[n] ?? Number.NaN)),
      String(r.seeds),
    ]),
  )
}

/** Every (method, λ) mean, both splits, in Markdown. */
export const frontTableMarkdown = (records: ReadonlyArray<RunRecord>): string => {
  const train = frontPoints(records, "train")
  const test = frontPoints(records, "test")
  return markdownTable(
    ["method", "λ", "main (train)", "aux (train)", "main (held out)", "aux (held out)", "seeds"],
    train.map((p, i) => [
      p.method,
      formatNumber(p.lambda),
      formatNumber(p.main),
      formatNumber(p.aux),
      formatNumber(test[i]!.main),
      formatNumber(test[i]!.aux),
      String(p.seeds),
    ]),
  )
}

/** All records as CSV (one row per run). */
export const recordsCsv = (records: ReadonlyArray<RunRecord>): string => {
  const metricNames = [...new Set(records.flatMap((r) => Object.keys(r.metrics)))]
  const header = ["method", "lambda", "seed", "main_train", "aux_train", "main_test", "aux_test", ...metricNames, "wall_time_ms", "backend"]
  const quote = (s: string) => (/[",\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s)
  return [
    header.map(quote).join(","),
    ...records.map((r) =>
      [r.method, r.lambda, r.seed, r.mainTrain, r.auxTrain, r.mainTest, r.auxTest, ...metricNames.map((n) => r.metrics[n] ?? ""), r.wallTimeMs, r.backend]
        .map((v) => quote(String(v)))
        .join(","),
    ),
  ].join("\n") + "\n"
}

/** Mixing weights t of the mixed-loss curve: 0, 0.05, …, 1. */
export const mixingWeights: ReadonlyArray<number> = Array.from({ length: 21 }, (_, i) => i / 20)

/**
 * The Bloop paper's Fig. 6 curve: for each mixing weight t, the lowest mixed loss
 * (1 − t)·L_main + t·L_aux a method reaches over its λ grid, one value per seed (each seed takes its
 * own best λ), on one split. A method whose front lies below another's has a lower curve for every t.
 */
export const mixedLossCurve = (records: ReadonlyArray<RunRecord>, split: Split, weights = mixingWeights): ReadonlyArray<SeriesValue> =>
  methodsOf(records).flatMap((method) => {
    const own = records.filter((r) => r.method === method)
    const seeds = [...new Set(own.map((r) => r.seed))]
    return seeds.flatMap((seed) => {
      const runs = own.filter((r) => r.seed === seed)
      return weights.map((t) => ({
        method,
        seed,
        x: t,
        y: Math.min(...runs.map((r) => (1 - t) * (split === "train" ? r.mainTrain : r.mainTest) + t * (split === "train" ? r.auxTrain : r.auxTest))),
        panel: split,
      }))
    })
  })

/** The λ of the grid closest to `lambda` (in log scale) among the records. */
const closestLambda = (records: ReadonlyArray<RunRecord>, lambda: number): number =>
  records.map((r) => r.lambda).reduce((a, b) => (Math.abs(Math.log(b / lambda)) < Math.abs(Math.log(a / lambda)) ? b : a))

/** Training trajectories at (the grid's λ closest to) `lambda`: one panel per level, one value per recorded step and seed. */
export const trajectoryValues = (records: ReadonlyArray<RunRecord>, lambda: number, labels: { main: string; aux: string }): ReadonlyArray<SeriesValue> => {
  const withTrajectory = records.filter((r) => r.trajectory !== undefined)
  if (withTrajectory.length === 0) return []
  const chosen = closestLambda(withTrajectory, lambda)
  return withTrajectory
    .filter((r) => r.lambda === chosen)
    .flatMap((r) =>
      r.trajectory!.steps.flatMap((step, i) => [
        { method: r.method, seed: r.seed, x: step, y: r.trajectory!.main[i]!, panel: labels.main },
        { method: r.method, seed: r.seed, x: step, y: r.trajectory!.aux[i]!, panel: labels.aux },
      ]),
    )
}

/** A metric of the runs (e.g. the distance to a known optimum) against λ, one value per run. */
export const metricValues = (records: ReadonlyArray<RunRecord>, metric: string): ReadonlyArray<SeriesValue> =>
  records.flatMap((r) => {
    const y = r.metrics[metric]
    return y === undefined ? [] : [{ method: r.method, seed: r.seed, x: r.lambda, y, panel: metric }]
  })

/** The metric's mean ± standard deviation over seeds, methods as rows and λ as columns, in Markdown. */
export const metricTableMarkdown = (records: ReadonlyArray<RunRecord>, metric: string): string => {
  const lambdas = [...new Set(records.map((r) => r.lambda))].sort((a, b) => a - b)
  return markdownTable(
    ["method", ...lambdas.map((l) => `λ = ${formatNumber(l)}`)],
    methodsOf(records).map((method) => [
      method,
      ...lambdas.map((lambda) => {
        const values = records.filter((r) => r.method === method && r.lambda === lambda).map((r) => r.metrics[metric] ?? Number.NaN)
        return values.length === 0 ? "–" : `${formatNumber(mean(values))} ± ${formatNumber(std(values))}`
      }),
    ]),
  )
}
