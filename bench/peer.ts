/**
 * PyTorch as the yardstick (issue #15): the reference Bloop step of `step.ts` (MLP
 * 784-1024-1024-10, batch 256, cross-entropy main, L2 prior aux, EMA + projection + SGD) in
 * scalpel's real training session on wasm and in PyTorch (`peer_step.py`) on 1 and 2 threads,
 * interleaved in one run: after each session step, PyTorch runs one step on each thread count, so
 * that every variant sees the same machine load. Reports the medians and the ratios.
 *
 * PyTorch comes from Debian: `apt-get install -y python3-torch libopenblas0-pthread` (without
 * OpenBLAS, Debian's torch runs on the reference BLAS, about 10× slower). The benchmark skips with
 * that message when no Python with torch is found. OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE, which
 * this workplace sets for old OpenBLAS builds, are unset for the PyTorch process alone.
 *
 * `npm run bench -- peer` (`--quick` for fewer rounds).
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from "node:child_process"
import { readFileSync } from "node:fs"
import { createInterface } from "node:readline"
import { fileURLToPath } from "node:url"
import { Chunk, Effect, Option, Stream } from "effect"
import { activateBackend } from "../src/core/backend.ts"
import { tf } from "../src/core/tf.ts"
import { gradientWorkers } from "../src/training/parallel/workerPool.ts"
import { type TrainingEvent, trainingEvents } from "../src/training/train.ts"
import { lowerBloop, referenceSpec } from "./step.ts"
import { median, ms, table } from "./timing.ts"

export const description = "the reference Bloop step: scalpel (wasm, 1 and 2 workers) against PyTorch on 1 and 2 threads"

const script = fileURLToPath(new URL("./peer_step.py", import.meta.url))
const pythonCandidates = ["/usr/bin/python3", "python3"]

/** The first Python that imports torch, or undefined. */
const findPython = (): string | undefined =>
  pythonCandidates.find((python) => spawnSync(python, ["-c", "import torch"], { stdio: "ignore" }).status === 0)

/** Which BLAS the dynamic linker gives libblas.so.3 (Debian's alternatives), for the report. */
const blasInUse = (): string => {
  try {
    const maps = spawnSync("update-alternatives", ["--query", "libblas.so.3-x86_64-linux-gnu"], { encoding: "utf8" }).stdout
    return /^Value: (.*)$/m.exec(maps)?.[1] ?? "unknown"
  } catch {
    return "unknown"
  }
}

/** A long-lived PyTorch process answering `step THREADS` with the step's milliseconds. */
const startPeer = (python: string) => {
  const env = { ...process.env }
  delete env.OPENBLAS_CORETYPE
  delete env.OPENBLAS_L2_SIZE
  const child: ChildProcessWithoutNullStreams = spawn(python, [script], { env, stdio: "pipe" })
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]()
  let stderr = ""
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()))
  const ask = async (command: string): Promise<string> => {
    child.stdin.write(`${command}\n`)
    const line = await lines.next()
    if (line.done === true) throw new Error(`the PyTorch process ended: ${stderr.slice(-2000)}`)
    return line.value
  }
  return {
    info: () => ask("info"),
    step: async (threads: number) => Number(await ask(`step ${threads}`)),
    stop: () => child.stdin.end(),
  }
}

/** Multiply-adds of one forward and backward pass of the MLP (three products per layer), as FLOPs. */
const stepFlops = (): number => {
  const widths = [784, 1024, 1024, 10]
  let perExample = 0
  for (let i = 1; i < widths.length; i++) perExample += widths[i - 1]! * widths[i]!
  return 3 * 2 * 256 * perExample
}

/** Single-thread GEMM rate (FLOP/s) of the wasm backend on the step's largest product shape. */
const gemmRate = (): number => {
  const a = tf.randomNormal([256, 1024]), b = tf.randomNormal([1024, 1024])
  const once = () => {
    const start = performance.now()
    const c = tf.matMul(a, b)
    c.dataSync()
    c.dispose()
    return performance.now() - start
  }
  once()
  const ms = median(Array.from({ length: 5 }, once))
  tf.dispose([a, b])
  return (2 * 256 * 1024 * 1024) / (ms / 1000)
}

/** Pull the next Step event's time from a training stream's pull. */
const nextStep = (pull: Effect.Effect<Chunk.Chunk<TrainingEvent>, Option.Option<unknown>>): Effect.Effect<number> =>
  Effect.flatMap(Effect.orDie(pull), (chunk) => {
    const step = Chunk.findFirst(chunk, (e) => e._tag === "Step")
    return Option.isSome(step) && step.value._tag === "Step" ? Effect.succeed(step.value.elapsedMs) : nextStep(pull)
  })

export const run = async (args: ReadonlyArray<string>): Promise<void> => {
  const python = findPython()
  if (python === undefined) {
    console.log("skipped: no Python with PyTorch found. Install it with `apt-get install -y python3-torch libopenblas0-pthread`.")
    return
  }
  const rounds = args.includes("--quick") ? 4 : 11
  const workers = 2
  const peer = startPeer(python)
  try {
    console.log(`PyTorch: ${await peer.info()}\nBLAS (libblas.so.3): ${blasInUse()}; cores: ${cpuCount()}`)
    for (const threads of [1, 2, 1, 2]) await peer.step(threads) // warm-up, not recorded
    await Effect.runPromise(activateBackend("wasm"))
    const rate = gemmRate()
    const samples: Record<string, Array<number>> = { one: [], many: [], torch1: [], torch2: [], gemm: [rate] }
    const steps = rounds + 1
    const oneSpec = referenceSpec(steps)
    const manySpec = referenceSpec(steps)
    const recipe = { module: new URL("./step.ts", import.meta.url).href, export: "referenceSpec", argument: steps }
    await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const one = yield* Stream.toPull(trainingEvents(oneSpec, lowerBloop(oneSpec)))
          const many = yield* Stream.toPull(trainingEvents(manySpec, lowerBloop(manySpec), { workers: gradientWorkers(workers, recipe) }))
          // Step 1 of each is a warm-up (first kernel calls allocate XNNPACK operators). Then each
          // round runs one step of every variant, in an order that alternates between rounds.
          yield* nextStep(one)
          yield* nextStep(many)
          for (let round = 0; round < rounds; round++) {
            const variants: Array<() => Effect.Effect<void>> = [
              () => Effect.map(nextStep(one), (t) => void samples.one!.push(t)),
              () => Effect.map(nextStep(many), (t) => void samples.many!.push(t)),
              () => Effect.promise(async () => void samples.torch1!.push(await peer.step(1))),
              () => Effect.promise(async () => void samples.torch2!.push(await peer.step(2))),
            ]
            const order = round % 2 === 0 ? variants : [...variants].reverse()
            for (const variant of order) yield* variant()
            samples.gemm!.push(gemmRate())
          }
        }),
      ),
    )
    const one = median(samples.one!), many = median(samples.many!), torch1 = median(samples.torch1!), torch2 = median(samples.torch2!)
    const gemm = median(samples.gemm!)
    const efficiency = stepFlops() / (many / 1000) / (workers * gemm)
    console.log(
      table(
        ["variant", "step ms (median)", "n", "scalpel 2 workers / this"],
        [
          ["scalpel session, wasm, 1 worker", ms(one), String(samples.one!.length), (many / one).toFixed(2)],
          [`scalpel session, wasm, ${workers} workers`, ms(many), String(samples.many!.length), "1.00"],
          ["PyTorch, 1 thread", ms(torch1), String(samples.torch1!.length), (many / torch1).toFixed(2)],
          ["PyTorch, 2 threads", ms(torch2), String(samples.torch2!.length), (many / torch2).toFixed(2)],
        ],
      ),
    )
    console.log(`\nscalpel (${workers} workers) / PyTorch (1 thread) = ${(many / torch1).toFixed(2)} (target ≤ 1.5); / PyTorch (2 threads) = ${(many / torch2).toFixed(2)}`)
    console.log(`scalpel 1 worker / PyTorch 1 thread = ${(one / torch1).toFixed(2)}; speed-up from ${workers} workers = ${(one / many).toFixed(2)}`)
    console.log(
      `single-thread wasm GEMM (256×1024·1024×1024, median of ${samples.gemm!.length}): ${(gemm / 1e9).toFixed(1)} GFLOP/s; ` +
        `step matmul throughput with ${workers} workers (${(stepFlops() / 1e9).toFixed(2)} GFLOP per step / step time) = ` +
        `${((100 * efficiency)).toFixed(0)} % of ${workers} × that rate (target ≥ 70 %; counts the whole step as matmul time, so a lower bound)`,
    )
    console.log(`samples (ms): 1 worker [${samples.one!.map(ms).join(", ")}]; ${workers} workers [${samples.many!.map(ms).join(", ")}]; torch1 [${samples.torch1!.map(ms).join(", ")}]; torch2 [${samples.torch2!.map(ms).join(", ")}]`)
  } finally {
    peer.stop()
  }
}

const cpuCount = (): number => {
  try {
    return readFileSync("/proc/cpuinfo", "utf8").split("\n").filter((l) => l.startsWith("processor")).length
  } catch {
    return 0
  }
}
