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
import { Effect } from "effect"
import { activateBackend } from "../src/core/backend.ts"
import { makeBloopSpec, makeData, runSession } from "./step.ts"
import { median, ms, table } from "./timing.ts"

export const description = "the reference Bloop step: scalpel (wasm) against PyTorch on 1 and 2 threads"

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

export const run = async (args: ReadonlyArray<string>): Promise<void> => {
  const python = findPython()
  if (python === undefined) {
    console.log("skipped: no Python with PyTorch found. Install it with `apt-get install -y python3-torch libopenblas0-pthread`.")
    return
  }
  const rounds = args.includes("--quick") ? 4 : 11
  const peer = startPeer(python)
  try {
    console.log(`PyTorch: ${await peer.info()}\nBLAS (libblas.so.3): ${blasInUse()}; cores: ${cpuCount()}`)
    // Warm-up: two PyTorch steps per thread count, not recorded.
    for (const threads of [1, 2, 1, 2]) await peer.step(threads)
    await Effect.runPromise(activateBackend("wasm"))
    const data = makeData()
    const samples = { scalpel: [] as Array<number>, torch1: [] as Array<number>, torch2: [] as Array<number> }
    // Session step 1 is a warm-up (first kernel calls allocate XNNPACK operators).
    await runSession(makeBloopSpec(data.source, rounds + 1), async (step, elapsedMs) => {
      if (step === 1) return
      samples.scalpel.push(elapsedMs)
      // Alternate which thread count goes first, so neither always follows the session step.
      const order = step % 2 === 0 ? [1, 2] : [2, 1]
      for (const threads of order) (threads === 1 ? samples.torch1 : samples.torch2).push(await peer.step(threads))
    })
    data.dispose()
    const scalpel = median(samples.scalpel), torch1 = median(samples.torch1), torch2 = median(samples.torch2)
    console.log(
      table(
        ["variant", "step ms (median)", "n", "scalpel / this"],
        [
          ["scalpel session, wasm, 1 worker", ms(scalpel), String(samples.scalpel.length), "1.00"],
          ["PyTorch, 1 thread", ms(torch1), String(samples.torch1.length), (scalpel / torch1).toFixed(2)],
          ["PyTorch, 2 threads", ms(torch2), String(samples.torch2.length), (scalpel / torch2).toFixed(2)],
        ],
      ),
    )
    console.log(`\nscalpel (1 worker) / PyTorch (1 thread) = ${(scalpel / torch1).toFixed(2)} (issue #15 target with two workers: ≤ 1.5)`)
    console.log(`samples (ms): scalpel [${samples.scalpel.map(ms).join(", ")}]; torch1 [${samples.torch1.map(ms).join(", ")}]; torch2 [${samples.torch2.map(ms).join(", ")}]`)
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
