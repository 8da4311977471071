/**
 * The browser example's page logic: pick a backend, train the README's problem with Bloop and with
 * the weighted sum, plot both losses live (plain SVG) and compare the end points.
 *
 * The state of the page is on `window.scalpelExample` (the browser test reads it). Query
 * parameters preset the form: `?backend=wasm&steps=500&run=1` starts training at once.
 */
// The application registers the WebGPU backend (scalpel never imports it): `auto` then prefers it
// where the browser offers a WebGPU adapter, and falls back to webgl otherwise.
import "@tensorflow/tfjs-backend-webgpu"
import { Cause, Effect, Exit } from "effect"
import { backendNames, selectBackend, tf, type BackendChoice, type StepEvent } from "scalpel"
import { checkProducts } from "./productCheck.ts"
import { methods, readmeSteps, trainReadmeProblem, type ExampleState, type Method } from "./problem.ts"

const page: ExampleState = { state: "idle", results: {} }
;(globalThis as unknown as { scalpelExample: ExampleState }).scalpelExample = page

const element = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T
const backendSelect = element<HTMLSelectElement>("backend")
const stepsInput = element<HTMLInputElement>("steps")
const trainButton = element<HTMLButtonElement>("train")
const status = element<HTMLParagraphElement>("status")

const setStatus = (text: string, failed = false) => {
  status.textContent = text
  status.className = failed ? "failed" : ""
}

// ---- live plot: one SVG per objective, one polyline per method, log-scaled losses ----

const colours: Record<Method, string> = { bloop: "#1f77b4", "weighted-sum": "#e6761b" }
const objectives = ["fit", "prior"] as const
type Series = Record<Method, Array<readonly [number, number]>>
const series: Record<(typeof objectives)[number], Series> = {
  fit: { bloop: [], "weighted-sum": [] },
  prior: { bloop: [], "weighted-sum": [] },
}
let plannedSteps = readmeSteps
let redrawPending = false

const svgNamespace = "http://www.w3.org/2000/svg"
const svgElement = (name: string, attributes: Record<string, string | number>, text?: string): SVGElement => {
  const node = document.createElementNS(svgNamespace, name)
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value))
  if (text !== undefined) node.textContent = text
  return node
}

const drawChart = (svg: SVGSVGElement, data: Series) => {
  const width = svg.width.baseVal.value
  const height = svg.height.baseVal.value
  const margin = { left: 44, right: 10, top: 10, bottom: 24 }
  const floor = 1e-8
  const values = methods.flatMap((m) => data[m].map(([, v]) => Math.max(v, floor)))
  const low = values.length === 0 ? -4 : Math.floor(Math.log10(Math.min(...values)))
  const high = values.length === 0 ? 0 : Math.max(low + 1, Math.ceil(Math.log10(Math.max(...values))))
  const x = (step: number) => margin.left + ((width - margin.left - margin.right) * step) / plannedSteps
  const y = (value: number) =>
    margin.top + ((height - margin.top - margin.bottom) * (high - Math.log10(Math.max(value, floor)))) / (high - low)
  const children: Array<SVGElement> = []
  for (let decade = low; decade <= high; decade++) {
    children.push(svgElement("line", { x1: margin.left, x2: width - margin.right, y1: y(10 ** decade), y2: y(10 ** decade), stroke: "#e4e4e4" }))
    children.push(svgElement("text", { x: margin.left - 6, y: y(10 ** decade) + 4, "text-anchor": "end" }, `1e${decade}`))
  }
  children.push(svgElement("text", { x: width - margin.right, y: height - 6, "text-anchor": "end" }, `step ${plannedSteps}`))
  children.push(svgElement("text", { x: margin.left, y: height - 6 }, "0"))
  for (const method of methods) {
    const points = data[method]
    // At most ~500 vertices per line: every k-th step.
    const stride = Math.max(1, Math.ceil(points.length / 500))
    const kept = points.filter((_, i) => i % stride === 0 || i === points.length - 1)
    children.push(
      svgElement("polyline", {
        fill: "none",
        stroke: colours[method],
        "stroke-width": 1.5,
        points: kept.map(([step, value]) => `${x(step).toFixed(1)},${y(value).toFixed(1)}`).join(" "),
      }),
    )
  }
  svg.replaceChildren(...children)
}

const requestRedraw = () => {
  if (redrawPending) return
  redrawPending = true
  requestAnimationFrame(() => {
    redrawPending = false
    for (const objective of objectives) drawChart(element<SVGSVGElement & HTMLElement>(`chart-${objective}`), series[objective])
  })
}

const record = (method: Method) => (event: StepEvent) => {
  for (const objective of objectives) series[objective][method].push([event.step, event.losses[objective] ?? Number.NaN])
  requestRedraw()
}

// ---- results ----

const format = (value: number | undefined) => (value === undefined ? "–" : value.toExponential(3))

const showResults = () => {
  const table = element<HTMLTableElement>("results")
  const body = table.tBodies[0]!
  body.replaceChildren(
    ...methods.flatMap((method) => {
      const result = page.results[method]
      if (result === undefined) return []
      const row = document.createElement("tr")
      row.className = method
      for (const text of [method, format(result.finalLosses["fit"]), format(result.finalLosses["prior"]), String(result.steps), `${Math.round(result.wallTimeMs)} ms`]) {
        const cell = document.createElement("td")
        cell.textContent = text
        row.append(cell)
      }
      return [row]
    }),
  )
  table.hidden = body.rows.length === 0
  const bloopRun = page.results.bloop
  const mixed = page.results["weighted-sum"]
  element("verdict").textContent =
    bloopRun === undefined || mixed === undefined
      ? ""
      : `Bloop ends with fit ${format(bloopRun.finalLosses["fit"])} (an exact fit, the main optimum) and prior ${format(bloopRun.finalLosses["prior"])}; ` +
        `the weighted sum gives up fit (${format(mixed.finalLosses["fit"])}) for a smaller prior (${format(mixed.finalLosses["prior"])}).`
}

// ---- one run of both methods ----

const wasmPaths = new URL("./wasm/", import.meta.url).href

const trainBoth = (choice: BackendChoice, steps: number) =>
  Effect.gen(function* () {
    page.state = "running"
    page.results = {}
    delete page.error
    plannedSteps = steps
    for (const objective of objectives) for (const method of methods) series[objective][method] = []
    showResults()
    setStatus(`Starting the ${choice} backend…`)
    const backend = yield* selectBackend(choice, { wasmPaths })
    page.backend = backend
    page.products = checkProducts()
    for (const method of methods) {
      setStatus(`Training ${method} on ${backend.name} (${backend.reason})…`)
      const summary = yield* trainReadmeProblem(method, steps, record(method))
      page.results[method] = { finalLosses: summary.finalLosses, steps: summary.steps, wallTimeMs: summary.wallTimeMs, engine: tf.getBackend() }
      showResults()
    }
    setStatus(`Done on ${backend.name} (${backend.reason}).`)
    page.state = "done"
  })

const start = async () => {
  trainButton.disabled = true
  const exit = await Effect.runPromiseExit(trainBoth(backendSelect.value as BackendChoice, Number(stepsInput.value)))
  if (Exit.isFailure(exit)) {
    const failure = Cause.failureOption(exit.cause)
    page.error = failure._tag === "Some" ? failure.value.message : Cause.pretty(exit.cause)
    page.state = "failed"
    setStatus(page.error, true)
  }
  trainButton.disabled = false
}

// ---- wiring ----

const query = new URLSearchParams(location.search)
const askedBackend = query.get("backend")
if (askedBackend !== null && (askedBackend === "auto" || (backendNames as ReadonlyArray<string>).includes(askedBackend))) {
  // The list offers the browser's backends; a query may also ask for another one (e.g. node, to see it refused).
  if (![...backendSelect.options].some((option) => option.value === askedBackend)) backendSelect.add(new Option(askedBackend, askedBackend))
  backendSelect.value = askedBackend
}
const askedSteps = Number(query.get("steps"))
if (Number.isInteger(askedSteps) && askedSteps > 0) stepsInput.value = String(askedSteps)

element<HTMLFormElement>("controls").addEventListener("submit", (event) => {
  event.preventDefault()
  void start()
})
setStatus("Ready: choose a backend and press “Train both”.")
if (query.get("run") === "1") void start()
