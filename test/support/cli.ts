/** Run scalpel's command line from the sources (tsx) on the wasm backend, capturing its output and exit code. */
import { execFile } from "node:child_process"
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
