/**
 * PyTorch as the yardstick (issue #15): the reference Bloop step of `step.ts` (MLP
 * 784-1024-1024-10, batch 256, cross-entropy main, L2 prior aux, EMA + projection + SGD) in
 * scalpel's real training session on wasm and in PyTorch (`peer_step.py`) on 1 and 2 threads,
 * interleaved in one run: rounds of short blocks of steps of every variant (after a pause, so that
 * PyTorch's spinning threads are idle), in alternating order, so that every variant sees the same
 * machine load. Reports the medians and the ratios.
 *
 * PyTorch comes from Debian: `apt-get install -y python3-torch libopenblas0-pthread` (without
 * OpenBLAS, Debian's torch runs on the reference BLAS, about 10× slower). The benchmark skips with
 * that message when no Python with torch is found. OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE, which
 * this workplace sets for old OpenBLAS builds, are unset for the PyTorch process alone.
 *
 * The same run first prints the step's eight products in GFLOP/s on every product path (scalpel's
 * packed kernel, plain and relaxed; the old transpose path; XNNPACK alone; PyTorch on one thread)
 * beside the 128-bit SIMD peak (`stepProducts.ts`), then times the step with the packed kernel and
 * with the old one (`SCALPEL_MATMUL_KERNEL=transpose`'s path), on 1 and 2 workers, and the step as
 * issue #24 found it (old path, tfjs-core's own gradient of `Sum`: `fastGradients.ts`). Without PyTorch
 * its variants are skipped with a message and the rest runs.
 *
 * `npm run bench -- peer` (`--quick` for fewer rounds, `--tiny` for a smoke run whose figures mean
 * nothing; `SCALPEL_PEER_PYTHON=/path/to/python3` picks the Python, `none` skips PyTorch).
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from "node:child_process"
import { readFileSync } from "node:fs"
import { createInterface } from "node:readline"
import { Worker } from "node:worker_threads"
import { fileURLToPath } from "node:url"
import { Chunk, Effect, Option, Stream } from "effect"
import { activateBackend } from "../src/core/backend.ts"
import { installFastGradients, uninstallFastGradients } from "../src/core/fastGradients.ts"
import { tf } from "../src/core/tf.ts"
import { gradientWorkers } from "../src/training/parallel/workerPool.ts"
import { type TrainingEvent, trainingEvents } from "../src/training/train.ts"
import { relaxedSimdSupported } from "../src/core/packedMatMul.ts"
import { lowerBloop, referenceSpec } from "./step.ts"
import { flopsOf, type ProductPath, printProductRates, selectProductPath, type StepProduct, stepProducts } from "./stepProducts.ts"
import { median, ms, table } from "./timing.ts"
import { keptMemoryEnv } from "./measure.ts"

export const description = "the reference Bloop step's products (GFLOP/s per kernel, SIMD peak) and the step: scalpel (wasm, packed and old kernel, 1 and 2 workers) against PyTorch on 1 and 2 threads"

const script = fileURLToPath(new URL("./peer_step.py", import.meta.url))
/** `SCALPEL_PEER_PYTHON` names the Python to use (`none` skips PyTorch); else the system's. */
const pythonCandidates = (): ReadonlyArray<string> => {
  const chosen = process.env["SCALPEL_PEER_PYTHON"]?.trim()
  return chosen === undefined || chosen === "" ? ["/usr/bin/python3", "python3"] : chosen === "none" ? [] : [chosen]
}

/** The first Python that imports torch, or undefined. */
const findPython = (): string | undefined =>
  pythonCandidates().find((python) => spawnSync(python, ["-c", "import torch"], { stdio: "ignore" }).status === 0)

/** Which BLAS the dynamic linker gives libblas.so.3 (Debian's alternatives), for the report. */
const blasInUse = (): string => {
  try {
    const maps = spawnSync("update-alternatives", ["--query", "libblas.so.3-x86_64-linux-gnu"], { encoding: "utf8" }).stdout
    return /^Value: (.*)$/m.exec(maps)?.[1] ?? "unknown"
  } catch {
    return "unknown"
  }
}

/**
 * A long-lived PyTorch process on a fixed number of threads (set once at its start: changing it
 * between steps made its timings swing by 4×), answering `step` with the step's milliseconds.
 */
const startPeer = (python: string, threads: number, keepMemory = true) => {
  // glibc's malloc returns blocks above 128 KB to the system and maps them afresh on each step: on
  // this virtual machine the page faults of the step's 7.4 MB gradients cost 30–55 ms a step and made
  // PyTorch's timings bimodal (30 ms or 130+ ms). Keeping them in the heap (as jemalloc or
  // tcmalloc, common with PyTorch, would) takes that to 0.4 ms (`python3 -c` probe in
  // docs/benchmarks.md): PyTorch is measured at its best here.
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    OMP_NUM_THREADS: String(threads),
    OPENBLAS_NUM_THREADS: String(threads),
    ...(keepMemory ? keptMemoryEnv : {}),
  }
  delete env.OPENBLAS_CORETYPE
  delete env.OPENBLAS_L2_SIZE
  const child: ChildProcessWithoutNullStreams = spawn(python, [script, String(threads)], { env, stdio: "pipe" })
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
    ask,
    info: () => ask("info"),
    step: async () => Number(await ask("step")),
    stop: () => child.stdin.end(),
  }
}

/**
 * FLOPs of the step's products: the eight of `stepProducts` (forward, dW and dh; the input layer's
 * dx is not computed), 2.45 GFLOP. (An earlier count of three products per layer, 2.86, included
 * that dx.)
 */
const stepFlops = (): number => stepProducts.reduce((sum, p) => sum + flopsOf(p), 0)

/** Single-thread GEMM rate (FLOP/s) of the wasm backend on the step's largest product shape. */
const gemmRate = (): number => {
  const a = tf.randomNormal([256, 1024]), b = tf.randomNormal([1024, 1024])
  const once = () => {
    const start = performance.now()
    tf.matMul(a, b).dispose() // synchronous on wasm; no read-back (it would time a 1 MB copy)
    return performance.now() - start
  }
  once()
  const ms = median(Array.from({ length: 5 }, once))
  tf.dispose([a, b])
  return (2 * 256 * 1024 * 1024) / (ms / 1000)
}

/**
 * Aggregate GEMM rate (FLOP/s) of `threads` worker threads, each with its own wasm backend,
 * multiplying 256×1024 · 1024×1024 at the same time: what "every core at the kernel's rate" can
 * reach here when the cores share caches and memory bandwidth. Median of `rounds` bursts.
 */
const concurrentGemmRate = async (threads: number, rounds: number): Promise<number> => {
  const workers = Array.from({ length: threads }, () => new Worker(new URL("./gemmThread.mjs", import.meta.url)))
  const next = (w: Worker) => new Promise<unknown>((resolve, reject) => {
    w.once("message", resolve)
    w.once("error", reject)
  })
  try {
    await Promise.all(workers.map(next)) // "ready"
    const reps = 8
    const rates: Array<number> = []
    for (let round = 0; round < rounds; round++) {
      const answers = workers.map(next)
      for (const w of workers) w.postMessage({ reps })
      const times = (await Promise.all(answers)) as Array<number>
      rates.push((threads * reps * 2 * 256 * 1024 * 1024) / (Math.max(...times) / 1000))
    }
    return median(rates)
  } finally {
    await Promise.all(workers.map((w) => w.terminate()))
  }
}

/** Pull the next Step event's time from a training stream's pull. */
const nextStep = (pull: Effect.Effect<Chunk.Chunk<TrainingEvent>, Option.Option<unknown>>): Effect.Effect<number> =>
  Effect.flatMap(Effect.orDie(pull), (chunk) => {
    const step = Chunk.findFirst(chunk, (e) => e._tag === "Step")
    return Option.isSome(step) && step.value._tag === "Step" ? Effect.succeed(step.value.stepMs) : nextStep(pull)
  })

/** The main thread's product kernel of a session, by its name (the workers keep the one they started with). */
const kernelOf = (name: string): ProductPath =>
  name.includes("old kernel") ? "old" : name.includes("relaxed") ? "packed-relaxed" : "packed-plain"

/** The step as issue #24 found it: the old product path and tfjs-core's own gradients of Sum and Mean. */
const asFiled = "scalpel, 1 worker, as filed (old kernel, tfjs-core's Sum gradient)"

/** A session's kernels: its product path, and tfjs-core's gradients for the as-filed variant (the registry is global). */
const selectKernels = (name: string): void => {
  selectProductPath(kernelOf(name))
  if (name === asFiled) uninstallFastGradients()
  else installFastGradients()
}

export const run = async (args: ReadonlyArray<string>): Promise<void> => {
  const tiny = args.includes("--tiny")
  const quick = tiny || args.includes("--quick")
  const python = findPython()
  if (python === undefined) {
    console.log("PyTorch: skipped (no Python with torch found; install it with `apt-get install -y python3-torch libopenblas0-pthread`). scalpel's variants still run.")
  }
  const rounds = tiny ? 1 : quick ? 2 : 5
  // Each round runs a block of `block` consecutive steps of every variant, after a pause: PyTorch's
  // OpenMP and OpenBLAS threads spin for a while after each call, and stepping the variants one
  // step at a time let that spinning land on the next variant (PyTorch 1-thread samples from 30 to
  // 204 ms in one run). The first step of each block is not recorded.
  const block = tiny ? 2 : 4
  const pause = () => new Promise((resolve) => setTimeout(resolve, tiny ? 10 : 300))
  // 2 workers is the milestone on this 2-core machine; 4 shows what oversubscription does.
  const workerCounts = tiny ? [2] : [2, 4]
  const relaxed = relaxedSimdSupported()
  const torch =
    python === undefined ? undefined : { 1: startPeer(python, 1), 2: startPeer(python, 2), default: startPeer(python, 1, false) }
  try {
    if (torch !== undefined) console.log(`PyTorch: ${await torch[1].info()} / ${await torch[2].info()}\nBLAS (libblas.so.3): ${blasInUse()}`)
    console.log(`cores: ${cpuCount()}; Node ${process.versions.node}; relaxed SIMD ${relaxed ? "validated" : "not validated"} by this engine`)
    if (torch !== undefined) for (let i = 0; i < 3; i++) for (const peer of Object.values(torch)) await peer.step() // warm-up, not recorded
    await Effect.runPromise(activateBackend("wasm", { matMulKernel: "packed" }))
    const peer1 = torch?.[1]
    await printProductRates({
      reps: tiny ? 1 : quick ? 5 : 15,
      rounds: tiny ? 1 : quick ? 2 : 3,
      ...(peer1 === undefined ? {} : { peer: { gemm: async (p: StepProduct, reps: number) => Number(await peer1.ask(`gemm ${p.m} ${p.k} ${p.n} ${p.transposeA ? 1 : 0} ${p.transposeB ? 1 : 0} ${reps}`)) } }),
    })
    console.log("")
    const scalpelNames = [
      asFiled,
      "scalpel, 1 worker, old kernel",
      "scalpel, 1 worker",
      ...(relaxed ? ["scalpel, 1 worker, relaxed"] : []),
      ...workerCounts.map((n) => `scalpel, ${n} workers`),
      "scalpel, 2 workers, old kernel",
    ]
    const torchNames = torch === undefined ? [] : ["PyTorch, 1 thread", "PyTorch, 2 threads", "PyTorch, 1 thread, glibc's default malloc"]
    const names = [...scalpelNames, ...torchNames]
    const samples = new Map<string, Array<number>>(names.map((name) => [name, []]))
    selectProductPath("packed-plain")
    const gemm = [gemmRate()]
    const startup = new Map<string, number>()
    const steps = rounds * block + 1
    const recipe = { module: new URL("./step.ts", import.meta.url).href, export: "referenceSpec", argument: steps }
    await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const sessions: Array<readonly [string, Effect.Effect<Chunk.Chunk<TrainingEvent>, Option.Option<unknown>>]> = []
          for (const name of scalpelNames) {
            const spec = referenceSpec(steps)
            const workers = /(\d+) workers/.exec(name)?.[1]
            const options = workers === undefined ? {} : { workers: gradientWorkers(Number(workers), recipe) }
            sessions.push([name, yield* Stream.toPull(trainingEvents(spec, lowerBloop(spec), options))])
          }
          // Step 1 of each session is a warm-up (first kernel calls allocate XNNPACK operators);
          // its wall time, from opening the stream, includes starting the workers, which install
          // the product kernel the training thread has at that moment.
          for (const [name, pull] of sessions) {
            selectKernels(name)
            const started = performance.now()
            yield* nextStep(pull)
            startup.set(name, performance.now() - started)
          }
          // Each round runs a block of every variant, in an order that alternates between rounds,
          // so that every variant sees the same machine load.
          const inBlock = (name: string, one: () => Effect.Effect<number>) => () =>
            Effect.gen(function* () {
              yield* Effect.promise(pause)
              if (name.startsWith("scalpel")) selectKernels(name)
              for (let i = 0; i < block; i++) {
                const t = yield* one()
                if (i > 0) samples.get(name)!.push(t)
              }
            })
          for (let round = 0; round < rounds; round++) {
            const variants: Array<() => Effect.Effect<void>> = [
              ...sessions.map(([name, pull]) => inBlock(name, () => nextStep(pull))),
              ...(torch === undefined
                ? []
                : [
                    inBlock("PyTorch, 1 thread", () => Effect.promise(() => torch[1].step())),
                    inBlock("PyTorch, 2 threads", () => Effect.promise(() => torch[2].step())),
                    inBlock("PyTorch, 1 thread, glibc's default malloc", () => Effect.promise(() => torch.default.step())),
                  ]),
            ]
            const order = round % 2 === 0 ? variants : [...variants].reverse()
            for (const variant of order) yield* variant()
            yield* Effect.promise(pause)
            selectKernels("scalpel, 1 worker")
            gemm.push(gemmRate())
          }
        }),
      ),
    )
    selectProductPath("packed-plain")
    const at = (name: string) => median(samples.get(name) ?? [])
    const oldOne = at("scalpel, 1 worker, old kernel"), one = at("scalpel, 1 worker"), two = at("scalpel, 2 workers")
    const torch1 = torch === undefined ? Number.NaN : at("PyTorch, 1 thread"), torch2 = torch === undefined ? Number.NaN : at("PyTorch, 2 threads")
    const rate = median(gemm)
    const efficiency = (stepMs: number, n: number) => stepFlops() / (stepMs / 1000) / (Math.min(n, cpuCount() || n) * rate)
    console.log(
      table(
        ["variant", "step ms (median)", "n", "this / PyTorch 1 thread", "speed-up over 1 worker (packed)"],
        [...samples].map(([name, values]) => [name, ms(median(values)), String(values.length), torch === undefined ? "" : (median(values) / torch1).toFixed(2), name.startsWith("scalpel") ? (one / median(values)).toFixed(2) : ""]),
      ),
    )
    console.log(
      `\none worker, packed kernel / as filed = ${(one / at(asFiled)).toFixed(3)} (target ≤ 0.65); ` +
        `packed kernel / old kernel, both with scalpel's Sum gradient = ${(one / oldOne).toFixed(3)} (the products' share of the gain)`,
    )
    if (torch !== undefined) {
      console.log(`scalpel (2 workers) / PyTorch (1 thread) = ${(two / torch1).toFixed(2)} (target ≤ 2.5); / PyTorch (2 threads) = ${(two / torch2).toFixed(2)}`)
      console.log(`scalpel 1 worker / PyTorch 1 thread = ${(one / torch1).toFixed(2)}; speed-up from 2 workers = ${(one / two).toFixed(2)}`)
    } else console.log(`speed-up from 2 workers = ${(one / two).toFixed(2)} (PyTorch skipped)`)
    console.log(
      `single-thread wasm GEMM on the packed kernel (256×1024·1024×1024, median of ${gemm.length}): ${(rate / 1e9).toFixed(1)} GFLOP/s; ` +
        `step matmul throughput (${(stepFlops() / 1e9).toFixed(2)} GFLOP per step / step time) = ` +
        `${(100 * efficiency(one, 1)).toFixed(0)} % of the GEMM rate with 1 worker, ${(100 * efficiency(two, 2)).toFixed(0)} % of 2 × that rate with 2 workers ` +
        `(counts the whole step as matmul time, so a lower bound)`,
    )
    const startupCost = (startup.get("scalpel, 2 workers") ?? Number.NaN) - (startup.get("scalpel, 1 worker") ?? Number.NaN)
    console.log(
      `first step, from opening the run (starts the workers, warms the kernels): ${[...startup].map(([name, t]) => `${name} ${ms(t)} ms`).join(", ")}; ` +
        `2 workers pay back their extra ${ms(startupCost)} ms after ${Math.max(0, Math.ceil(startupCost / (one - two)))} steps at the medians above`,
    )
    const threadRates = [1, 2].map(async (n) => [n, await concurrentGemmRate(n, tiny ? 1 : quick ? 3 : 7)] as const)
    const [single, double] = [await threadRates[0]!, await threadRates[1]!]
    console.log(
      `concurrent GEMM (each thread its own wasm backend with tfjs's XNNPACK, same product): 1 thread ${(single[1] / 1e9).toFixed(1)} GFLOP/s, ` +
        `2 threads ${(double[1] / 1e9).toFixed(1)} GFLOP/s together = ${((100 * double[1]) / (2 * single[1])).toFixed(0)} % of 2 × one thread ` +
        `(how much two cores share caches and memory bandwidth here)`,
    )
    console.log(`samples (ms): ${[...samples].map(([name, values]) => `${name} [${values.map(ms).join(", ")}]`).join("; ")}`)
  } finally {
    if (torch !== undefined) for (const peer of Object.values(torch)) peer.stop()
  }
}

const cpuCount = (): number => {
  try {
    return readFileSync("/proc/cpuinfo", "utf8").split("\n").filter((l) => l.startsWith("processor")).length
  } catch {
    return 0
  }
}
