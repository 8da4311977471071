/**
 * `npm run tune:main-loss -- NAME RATE,RATE,... [STEPS] [SEEDS]`: tune an experiment family's
 * learning rate on its main loss alone, as the Bloop paper tuned its optimizers before comparing
 * methods.
 *
 * For each learning rate, trains the family's spec with `weighted-sum` at λ = 0 (the direction is
 * the main gradient alone; the auxiliary loss is still evaluated, not followed) for STEPS steps
 * (default: the family's own) and SEEDS seeds (default 2), with everything else — problem,
 * optimizer kind, schedule shape, batch — as in `experiments/NAME.json`. A cosine schedule is
 * shortened with the run (decay and warm-up scaled by STEPS / the family's steps). Prints one
 * Markdown row per rate: mean ± standard deviation over seeds of the final training and held-out
 * main loss. Runs go to `runs/tune-NAME/` (reused when rerun).
 */
import { join } from "node:path"
import { NodeContext } from "@effect/platform-node"
import { Console, Effect } from "effect"
import type { SpecDocument } from "../src/dsl/json.ts"
import { loadExperiment } from "../src/experiments/experimentFile.ts"
import { runSweep } from "../src/experiments/runSweep.ts"
import { formatNumber } from "../src/experiments/table.ts"

const [name, ratesText, stepsText, seedsText] = process.argv.slice(2)
if (name === undefined || ratesText === undefined) {
  console.error("usage: npm run tune:main-loss -- NAME RATE,RATE,... [STEPS] [SEEDS]")
  process.exit(2)
}
const rates = ratesText.split(",").map(Number)
if (rates.some((r) => !(r > 0))) {
  console.error(`expected positive learning rates, got '${ratesText}'`)
  process.exit(2)
}

const withRate = (document: SpecDocument, rate: number, steps: number): SpecDocument => {
  const optimizer = document.optimizer
  const schedule = optimizer.schedule
  const scaled =
    schedule?.kind === "cosine" && steps !== document.steps
      ? {
          ...schedule,
          decaySteps: Math.max(1, Math.round((schedule.decaySteps * steps) / document.steps!)),
          warmupSteps: Math.round((schedule.warmupSteps * steps) / document.steps!),
        }
      : schedule
  return { ...document, steps, optimizer: { ...optimizer, learningRate: rate, ...(scaled === undefined ? {} : { schedule: scaled }) } }
}

const stats = (values: ReadonlyArray<number>) => {
  const mean = values.reduce((a, b) => a + b, 0) / values.length
  const sd = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, values.length - 1))
  return `${formatNumber(mean)} ± ${formatNumber(sd)}`
}

const program = Effect.gen(function* () {
  const experiment = yield* loadExperiment(name, false)
  const steps = stepsText === undefined ? experiment.document.steps! : Number(stepsText)
  const seeds = seedsText === undefined ? 2 : Number(seedsText)
  const rows: Array<string> = []
  for (const rate of rates) {
    const document = withRate(experiment.document, rate, steps)
    const { records } = yield* runSweep(
      document,
      {
        name: `tune-${name}`,
        title: `${name}: main loss alone, learning rate ${rate}`,
        setup: `Tuning run of experiments/${name}.json on the main loss alone (weighted-sum, λ = 0), learning rate ${rate}, ${steps} steps.`,
        mainLabel: experiment.mainLabel,
        auxLabel: experiment.auxLabel,
        grid: { methods: ["weighted-sum"], lambdas: [0], seeds },
        steps,
      },
      { out: join("runs", `tune-${name}`, `lr-${rate}`), jobs: Math.min(2, seeds) },
    )
    const seconds = records.reduce((a, r) => a + r.wallTimeMs, 0) / 1000 / records.length
    rows.push(
      `| ${rate} | ${stats(records.map((r) => r.mainTrain))} | ${stats(records.map((r) => r.mainTest))} | ${seconds.toFixed(1)} s |`,
    )
  }
  yield* Console.log(
    [
      `\n${name}: main loss alone (weighted-sum, λ = 0), ${steps} steps, ${seeds} seeds; mean ± sd over seeds`,
      "",
      "| learning rate | main loss (train) | main loss (held out) | time a run |",
      "|---|---|---|---|",
      ...rows,
    ].join("\n"),
  )
})

await Effect.runPromise(program.pipe(Effect.provide(NodeContext.layer)))
