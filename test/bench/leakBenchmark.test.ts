import { expect, it, vi } from "vitest"
import { run } from "../../bench/leak.ts"
import { builtinInterpreters } from "../../src/interpreters/builtins.ts"

// The long-run leak script is part of the reliability evidence (docs/benchmarks.md); a quick run
// here keeps it working as interpreters are added (it once stopped at the first one it could not lower).
it("the leak benchmark (quick: 1,000 steps on wasm) runs every built-in interpreter and finds each one stable", async () => {
  const printed: Array<string> = []
  const log = vi.spyOn(console, "log").mockImplementation((...args: Array<unknown>) => void printed.push(args.map(String).join(" ")))
  const exitCodeBefore = process.exitCode
  try {
    await run(["--quick"])
  } finally {
    log.mockRestore()
  }
  const output = printed.join("\n")
  for (const name of builtinInterpreters.keys()) expect(output).toMatch(new RegExp(`\\| ${name} +\\|[^\\n]*\\| stable +\\|`))
  expect(output).not.toContain("LEAK")
  expect(process.exitCode).toBe(exitCodeBefore)
}, 120_000)
