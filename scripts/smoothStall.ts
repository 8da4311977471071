/**
 * `npm run probe:smooth-stall -- [METHODS] [LAMBDAS] [STEPS] [SEEDS] [WINDOW] [POWER-ITERATIONS]`:
 * why Bloop's Lipschitz proxy does not fall in the smooth family (docs/experiments.md, "Smooth
 * networks on MNIST", "Measurement: why Bloop's proxy does not fall").
 *
 * Trains `experiments/smooth.json` (same problem, optimizer, schedule, batch; default its own step
 * count and power iterations) for each method (default `bloop,weighted-sum`), λ (default `0.1,1`)
 * and seed (default 1), through the library's own training loop. The method's update rule is
 * wrapped by an observer that passes its direction and state through unchanged (the run is the
 * run the sweep makes) and reads, at every step, the mini-batch main gradient g_m, the proxy's
 * gradient g_a, the direction d, the proxy's value and the weights θ (the proxy objective is
 * wrapped to keep a handle on the variables the loop passes it). It keeps on the host:
 *
 * - ĝ, the EMA of main gradients exactly as Bloop keeps it (ρ = 0.01, started at the first main
 *   gradient, updated after the step), for every method, so that the weighted sum is measured
 *   against the same reference;
 * - a shadow of the run's Adam (same β₁, β₂, ε and learning-rate schedule, fed the same d), whose
 *   first moment is kept in two parts, m = m_main + m_aux, the EMAs of g_m and of a = d − g_m (the
 *   part of the direction the auxiliary loss adds). Adam's step is then exactly
 *   Δ = P ⊙ (m̂_main + m̂_aux), P = η_t / (√v̂ + ε), θ ← θ − Δ; the next step checks it against
 *   the θ the run actually reached ("shadow Adam error").
 *
 * Per window of WINDOW steps (default 50), and for the whole run, it prints: the means of
 * cos(g_a, ĝ) overall and per kernel, cos(g_a, g_m), the fraction ‖π(g_a; ĝ)‖/‖g_a‖ of the proxy
 * gradient that survives the projection, cos(a, ĝ) and cos(P ⊙ m̂_aux, ĝ) (is the auxiliary part of
 * the step orthogonal to the main gradient before and after Adam?); the proxy at the window's start,
 * as the run estimates it and converged (power iteration to a change below 1e-12: Σ log σ_max);
 * the sums of the first-order changes of the proxy caused by the two parts of the step,
 * −⟨g_a, P ⊙ m̂_main⟩ and −⟨g_a, P ⊙ m̂_aux⟩, next to its measured change and to its exact change
 * when θ is moved by each part alone and by the whole step; the cosine between the gradient u·vᵀ the
 * run follows and the converged one, per kernel (every 10th step); the first-order changes of the
 * main loss along ĝ caused by the two parts, −⟨ĝ, P ⊙ m̂_main⟩ and −⟨ĝ, P ⊙ m̂_aux⟩.
 *
 * Results also go to `runs/probe-smooth-stall/` as JSON (one file per invocation).
 */
import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { NodeContext } from "@effect/platform-node"
import { Console, Effect, Either, Stream } from "effect"
import {
  builtinInterpreters,
  type Layout,
  objective,
  type Params,
  prioritize,
  type SpecDocument,
  learningRateAt,
  lookup,
  resolveSpecDocument,
  selectBackend,
  type Gradients,
  type Losses,
  type RuleState,
  trainingEvents,
  type UpdateRule,
} from "scalpel"
import { documentForJob, formatNumber, loadExperiment } from "scalpel/experiments"
import { startVector } from "../src/problems/mnistTasks.ts"

const [methodsText, lambdasText, stepsText, seedsText, windowText, iterationsText] = process.argv.slice(2)
const methods = (methodsText ?? "bloop,weighted-sum").split(",").filter((m) => m !== "")
const lambdas = (lambdasText ?? "0.1,1").split(",").map(Number)
const seeds = seedsText === undefined ? 1 : Number(seedsText)
const window = windowText === undefined ? 50 : Number(windowText)
/** Power iterations of the proxy (the problem's `powerIterations`; default: the family's). */
const iterationsOverride = iterationsText === undefined ? undefined : Number(iterationsText)
if (lambdas.some((l) => !(l >= 0)) || !(seeds >= 1) || !(window >= 1) || (iterationsOverride !== undefined && !(iterationsOverride >= 1))) {
  console.error("usage: npm run probe:smooth-stall -- [METHODS] [LAMBDAS] [STEPS] [SEEDS] [WINDOW] [POWER-ITERATIONS]")
  process.exit(2)
}

const rho = 0.01

const dot = (a: ArrayLike<number>, b: ArrayLike<number>, from = 0, to = a.length): number => {
  let s = 0
  for (let i = from; i < to; i++) s += a[i]! * b[i]!
  return s
}
const cosine = (a: ArrayLike<number>, b: ArrayLike<number>, from = 0, to = a.length): number => {
  const d = Math.sqrt(dot(a, a, from, to) * dot(b, b, from, to))
  return d === 0 ? 0 : dot(a, b, from, to) / d
}

/**
 * Power iteration on WᵀW (W row-major [rows, cols], read at `offset` of `theta`) from the fixed
 * start vector: `iterations` steps (the problem's estimator uses 8), or until v moves by less than
 * 1e-12 when `iterations` is Infinity (the converged σ_max). Returns σ = ‖Wv‖, u = Wv/σ and v.
 */
const powerIteration = (theta: ArrayLike<number>, offset: number, rows: number, cols: number, iterations: number) => {
  let v = startVector(cols)
  const wv = new Float64Array(rows)
  const multiply = () => {
    for (let i = 0; i < rows; i++) {
      let acc = 0
      for (let j = 0; j < cols; j++) acc += theta[offset + i * cols + j]! * v[j]!
      wv[i] = acc
    }
  }
  for (let k = 0; k < Math.min(iterations, 5000); k++) {
    multiply()
    const next = new Float64Array(cols)
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) next[j]! += theta[offset + i * cols + j]! * wv[i]!
    const norm = Math.hypot(...next) || 1
    let moved = 0
    for (let j = 0; j < cols; j++) {
      next[j] = next[j]! / norm
      moved = Math.max(moved, Math.abs(next[j]! - v[j]!))
    }
    v = next
    if (iterations === Infinity && moved < 1e-12) break
  }
  multiply()
  const sigma = Math.hypot(...wv)
  return { sigma, u: wv.map((x) => x / sigma), v }
}

/** The kernels of the layout: where each lies in θ and its shape. */
type Kernel = { readonly offset: number; readonly rows: number; readonly cols: number }

/** The run's power iterations (set from the resolved problem options). */
let proxyIterations = 8

/** Σ log σ over the kernels, σ by `iterations` steps of power iteration (the problem's proxy: proxyIterations). */
const proxyAt = (theta: ArrayLike<number>, kernels: ReadonlyArray<Kernel>, iterations: number): number =>
  kernels.reduce((acc, k) => acc + Math.log(powerIteration(theta, k.offset, k.rows, k.cols, iterations).sigma), 0)

/** cos between the gradients u·vᵀ/σ of log σ by the run's iterations (what training follows) and converged. */
const gradientCosine = (theta: ArrayLike<number>, k: Kernel): number => {
  const a = powerIteration(theta, k.offset, k.rows, k.cols, proxyIterations)
  const b = powerIteration(theta, k.offset, k.rows, k.cols, Infinity)
  // ⟨u₁v₁ᵀ, u₂v₂ᵀ⟩ = ⟨u₁, u₂⟩·⟨v₁, v₂⟩ (both of unit Frobenius norm).
  return dot(a.u, b.u) * dot(a.v, b.v)
}

/**
 * σ₂/σ₁ of a kernel (converged power iteration, then the same on WᵀW with the top pair deflated):
 * near 1, the top singular value is nearly degenerate and log σ_max nearly non-differentiable.
 */
const topGapRatio = (theta: ArrayLike<number>, k: Kernel): number => {
  const top = powerIteration(theta, k.offset, k.rows, k.cols, Infinity)
  let v = startVector(k.cols)
  const project = (x: Float64Array) => {
    const c = dot(x, top.v)
    return x.map((xi, j) => xi - c * top.v[j]!)
  }
  v = project(v)
  let sigma = 0
  for (let it = 0; it < 5000; it++) {
    const wv = new Float64Array(k.rows)
    for (let i = 0; i < k.rows; i++) {
      let acc = 0
      for (let j = 0; j < k.cols; j++) acc += theta[k.offset + i * k.cols + j]! * v[j]!
      wv[i] = acc
    }
    let next = new Float64Array(k.cols)
    for (let i = 0; i < k.rows; i++) for (let j = 0; j < k.cols; j++) next[j]! += theta[k.offset + i * k.cols + j]! * wv[i]!
    next = project(next)
    const norm = Math.hypot(...next) || 1
    let moved = 0
    for (let j = 0; j < k.cols; j++) {
      next[j] = next[j]! / norm
      moved = Math.max(moved, Math.abs(next[j]! - v[j]!))
    }
    v = next
    sigma = Math.hypot(...wv)
    if (moved < 1e-10) break
  }
  return sigma / top.sigma
}

/** Per-step figures of one run. */
interface StepFigures {
  readonly step: number
  readonly proxy: number
  readonly cosAuxEma: number
  readonly cosAuxEmaByKernel: ReadonlyArray<number>
  readonly cosAuxMain: number
  readonly survives: number
  readonly cosAuxPartEma: number
  readonly cosAdamAuxPartEma: number
  readonly proxyByMainPart: number
  readonly proxyByAuxPart: number
  readonly mainByMainPart: number
  readonly mainByAuxPart: number
  readonly auxNorm: number
  readonly mainNorm: number
  /** Σ log σ_max with converged power iteration at θ_t. */
  readonly exactProxy: number
  /** The proxy (the run's estimate) after moving θ_t by the main part of Adam's step only, minus at θ_t. */
  readonly proxyStepMainPart: number
  /** The same for the auxiliary part only. */
  readonly proxyStepAuxPart: number
  /** The same for the whole step (what the next step measures, if the shadow Adam is exact). */
  readonly proxyStepWhole: number
  /** ‖(θ_t − θ_{t−1}) + Δ_{t−1}‖ / ‖Δ_{t−1}‖: how exactly the shadow Adam reproduces the run's step (NaN at step 1). */
  readonly shadowError: number
  /** Per kernel, cos between the run's gradient u·vᵀ and the converged one (every 10 steps; NaN otherwise). */
  readonly gradientCosByKernel: ReadonlyArray<number>
  /** Per kernel, σ₂/σ₁ (every 10 steps; NaN otherwise). */
  readonly gapByKernel: ReadonlyArray<number>
}

/**
 * Wrap `inner` so that every step's gradients, direction and proxy value are recorded (see the
 * header). The inner rule's direction and state pass through unchanged: training is not altered.
 */
const observed = (
  inner: UpdateRule<any>,
  settings: { readonly beta1: number; readonly beta2: number; readonly epsilon: number; readonly at: (t: number) => number },
  names: { readonly main: string; readonly aux: string },
  theta: (layout: Layout) => Float64Array,
  sink: Array<StepFigures>,
): UpdateRule<any> => {
  let layout: Layout | undefined
  let previous: { readonly theta: Float64Array; readonly step: Float64Array } | undefined
  let ema: Float64Array | undefined
  let mMain: Float64Array, mAux: Float64Array, v: Float64Array
  let t = 0
  return {
    ...inner,
    init: (l) => {
      layout = l
      mMain = new Float64Array(l.size)
      mAux = new Float64Array(l.size)
      v = new Float64Array(l.size)
      return inner.init(l)
    },
    step: (gradients: Gradients, state: RuleState, losses?: Losses) => {
      const [direction, next] = inner.step(gradients, state, losses)
      const gm = gradients[names.main]!.dataSync()
      const ga = gradients[names.aux]!.dataSync()
      const d = direction.dataSync()
      const n = gm.length
      if (ema === undefined) ema = Float64Array.from(gm)
      t += 1
      const { beta1, beta2, epsilon } = settings
      const eta = settings.at(t)
      const c1 = 1 - beta1 ** t
      const c2 = 1 - beta2 ** t
      // Shadow Adam, first moment split into the main part and the auxiliary part a = d − g_m.
      const stepMain = new Float64Array(n)
      const stepAux = new Float64Array(n)
      const a = new Float64Array(n)
      for (let i = 0; i < n; i++) {
        a[i] = d[i]! - gm[i]!
        mMain[i] = beta1 * mMain[i]! + (1 - beta1) * gm[i]!
        mAux[i] = beta1 * mAux[i]! + (1 - beta1) * a[i]!
        v[i] = beta2 * v[i]! + (1 - beta2) * d[i]! * d[i]!
        const p = eta / (Math.sqrt(v[i]! / c2) + epsilon)
        stepMain[i] = (p * mMain[i]!) / c1
        stepAux[i] = (p * mAux[i]!) / c1
      }
      const cosAuxEma = cosine(ga, ema)
      const kernels = layout!.entries.filter((e) => e.name.endsWith("kernel"))
      const shapes = kernels.map((e) => ({ offset: e.offset, rows: e.shape[0]!, cols: e.shape[1]! }))
      const now = theta(layout!)
      let shadowError = Number.NaN
      if (previous !== undefined) {
        let err = 0
        for (let i = 0; i < n; i++) err += (now[i]! - previous.theta[i]! + previous.step[i]!) ** 2
        shadowError = Math.sqrt(err / dot(previous.step, previous.step))
      }
      const moved = (by: ArrayLike<number>, by2?: ArrayLike<number>) => now.map((x, i) => x - by[i]! - (by2?.[i] ?? 0))
      const proxyNow = proxyAt(now, shapes, proxyIterations)
      const whole = proxyAt(moved(stepMain, stepAux), shapes, proxyIterations) - proxyNow
      previous = { theta: now, step: stepMain.map((x, i) => x + stepAux[i]!) }
      sink.push({
        exactProxy: proxyAt(now, shapes, Infinity),
        proxyStepMainPart: proxyAt(moved(stepMain), shapes, proxyIterations) - proxyNow,
        proxyStepAuxPart: proxyAt(moved(stepAux), shapes, proxyIterations) - proxyNow,
        proxyStepWhole: whole,
        shadowError,
        gradientCosByKernel: shapes.map((k) => (t % 10 === 1 ? gradientCosine(now, k) : Number.NaN)),
        gapByKernel: shapes.map((k) => (t % 10 === 1 ? topGapRatio(now, k) : Number.NaN)),
        step: t,
        proxy: losses?.[names.aux] ?? Number.NaN,
        cosAuxEma,
        cosAuxEmaByKernel: kernels.map((e) => cosine(ga, ema!, e.offset, e.offset + e.size)),
        cosAuxMain: cosine(ga, gm),
        survives: Math.sqrt(Math.max(0, 1 - cosAuxEma * cosAuxEma)),
        cosAuxPartEma: cosine(a, ema),
        cosAdamAuxPartEma: cosine(stepAux, ema),
        proxyByMainPart: -dot(ga, stepMain),
        proxyByAuxPart: -dot(ga, stepAux),
        mainByMainPart: -dot(ema, stepMain),
        mainByAuxPart: -dot(ema, stepAux),
        auxNorm: Math.sqrt(dot(ga, ga)),
        mainNorm: Math.sqrt(dot(gm, gm)),
      })
      // Bloop's EMA update, after the step (Algorithm 1).
      for (let i = 0; i < n; i++) ema[i] = (1 - rho) * ema[i]! + rho * gm[i]!
      return [direction, next]
    },
  }
}

const mean = (xs: ReadonlyArray<number>) => xs.reduce((s, x) => s + x, 0) / xs.length
const sum = (xs: ReadonlyArray<number>) => xs.reduce((s, x) => s + x, 0)

const finiteMean = (xs: ReadonlyArray<number>) => mean(xs.filter(Number.isFinite))

/** One window of steps: means of the cosines, sums of the changes; `after` is the proxy after its last step. */
const summary = (steps: string, w: ReadonlyArray<StepFigures>, after: number) => ({
  steps,
  cosAuxEma: mean(w.map((f) => f.cosAuxEma)),
  cosAuxEmaByKernel: w[0]!.cosAuxEmaByKernel.map((_, k) => mean(w.map((f) => f.cosAuxEmaByKernel[k]!))),
  cosAuxMain: mean(w.map((f) => f.cosAuxMain)),
  survives: mean(w.map((f) => f.survives)),
  cosAuxPartEma: mean(w.map((f) => f.cosAuxPartEma)),
  cosAdamAuxPartEma: mean(w.map((f) => f.cosAdamAuxPartEma)),
  auxNorm: mean(w.map((f) => f.auxNorm)),
  mainNorm: mean(w.map((f) => f.mainNorm)),
  proxyStart: w[0]!.proxy,
  exactProxyStart: w[0]!.exactProxy,
  proxyByMainPart: sum(w.map((f) => f.proxyByMainPart)),
  proxyByAuxPart: sum(w.map((f) => f.proxyByAuxPart)),
  proxyChange: after - w[0]!.proxy,
  proxyStepMainPart: sum(w.map((f) => f.proxyStepMainPart)),
  proxyStepAuxPart: sum(w.map((f) => f.proxyStepAuxPart)),
  proxyStepWhole: sum(w.map((f) => f.proxyStepWhole)),
  gradientCosByKernel: w[0]!.gradientCosByKernel.map((_, k) => finiteMean(w.map((f) => f.gradientCosByKernel[k]!))),
  gapByKernel: w[0]!.gapByKernel.map((_, k) => finiteMean(w.map((f) => f.gapByKernel[k]!))),
  mainByMainPart: sum(w.map((f) => f.mainByMainPart)),
  mainByAuxPart: sum(w.map((f) => f.mainByAuxPart)),
  shadowError: Math.max(0, ...w.map((f) => f.shadowError).filter(Number.isFinite)),
})

/** Windows of `window` steps, then the whole run as one. */
const windows = (figures: ReadonlyArray<StepFigures>, finalProxy: number) => {
  const out = []
  for (let from = 0; from < figures.length; from += window) {
    const w = figures.slice(from, from + window)
    out.push(summary(`${w[0]!.step}–${w[w.length - 1]!.step}`, w, figures[from + w.length]?.proxy ?? finalProxy))
  }
  return [...out, summary(`all (1–${figures.length})`, figures, finalProxy)]
}

const program = Effect.gen(function* () {
  yield* selectBackend("auto")
  const experiment = yield* loadExperiment("smooth", false)
  const family = stepsText === undefined ? experiment.document : withSteps(experiment.document, Number(stepsText))
  const base: SpecDocument =
    iterationsOverride === undefined
      ? family
      : { ...family, problem: { ...family.problem, options: { ...(family.problem.options as object), powerIterations: iterationsOverride } } }
  const results = []
  for (const method of methods) {
    for (const lambda of lambdas) {
      for (let seed = 1; seed <= seeds; seed++) {
        const document = yield* Either.match(documentForJob(base, { method, lambda, seed: base.seed + seed - 1 }), {
          onLeft: Effect.fail,
          onRight: Effect.succeed,
        })
        const resolved = yield* resolveSpecDocument(document)
        proxyIterations = (resolved.problemOptions as { readonly powerIterations: number }).powerIterations
        const interpreter = yield* lookup(builtinInterpreters, resolved.method.name)
        const options = yield* interpreter.decodeOptions(resolved.method.options)
        // The proxy objective, wrapped to keep a handle on the parameters the loop passes it (its
        // variables, which the run updates in place), so that the observer can read θ_t.
        const { ce, lipschitz } = resolved.problem.objectives
        let params: Params | undefined
        const watched = objective("lipschitz", (p: Params) => {
          params = p
          return lipschitz!.loss(p, undefined)
        })
        const spec = { ...resolved.spec, structure: prioritize(ce!, watched, { lambda }) }
        const theta = (layout: Layout) => {
          const flat = new Float64Array(layout.size)
          for (const e of layout.entries) flat.set(params![e.name]!.dataSync(), e.offset)
          return flat
        }
        const rule = yield* interpreter.lower(spec.structure, options, { seed: spec.seed })
        const optimizer = spec.optimizer
        if (optimizer.kind !== "adam") return yield* Effect.dieMessage("the probe shadows Adam; experiments/smooth.json must use it")
        const sink: Array<StepFigures> = []
        const wrapped = observed(
          rule,
          { beta1: optimizer.beta1, beta2: optimizer.beta2, epsilon: optimizer.epsilon, at: (t) => learningRateAt(optimizer, t) },
          { main: "ce", aux: "lipschitz" },
          theta,
          sink,
        )
        let finalLosses: Readonly<Record<string, number>> = {}
        let evaluations: Readonly<Record<string, number>> = {}
        yield* trainingEvents(spec, wrapped, { evaluations: resolved.problem.evaluations }).pipe(
          Stream.runForEach((event) =>
            Effect.sync(() => {
              if (event._tag === "Finished") {
                finalLosses = event.summary.finalLosses
                evaluations = event.summary.evaluations
              }
            }),
          ),
          Effect.ensuring(Effect.sync(resolved.problem.dispose)),
        )
        // The proxy after the last step closes the last window's measured change.
        const finalProxy = finalLosses.lipschitz ?? Number.NaN
        results.push({ method, lambda, seed: document.seed, finalLosses, evaluations, windows: windows(sink, finalProxy) })
        yield* Console.error(`${method} λ=${lambda} seed ${document.seed}: main ${formatNumber(finalLosses.ce ?? Number.NaN)}, proxy ${formatNumber(finalProxy)}`)
      }
    }
  }
  const folder = join("runs", "probe-smooth-stall")
  mkdirSync(folder, { recursive: true })
  const file = `stall-${methods.join("+")}-${lambdas.join("+")}-${base.steps}steps-${proxyIterations}it.json`
  writeFileSync(join(folder, file), JSON.stringify({ command: process.argv.slice(2), powerIterations: proxyIterations, results }, null, 1))
  const f = (x: number) => (Number.isFinite(x) ? formatNumber(x) : "–")
  const lines: Array<string> = []
  for (const r of results) {
    lines.push(
      "",
      `${r.method}, λ = ${r.lambda}, seed ${r.seed}, ${proxyIterations} power iterations: final main (train) ${f(r.finalLosses.ce ?? Number.NaN)}, proxy ${f(r.finalLosses.lipschitz ?? Number.NaN)}, main (held out) ${f(r.evaluations["ce:test"] ?? Number.NaN)}`,
      "",
      "| steps | cos(g_a, ĝ) | by kernel 0/1/2 | cos(g_a, g_m) | ‖π(g_a; ĝ)‖/‖g_a‖ | cos(a, ĝ) | cos(P⊙m̂_aux, ĝ) | ‖g_a‖ | ‖g_m‖ |",
      "|---|---|---|---|---|---|---|---|---|",
      ...r.windows.map(
        (w) =>
          `| ${w.steps} | ${f(w.cosAuxEma)} | ${w.cosAuxEmaByKernel.map(f).join(" / ")} | ${f(w.cosAuxMain)} | ${f(w.survives)} | ${f(w.cosAuxPartEma)} | ${f(w.cosAdamAuxPartEma)} | ${f(w.auxNorm)} | ${f(w.mainNorm)} |`,
      ),
      "",
      "| steps | proxy at start (the run's estimate / converged) | Δproxy 1st order: main part / aux part | Δproxy measured | Δproxy of each step's parts: main / aux / whole | cos(∇ estimate, ∇ converged) by kernel | σ₂/σ₁ by kernel | Δmain(ĝ) 1st order: main / aux part | shadow Adam error (max) |",
      "|---|---|---|---|---|---|---|---|---|",
      ...r.windows.map(
        (w) =>
          `| ${w.steps} | ${f(w.proxyStart)} / ${f(w.exactProxyStart)} | ${f(w.proxyByMainPart)} / ${f(w.proxyByAuxPart)} | ${f(w.proxyChange)} | ${f(w.proxyStepMainPart)} / ${f(w.proxyStepAuxPart)} / ${f(w.proxyStepWhole)} | ${w.gradientCosByKernel.map(f).join(" / ")} | ${w.gapByKernel.map(f).join(" / ")} | ${f(w.mainByMainPart)} / ${f(w.mainByAuxPart)} | ${f(w.shadowError)} |`,
      ),
    )
  }
  if (seeds > 1) lines.push("", ...acrossSeeds(results))
  yield* Console.log(lines.join("\n"))
})

/** Whole-run figures of each (method, λ): mean ± standard deviation over its seeds. */
function acrossSeeds(
  results: ReadonlyArray<{
    readonly method: string
    readonly lambda: number
    readonly finalLosses: Readonly<Record<string, number>>
    readonly windows: ReadonlyArray<ReturnType<typeof summary>>
  }>,
): ReadonlyArray<string> {
  const stat = (xs: ReadonlyArray<number>) => {
    const m = mean(xs)
    const sd = Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / Math.max(1, xs.length - 1))
    return `${formatNumber(m)} ± ${formatNumber(sd)}`
  }
  const rows = [
    "Whole run, mean ± standard deviation over seeds:",
    "",
    "| method | λ | seeds | final main / proxy | cos(g_a, ĝ) | ‖π(g_a; ĝ)‖/‖g_a‖ | cos(P⊙m̂_aux, ĝ) | Δmain(ĝ) 1st order: main / aux part | proxy change 1st order | proxy change measured | σ₂/σ₁ (mean of kernels) | cos(∇ estimate, ∇ converged) (mean of kernels) |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|",
  ]
  const keys = [...new Set(results.map((r) => `${r.method}|${r.lambda}`))]
  for (const key of keys) {
    const group = results.filter((r) => `${r.method}|${r.lambda}` === key)
    const all = group.map((r) => r.windows[r.windows.length - 1]!)
    const of = (pick: (w: (typeof all)[number]) => number) => stat(all.map(pick))
    rows.push(
      `| ${group[0]!.method} | ${group[0]!.lambda} | ${group.length} | ${stat(group.map((r) => r.finalLosses.ce ?? Number.NaN))} / ${stat(group.map((r) => r.finalLosses.lipschitz ?? Number.NaN))} | ${of((w) => w.cosAuxEma)} | ${of((w) => w.survives)} | ${of((w) => w.cosAdamAuxPartEma)} | ${of((w) => w.mainByMainPart)} / ${of((w) => w.mainByAuxPart)} | ${of((w) => w.proxyByMainPart + w.proxyByAuxPart)} | ${of((w) => w.proxyChange)} | ${of((w) => mean(w.gapByKernel))} | ${of((w) => mean(w.gradientCosByKernel))} |`,
    )
  }
  return rows
}

/** The family's document at another step count, its cosine schedule stretched with it. */
function withSteps(document: SpecDocument, steps: number): SpecDocument {
  const schedule = document.optimizer.schedule
  const scaled =
    schedule?.kind === "cosine"
      ? { ...schedule, decaySteps: Math.round((schedule.decaySteps * steps) / document.steps!), warmupSteps: Math.round((schedule.warmupSteps * steps) / document.steps!) }
      : schedule
  return { ...document, steps, optimizer: { ...document.optimizer, ...(scaled === undefined ? {} : { schedule: scaled }) } }
}

await Effect.runPromise(program.pipe(Effect.provide(NodeContext.layer)))
