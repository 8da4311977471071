/**
 * The installed size of scalpel for a library user: packs the package (this checkout, and a git
 * ref for comparison), installs each tarball with `@tensorflow/tfjs` and
 * `@tensorflow/tfjs-backend-wasm` into a fresh temporary project, as the README says, and prints a
 * table: the whole node_modules, the part beyond tfjs, the number of packages, and the packages
 * with install scripts (what npm 11 warns about).
 *
 *   npm run size:installed                # this checkout only
 *   npm run size:installed -- main        # main's tarball ("before") and this checkout's ("after")
 *
 * A git ref is exported with `git archive` into a temporary folder and packed there with this
 * checkout's node_modules (its build only needs TypeScript). Installs use npm's cache first
 * (`--prefer-offline`) and run no install scripts (they are counted, not run). A size, not a
 * timing: machine load does not change it.
 */
import { execFile } from "node:child_process"
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"

const run = promisify(execFile)
const repository = fileURLToPath(new URL("../", import.meta.url))
const tfjsVersion = "4.22.0"

/** `npm pack` of the package at `folder` into a new folder under `scratch` (tarballs share a name); the tarball's path. */
const pack = async (folder: string, scratch: string): Promise<string> => {
  const destination = mkdtempSync(join(scratch, "tarball-"))
  const { stdout } = await run("npm", ["pack", "--json", "--pack-destination", destination], { cwd: folder, maxBuffer: 1 << 26 })
  const [packed] = JSON.parse(stdout.slice(stdout.indexOf("\n[") + 1)) as [{ readonly filename: string }]
  return join(destination, packed.filename)
}

/** The tarball of git ref `ref`, built in a temporary export of it. */
const packRef = async (ref: string, scratch: string): Promise<string> => {
  const source = join(scratch, `source-${ref.replace(/[^\w.-]/g, "_")}`)
  await run("mkdir", ["-p", source])
  await run("sh", ["-c", `git archive ${JSON.stringify(ref)} | tar -x -C ${JSON.stringify(source)}`], { cwd: repository })
  symlinkSync(join(repository, "node_modules"), join(source, "node_modules"))
  return pack(source, scratch)
}

/** Bytes of the files under `path` (apparent sizes; symbolic links not followed). */
const bytesUnder = (path: string): number => {
  let total = 0
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    const full = join(path, entry.name)
    if (entry.isDirectory()) total += bytesUnder(full)
    else if (entry.isFile()) total += statSync(full).size
  }
  return total
}

interface Installed {
  readonly bytes: number
  readonly packages: number
  readonly installScripts: ReadonlyArray<string>
}

/** Install `tarball` (none: tfjs alone, the baseline) with tfjs and the wasm backend into a fresh project under `scratch`. */
const install = async (tarball: string | undefined, scratch: string): Promise<Installed> => {
  const project = mkdtempSync(join(scratch, "project-"))
  await run("npm", ["init", "-y"], { cwd: project })
  await run(
    "npm",
    ["install", ...(tarball === undefined ? [] : [tarball]), `@tensorflow/tfjs@${tfjsVersion}`, `@tensorflow/tfjs-backend-wasm@${tfjsVersion}`, "--ignore-scripts", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"],
    { cwd: project, maxBuffer: 1 << 26 },
  )
  const modules = join(project, "node_modules")
  const lock = JSON.parse(readFileSync(join(project, "package-lock.json"), "utf8")) as { packages: Record<string, { hasInstallScript?: boolean }> }
  const paths = Object.keys(lock.packages).filter((p) => p !== "")
  return {
    bytes: bytesUnder(modules),
    packages: paths.length,
    installScripts: paths.filter((p) => lock.packages[p]!.hasInstallScript === true).map((p) => p.slice(p.lastIndexOf("node_modules/") + "node_modules/".length)),
  }
}

const megabytes = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`

const main = async (): Promise<void> => {
  const refs = process.argv.slice(2)
  const scratch = mkdtempSync(join(tmpdir(), "scalpel-size-"))
  try {
    const tarballs: Array<readonly [string, string]> = []
    for (const ref of refs) tarballs.push([`${ref} (before)`, await packRef(ref, scratch)])
    tarballs.push([refs.length > 0 ? "this checkout (after)" : "this checkout", await pack(repository, scratch)])
    const baseline = await install(undefined, scratch)
    const rows = [`| tfjs and the wasm backend alone | ${megabytes(baseline.bytes)} | – | ${baseline.packages} | ${baseline.installScripts.join(", ") || "none"} |`]
    for (const [label, tarball] of tarballs) {
      const size = await install(tarball, scratch)
      rows.push(`| ${label} | ${megabytes(size.bytes)} | ${megabytes(size.bytes - baseline.bytes)} | ${size.packages} | ${size.installScripts.join(", ") || "none"} |`)
    }
    console.log(`npm install scalpel @tensorflow/tfjs@${tfjsVersion} @tensorflow/tfjs-backend-wasm@${tfjsVersion} into a fresh project\n`)
    console.log("| tarball | node_modules | beyond tfjs | packages | install scripts |")
    console.log("|---|---:|---:|---:|---|")
    for (const row of rows) console.log(row)
  } finally {
    rmSync(scratch, { recursive: true, force: true })
  }
}

await main()
