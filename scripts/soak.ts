/**
 * Property-test soak: run every property-test file of the suite under N seeds, one vitest run per
 * seed (exactly `SCALPEL_FC_SEED=seed npx vitest run FILES`, what a developer reruns to reproduce),
 * and print each failing seed with its test and fast-check's counterexample.
 *
 *   npm run test:soak -- N                 N fresh random seeds
 *   npm run test:soak -- N --from S        seeds S, S+1, …, S+N−1
 *   npm run test:soak -- N --record F      append one JSON line per seed to F; seeds that passed in F
 *                                          are not run again and count towards N (a long soak
 *                                          resumes where it stopped, with the same command);
 *                                          seeds that failed in F run again (after a fix), and
 *                                          the new line supersedes the old one
 *   npm run test:soak -- N -- test/core    only the property files under these paths
 *
 * A property-test file is a test file that imports fast-check or the testing kit (src/testing,
 * `scalpel/testing`), whose properties take their seed from `SCALPEL_FC_SEED`
 * (test/support/fastCheckSeed.ts). Exits 1 when any seed failed.
 */
import { spawnSync } from "node:child_process"
import { randomInt } from "node:crypto"
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, relative } from "node:path"

interface SoakArguments {
  readonly count: number
  readonly from: number | undefined
  readonly record: string | undefined
  readonly paths: ReadonlyArray<string>
}

/** One failing test of one seed. */
interface SoakFailure {
  readonly file: string
  readonly test: string
  /** fast-check's seed/path line, the counterexample and the assertion, as reported. */
  readonly detail: string
}

interface SoakRecord {
  readonly seed: number
  readonly passed: number
  readonly failed: number
  readonly seconds: number
  readonly failures: ReadonlyArray<SoakFailure>
  /** The commit the seed ran on (`git rev-parse --short HEAD`, with "+changes" for a dirty tree). */
  readonly commit?: string
}

const currentCommit = (): string => {
  const head = spawnSync("git", ["rev-parse", "--short", "HEAD"], { encoding: "utf8" }).stdout.trim() || "unknown"
  const dirty = spawnSync("git", ["status", "--porcelain", "--untracked-files=no"], { encoding: "utf8" }).stdout.trim() !== ""
  return dirty ? `${head}+changes` : head
}

const usage = "usage: npm run test:soak -- N [--from SEED] [--record FILE] [-- PATH ...]"

const parseArguments = (argv: ReadonlyArray<string>): SoakArguments => {
  const separator = argv.indexOf("--")
  const options = separator === -1 ? argv : argv.slice(0, separator)
  const paths = separator === -1 ? [] : argv.slice(separator + 1)
  let count: number | undefined
  let from: number | undefined
  let record: string | undefined
  for (let i = 0; i < options.length; i++) {
    const option = options[i]!
    if (option === "--from" || option === "--record") {
      const value = options[++i]
      if (value === undefined) throw new Error(`${option} needs a value. ${usage}`)
      if (option === "--record") record = value
      else {
        from = Number(value)
        if (!Number.isInteger(from)) throw new Error(`--from must be an integer seed, got '${value}'. ${usage}`)
      }
    } else if (count === undefined && /^\d+$/.test(option)) count = Number(option)
    else throw new Error(`unknown argument '${option}'. ${usage}`)
  }
  if (count === undefined || count < 1) throw new Error(`give the number of seeds N ≥ 1. ${usage}`)
  return { count, from, record, paths }
}

const testFiles = (folder: string): ReadonlyArray<string> =>
  readdirSync(folder).flatMap((name) => {
    const path = join(folder, name)
    if (statSync(path).isDirectory()) return testFiles(path)
    return name.endsWith(".test.ts") ? [path] : []
  })

/** Test files whose properties draw from fast-check's global seed. */
const isPropertyFile = (path: string): boolean => /from "fast-check"|src\/testing\/|"scalpel\/testing"/.test(readFileSync(path, "utf8"))

const propertyFiles = (paths: ReadonlyArray<string>): ReadonlyArray<string> => {
  const files = testFiles("test").filter(isPropertyFile)
  const chosen = paths.length === 0 ? files : files.filter((file) => paths.some((p) => file.startsWith(p.replace(/\/$/, ""))))
  if (chosen.length === 0) throw new Error(`no property-test file under ${paths.join(", ")}`)
  return chosen
}

interface VitestJson {
  readonly numPassedTests: number
  readonly numFailedTests: number
  readonly testResults: ReadonlyArray<{
    readonly name: string
    readonly message?: string
    readonly assertionResults: ReadonlyArray<{ readonly fullName: string; readonly status: string; readonly failureMessages: ReadonlyArray<string> }>
  }>
}

/** The lines of a failure that let a developer reproduce and read it: seed/path, counterexample, cause. */
const essentials = (message: string): string => {
  const lines = message.split("\n")
  const kept = lines.filter((line) => /^\{ seed:|^Counterexample:|^Caused by:|Error:|^Property failed/.test(line.trim()))
  return (kept.length > 0 ? kept : lines.slice(0, 3)).map((line) => line.trim()).join("\n")
}

const runSeed = (seed: number, files: ReadonlyArray<string>): SoakRecord => {
  const folder = mkdtempSync(join(tmpdir(), "scalpel-soak-"))
  const output = join(folder, "results.json")
  const started = Date.now()
  const run = spawnSync("npx", ["vitest", "run", ...files, "--reporter=json", `--outputFile=${output}`, "--testTimeout=1200000"], {
    env: { ...process.env, SCALPEL_FC_SEED: String(seed) },
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
  })
  const seconds = Math.round((Date.now() - started) / 1000)
  try {
    if (!existsSync(output)) {
      const failure = { file: "(vitest)", test: `exit ${run.status}`, detail: essentials(`${run.stderr}\n${run.stdout}`) }
      return { seed, passed: 0, failed: 1, seconds, failures: [failure] }
    }
    const json = JSON.parse(readFileSync(output, "utf8")) as VitestJson
    const failures = json.testResults.flatMap((file) => {
      const name = relative(process.cwd(), file.name)
      const tests = file.assertionResults
        .filter((a) => a.status === "failed")
        .map((a) => ({ file: name, test: a.fullName, detail: essentials(a.failureMessages.join("\n")) }))
      // A file that fails outside its tests (an import or a hook) has no failed assertion.
      return tests.length === 0 && file.message !== undefined && file.message !== "" ? [{ file: name, test: "(file)", detail: essentials(file.message) }] : tests
    })
    return { seed, passed: json.numPassedTests, failed: Math.max(json.numFailedTests, failures.length), seconds, failures }
  } finally {
    rmSync(folder, { recursive: true, force: true })
  }
}

const recordedSeeds = (record: string | undefined): ReadonlyMap<number, SoakRecord> => {
  if (record === undefined || !existsSync(record)) return new Map()
  const lines = readFileSync(record, "utf8").split("\n").filter((line) => line.trim() !== "")
  return new Map(lines.map((line) => JSON.parse(line) as SoakRecord).map((r) => [r.seed, r] as const))
}

const main = (): void => {
  const args = parseArguments(process.argv.slice(2))
  const files = propertyFiles(args.paths)
  const done = recordedSeeds(args.record)
  // Fresh random seeds, except that seeds already recorded count towards N: a soak of N random
  // seeds that stopped part-way resumes with the same command and draws only what is missing.
  const seeds =
    args.from !== undefined
      ? Array.from({ length: args.count }, (_, i) => args.from! + i)
      : [...[...done.keys()].slice(0, args.count), ...Array.from({ length: Math.max(0, args.count - done.size) }, () => randomInt(-(2 ** 31), 2 ** 31))]
  console.log(`soak: ${seeds.length} seeds over ${files.length} property-test files${args.record ? `, recorded in ${args.record}` : ""}`)
  const results: Array<SoakRecord> = []
  const commit = currentCommit()
  seeds.forEach((seed, i) => {
    const recorded = done.get(seed)
    const previous = recorded !== undefined && recorded.failed === 0 ? recorded : undefined
    const result = previous ?? { ...runSeed(seed, files), commit }
    if (previous === undefined && args.record !== undefined) appendFileSync(args.record, `${JSON.stringify(result)}\n`)
    results.push(result)
    const status = result.failed === 0 ? `passed (${result.passed} tests, ${result.seconds} s)` : `FAILED ${result.failed} of ${result.passed + result.failed}`
    console.log(`[${i + 1}/${seeds.length}] seed ${seed}: ${status}${previous !== undefined ? " (recorded)" : ""}`)
    for (const failure of result.failures) {
      console.log(`  ${failure.file} > ${failure.test}`)
      console.log(`    reproduce: SCALPEL_FC_SEED=${seed} npx vitest run ${failure.file}`)
      console.log(failure.detail.replace(/^/gm, "    "))
    }
  })
  const failing = results.filter((r) => r.failed > 0)
  console.log(`soak: ${results.length - failing.length} of ${results.length} seeds passed${failing.length > 0 ? `; failing seeds: ${failing.map((r) => r.seed).join(", ")}` : ""}`)
  process.exitCode = failing.length > 0 ? 1 : 0
}

main()
