/**
 * Pareto-front figures: a Vega-Lite specification compiled by vega-lite and rendered headless to
 * SVG by vega (no canvas, no browser).
 */
import { Data, Effect } from "effect"
import type * as vegaLite from "vega-lite"
import { importOptional, type MissingOptionalDependency } from "./optionalDependency.ts"
import type { FrontPoint } from "./report.ts"

/** Rendering a figure failed (a bad specification, or vega's renderer threw). */
export class PlotFailed extends Data.TaggedError("PlotFailed")<{ readonly title: string; readonly reason: string }> {
  override get message(): string {
    return `could not render the figure '${this.title}': ${this.reason}`
  }
}

export interface FrontPlotOptions {
  readonly title: string
  readonly mainLabel: string
  readonly auxLabel: string
  /** Log scales on both axes (the values must be positive); otherwise log only where values span more than a decade. */
  readonly log?: boolean
}

/** A method's colour and marker in every figure. */
export interface MethodStyle {
  readonly color: string
  readonly shape: string
}

/** The paper's methods keep these in every figure (colour-blind-safe Okabe–Ito colours). */
const fixedStyles: Readonly<Record<string, MethodStyle>> = {
  bloop: { color: "#0072B2", shape: "circle" },
  "weighted-sum": { color: "#E69F00", shape: "square" },
  pcgrad: { color: "#009E73", shape: "triangle-up" },
  "dynamic-barrier": { color: "#D55E00", shape: "diamond" },
  "bloop-no-ema": { color: "#CC79A7", shape: "cross" },
}
const spareColors = ["#000000", "#56B4E9", "#9467BD", "#8C564B", "#BCBD22", "#999999", "#17BECF", "#F0E442"]
const spareShapes = ["triangle-down", "triangle-right", "triangle-left", "square", "diamond", "circle", "cross", "triangle-up"]

/**
 * The style of a method label: fixed for the paper's methods; any other label (a variant such as
 * `ρ=0.1`) takes the next spare style in the order the labels first appear among the other
 * labels (`others`), so a family's figures, which list the same methods in the same order, agree.
 */
export const methodStyle = (method: string, others: ReadonlyArray<string> = [method]): MethodStyle => {
  const fixed = fixedStyles[method]
  if (fixed !== undefined) return fixed
  const index = Math.max(0, others.filter((m) => fixedStyles[m] === undefined).indexOf(method))
  return { color: spareColors[index % spareColors.length]!, shape: spareShapes[index % spareShapes.length]! }
}

/** Colour and shape encodings whose scales pin each method to its {@link methodStyle}. */
const methodEncodings = (methods: ReadonlyArray<string>) => {
  const domain = [...new Set(methods)]
  return {
    color: { field: "method", type: "nominal" as const, title: "method", scale: { domain, range: domain.map((m) => methodStyle(m, domain).color) } },
    shape: { field: "method", type: "nominal" as const, title: "method", scale: { domain, range: domain.map((m) => methodStyle(m, domain).shape) } },
  }
}

/** A log scale when the values span more than a decade and are all positive; no padding to zero, no rounding out. */
const scaleFor = (values: ReadonlyArray<number>, log = false) => {
  const positive = values.every((v) => v > 0)
  const span = positive ? Math.max(...values) / Math.min(...values) : 1
  return positive && (span > 10 || log) ? { type: "log" as const, nice: false } : { zero: false, nice: false }
}

/** A point of a front with what its figure needs: error-bar ends, whether it is on its method's front, its λ as text. */
interface PlottedPoint {
  readonly method: string
  readonly lambda: number
  readonly lambdaText: string
  readonly main: number
  readonly aux: number
  readonly mainLow: number
  readonly mainHigh: number
  readonly auxLow: number
  readonly auxHigh: number
  readonly front: boolean
}

const dominatesPoint = (a: FrontPoint, b: FrontPoint) => a.main <= b.main && a.aux <= b.aux && (a.main < b.main || a.aux < b.aux)

/** λ as a short label: 0.003, 0.3, 30, or 1.0e-4 and 3.2e+3 beyond three decades from 1. */
export const lambdaText = (lambda: number): string =>
  lambda !== 0 && Math.abs(Math.log10(lambda)) >= 3 ? lambda.toExponential(1) : String(Number(lambda.toPrecision(2)))

/** Bars of ± one standard deviation, kept above 0 on log axes (a bar reaching below 0 is cut at a tenth of the point). */
const plotted = (points: ReadonlyArray<FrontPoint>, logMain: boolean, logAux: boolean): ReadonlyArray<PlottedPoint> =>
  points.map((p) => {
    const own = points.filter((q) => q.method === p.method)
    const low = (v: number, sd: number, log: boolean) => (log ? Math.max(v - sd, v / 10) : v - sd)
    return {
      method: p.method,
      lambda: p.lambda,
      lambdaText: lambdaText(p.lambda),
      main: p.main,
      aux: p.aux,
      mainLow: low(p.main, p.mainStd, logMain),
      mainHigh: p.main + p.mainStd,
      auxLow: low(p.aux, p.auxStd, logAux),
      auxHigh: p.aux + p.auxStd,
      front: !own.some((q) => dominatesPoint(q, p)),
    }
  })

/**
 * The Vega-Lite specification of a Pareto-front plot: main loss against auxiliary loss; every
 * (method, λ) point (mean over seeds) with bars of ± one standard deviation over seeds on both
 * losses and its λ written beside it; a line through each method's non-dominated points only
 * (dominated points stay visible, unjoined); one fixed colour and marker per method.
 */
export const frontPlotSpec = (points: ReadonlyArray<FrontPoint>, options: FrontPlotOptions): vegaLite.TopLevelSpec => {
  const xScale = scaleFor(points.flatMap((p) => [p.aux, p.aux + p.auxStd]), options.log === true)
  const yScale = scaleFor(points.flatMap((p) => [p.main, p.main + p.mainStd]), options.log === true)
  const values = plotted(points, "type" in yScale, "type" in xScale)
  const { color, shape } = methodEncodings(points.map((p) => p.method))
  const x = { field: "aux", type: "quantitative" as const, title: options.auxLabel, scale: xScale }
  const y = { field: "main", type: "quantitative" as const, title: options.mainLabel, scale: yScale }
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    title: options.title,
    width: 460,
    height: 320,
    data: { values: values.map((p) => ({ ...p })) },
    layer: [
      { mark: { type: "rule", opacity: 0.45 }, encoding: { x, y: { field: "mainLow", type: "quantitative" }, y2: { field: "mainHigh" }, color } },
      { mark: { type: "rule", opacity: 0.45 }, encoding: { y, x: { field: "auxLow", type: "quantitative" }, x2: { field: "auxHigh" }, color } },
      {
        transform: [{ filter: "datum.front" }],
        mark: { type: "line", opacity: 0.8 },
        encoding: { x, y, color, order: { field: "aux", type: "quantitative" } },
      },
      {
        mark: { type: "point", filled: true, size: 55, opacity: 0.9 },
        encoding: {
          x,
          y,
          color,
          shape,
          tooltip: [
            { field: "method", type: "nominal" },
            { field: "lambda", type: "quantitative", title: "λ" },
            { field: "main", type: "quantitative", format: ".4g" },
            { field: "aux", type: "quantitative", format: ".4g" },
          ],
        },
      },
      { mark: { type: "text", dx: 7, dy: -7, fontSize: 9, align: "left" }, encoding: { x, y, color, text: { field: "lambdaText" } } },
    ],
  }
}

/** One value of a per-seed series: a method's loss at one step (or λ, or t) for one seed. */
export interface SeriesValue {
  readonly method: string
  readonly seed: number
  /** The x coordinate: a step, a λ or a mixing weight t. */
  readonly x: number
  readonly y: number
  /** The panel the value belongs to (e.g. "main" and "auxiliary"); one panel when all equal. */
  readonly panel: string
}

export interface SeriesPlotOptions {
  readonly title: string
  readonly xLabel: string
  readonly yLabel: string
  readonly logX?: boolean
  readonly logY?: boolean
}

/**
 * Lines of the mean over seeds against x, one per method (fixed colours), with a band of ± one
 * standard deviation over seeds; one panel per distinct `panel`, each with its own y scale.
 */
export const seriesPlotSpec = (values: ReadonlyArray<SeriesValue>, options: SeriesPlotOptions): vegaLite.TopLevelSpec => {
  const { color } = methodEncodings(values.map((v) => v.method))
  const x = { field: "x", type: "quantitative" as const, title: options.xLabel, scale: options.logX ? { type: "log" as const, nice: false } : { zero: false, nice: false } }
  const yScale = options.logY && values.every((v) => v.y > 0) ? { type: "log" as const, nice: false } : { zero: false, nice: false }
  const layer = [
    { mark: { type: "errorband" as const, extent: "stdev" as const, opacity: 0.2 }, encoding: { x, y: { field: "y", type: "quantitative" as const, title: options.yLabel, scale: yScale }, color } },
    { mark: { type: "line" as const, strokeWidth: 1.6 }, encoding: { x, y: { aggregate: "mean" as const, field: "y", type: "quantitative" as const, title: options.yLabel, scale: yScale }, color } },
  ]
  const panels = new Set(values.map((v) => v.panel))
  const data = { values: values.map((v) => ({ ...v })) }
  return panels.size > 1
    ? {
        $schema: "https://vega.github.io/schema/vega-lite/v5.json",
        title: options.title,
        data,
        facet: { column: { field: "panel", type: "nominal", title: null, sort: [...panels] } },
        spec: { width: 300, height: 230, layer },
        resolve: { scale: { y: "independent" } },
      }
    : { $schema: "https://vega.github.io/schema/vega-lite/v5.json", title: options.title, width: 460, height: 300, data, layer }
}

/** The SVG of a series plot (trajectories, mixed losses, a metric against λ). */
export const seriesPlot = (values: ReadonlyArray<SeriesValue>, options: SeriesPlotOptions): Effect.Effect<string, PlotFailed | MissingOptionalDependency> =>
  renderSvg(seriesPlotSpec(values, options), options.title)

/** Render a Vega-Lite specification to an SVG document. */
export const renderSvg = (spec: vegaLite.TopLevelSpec, title: string): Effect.Effect<string, PlotFailed | MissingOptionalDependency> =>
  Effect.flatMap(plotting, ([vega, vegaLite]) => Effect.tryPromise({
    try: async () => {
      const compiled = vegaLite.compile(spec).spec
      const view = new vega.View(vega.parse(compiled), { renderer: "none" })
      try {
        return await view.toSVG()
      } finally {
        view.finalize()
      }
    },
    catch: (error) => new PlotFailed({ title, reason: error instanceof Error ? error.message : String(error) }),
  }))

/** vega and vega-lite, loaded on first use (optional peer dependencies: only plots need them). */
const plotting = importOptional("plots", ["vega", "vega-lite"], () => Promise.all([import("vega"), import("vega-lite")]))

/** The SVG of a Pareto-front plot. */
export const frontPlot = (points: ReadonlyArray<FrontPoint>, options: FrontPlotOptions): Effect.Effect<string, PlotFailed | MissingOptionalDependency> =>
  renderSvg(frontPlotSpec(points, options), options.title)
