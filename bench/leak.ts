/**
 * Long-run leak check: 10,000 training steps of each built-in interpreter on the least-squares
 * demo problem, reading tf.memory() along the way. A leak-free loop holds the same number of
 * tensors and bytes from the first steps to the last, and releases everything at the end.
 *
 * `npm run bench -- leak` (`--quick`: 1,000 steps; `--workers=N`: gradients on N threads, the
 * training thread's memory is what is read). Exits with code 1 when a count grows.
 */
import { Effect, Either, Stream } from "effect"
import { activateBackend } from "../src/core/backend.ts"
import { tf } from "../src/core/tf.ts"
import { makeSpec, momentum } from "../src/dsl/spec.ts"
import { exampleOptionsFor, exampleStructureFor } from "../src/interpreters/builtinExamples.ts"
import { builtinInterpreters } from "../src/interpreters/builtins.ts"
import { leastSquaresProblem } from "../src/problems/leastSquares.ts"
import { gradientWorkers } from "../src/training/parallel/workerPool.ts"
import { trainingEvents } from "../src/training/train.ts"
import { isQuick, table } from "./measure.ts"
import { lowerBuiltin } from "./rules.ts"

export const description = "10,000 steps of each interpreter: tf.memory() tensors and bytes must stay flat"

/** The spec of one interpreter's leak run (also the recipe gradient workers rebuild it from). */
export const leakSpec = (argument: { readonly method: string; readonly steps: number }) => {
  const problem = leastSquaresProblem()
  const spec = Either.getOrThrow(
    makeSpec({
      parameters: problem.parameters,
      structure: exampleStructureFor(argument.method, problem.objectives.fit!, problem.objectives.prior!, { lambda: 1, atMost: 0.1 }),
      optimizer: momentum({ learningRate: 0.1 }),
      steps: argument.steps,
      batchSize: 8,
      seed: 1,
    }),
  )
  return { spec, problem }
}

export const run = async (args: ReadonlyArray<string>): Promise<void> => {
  const steps = isQuick(args) ? 1000 : 10_000
  const workers = Number(args.find((a) => a.startsWith("--workers="))?.slice("--workers=".length) ?? 1)
  const checkpoints = [...new Set([10, steps / 100, steps / 10, steps / 2, steps])]
  await Effect.runPromise(activateBackend("wasm"))
  const rows: Array<Array<string>> = []
  let leaking = false
  for (const method of builtinInterpreters.keys()) {
    const before = tf.memory()
    const { spec, problem } = leakSpec({ method, steps })
    const rule = lowerBuiltin(method, spec.structure, 1, exampleOptionsFor(method))
    const recipe = { module: import.meta.url, export: "leakSpec", argument: { method, steps } }
    const seen: Array<{ tensors: number; bytes: number }> = []
    const started = performance.now()
    await Effect.runPromise(
      trainingEvents(spec, rule, workers > 1 ? { workers: gradientWorkers(workers, recipe) } : {}).pipe(
        Stream.runForEach((e) =>
          Effect.sync(() => {
            if (e._tag === "Step" && checkpoints.includes(e.step)) seen.push({ tensors: tf.memory().numTensors, bytes: tf.memory().numBytes })
          }),
        ),
      ),
    )
    const seconds = (performance.now() - started) / 1000
    problem.dispose()
    const after = tf.memory()
    const flat = seen.every((s) => s.tensors === seen[0]!.tensors && s.bytes === seen[0]!.bytes)
    const released = after.numTensors === before.numTensors && after.numBytes === before.numBytes
    leaking ||= !flat || !released
    rows.push([
      method,
      ...seen.map((s) => `${s.tensors} / ${s.bytes}`),
      `${after.numTensors - before.numTensors} / ${after.numBytes - before.numBytes}`,
      seconds.toFixed(1),
      flat && released ? "stable" : "LEAK",
    ])
  }
  console.log(`backend: ${tf.getBackend()}; workers: ${workers}; cells are tf.memory() numTensors / numBytes after the given step\n`)
  console.log(table(["interpreter", ...checkpoints.map((s) => `step ${s}`), "after − before run", "seconds", "verdict"], rows))
  if (leaking) process.exitCode = 1
}
