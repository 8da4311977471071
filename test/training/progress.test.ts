/**
 * The progress display (training/progress.ts): throttled bar on a terminal, lines elsewhere; and
 * `trainPromise` drawing it on a terminal's stderr by default (before, a one-call run showed
 * nothing while it trained), nothing with `progress: false` or off a terminal.
 */
import { afterEach, describe, expect, it } from "vitest"
import { sgd } from "../../src/dsl/spec.ts"
import { prioritize } from "../../src/dsl/structure.ts"
import { leastSquaresProblem } from "../../src/problems/leastSquares.ts"
import type { StepEvent } from "../../src/training/events.ts"
import { progressDisplay } from "../../src/training/progress.ts"
import { releaseParameters, trainPromise } from "../../src/training/train.ts"
import { useCpuBackend } from "../support/cpuBackend.ts"

useCpuBackend()

const event = (step: number): StepEvent => ({ _tag: "Step", step, losses: { fit: 0.5 } }) as unknown as StepEvent

describe("progress display", () => {
  it("on a terminal: the bar at most every 100 ms and at the last step, its line closed by end() when a run stops early", () => {
    const written: Array<string> = []
    let clock = 0
    const display = progressDisplay(10, { isTTY: true, write: (t) => written.push(t) }, { now: () => clock })
    display.step(event(1))
    clock = 50
    display.step(event(2)) // within 100 ms: not drawn
    clock = 200
    display.step(event(3))
    expect(written).toHaveLength(2)
    expect(written[1]).toBe("\r[#######.................]  30%  step 3/10  fit 0.5\u001b[K")
    display.end()
    expect(written.at(-1)).toBe("\n")
    display.step(event(10))
    expect(written.at(-1)!.endsWith("\n")).toBe(true)
  })
  it("off a terminal: a line at every tenth and at the end, or none when lines are off", () => {
    const lines: Array<string> = []
    const display = progressDisplay(20, { isTTY: false, write: (t) => lines.push(t) })
    for (let t = 1; t <= 20; t++) display.step(event(t))
    expect(lines).toEqual(Array.from({ length: 10 }, (_, i) => `step ${2 * (i + 1)}/20  fit 0.5\n`))
    const none: Array<string> = []
    const quiet = progressDisplay(20, { isTTY: false, write: (t) => none.push(t) }, { linesOffTerminal: false })
    for (let t = 1; t <= 20; t++) quiet.step(event(t))
    expect(none).toEqual([])
  })
})

describe("trainPromise's progress bar", () => {
  const stderr = process.stderr as unknown as { isTTY?: boolean; write: (chunk: unknown) => boolean }
  const original = { isTTY: stderr.isTTY, write: stderr.write }
  afterEach(() => Object.assign(stderr, original))
  const capture = () => {
    const chunks: Array<string> = []
    stderr.write = (chunk: unknown) => {
      chunks.push(String(chunk))
      return true
    }
    return chunks
  }
  const run = async (options: { readonly progress?: boolean }) => {
    const problem = leastSquaresProblem({ examples: 8, dimensions: 16, seed: 3 })
    const spec = { parameters: problem.parameters, structure: prioritize(problem.objectives.fit!, problem.objectives.prior!, { lambda: 1 }), optimizer: sgd({ learningRate: 0.1 }), steps: 20, batchSize: 4, seed: 1 }
    const result = await trainPromise(spec, "bloop", options)
    releaseParameters(spec, result)
    problem.dispose()
  }
  it("draws on a terminal's stderr by default, ending at the last step", async () => {
    stderr.isTTY = true
    const chunks = capture()
    await run({})
    Object.assign(stderr, original)
    expect(chunks.some((c) => c.startsWith("\r[") && c.includes("step 20/20"))).toBe(true)
  })
  it("draws nothing with progress: false, nor off a terminal", async () => {
    stderr.isTTY = true
    const off = capture()
    await run({ progress: false })
    stderr.isTTY = false
    const piped = capture()
    await run({})
    Object.assign(stderr, original)
    expect(off.filter((c) => c.includes("step "))).toEqual([])
    expect(piped.filter((c) => c.includes("step "))).toEqual([])
  })
})
