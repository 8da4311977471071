/** Run scalpel's command line from the sources (tsx) on the wasm backend, capturing its output and exit code. */
import { execFile, spawn } from "node:child_process"
import { promisify } from "node:util"

const run = promisify(execFile)

export interface CliResult {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

export const cli = (args: ReadonlyArray<string>): Promise<CliResult> =>
  run(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args], { env: { ...process.env, SCALPEL_BACKEND: "wasm" } }).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  )

/** When to signal a {@link cliSignalled} child: checked on every output chunk and every 100 ms. */
export type SignalCondition = (output: { readonly stdout: string; readonly stderr: string }) => boolean | Promise<boolean>

/**
 * Run scalpel like {@link cli}, and send `signal` (default SIGINT, as Ctrl-C does) once `when` holds,
 * `delayMs` later. `signalled` says whether the signal was sent before the process ended.
 */
export const cliSignalled = (
  args: ReadonlyArray<string>,
  options: { readonly when: SignalCondition; readonly signal?: NodeJS.Signals; readonly delayMs?: number; readonly env?: Readonly<Record<string, string>> },
): Promise<CliResult & { readonly signalled: boolean }> =>
  new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args], {
      env: { ...process.env, SCALPEL_BACKEND: "wasm", ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
    })
    let stdout = ""
    let stderr = ""
    let triggered = false
    let signalled = false
    let exited = false
    const check = async () => {
      if (triggered || exited || !(await options.when({ stdout, stderr }))) return
      if (triggered) return
      triggered = true
      setTimeout(() => {
        if (!exited) {
          signalled = true
          child.kill(options.signal ?? "SIGINT")
        }
      }, options.delayMs ?? 0)
    }
    const timer = setInterval(() => void check(), 100)
    child.stdout.on("data", (d) => {
      stdout += String(d)
      void check()
    })
    child.stderr.on("data", (d) => {
      stderr += String(d)
      void check()
    })
    child.on("exit", () => {
      exited = true
    })
    // "close": the process ended and its output streams are drained.
    child.on("close", (code) => {
      exited = true
      clearInterval(timer)
      resolve({ code: code ?? -1, stdout, stderr, signalled })
    })
  })
