/**
 * Packs the repository with `npm pack` (which builds dist/ through `prepack`) and installs the
 * tarball into a fresh project, offline: the consumer's lock file is the closure of scalpel's
 * dependencies (and of the tfjs peer dependencies) in the repository's own lock file, so `npm ci
 * --offline` finds every package in the npm cache that installing the repository filled.
 */
import { execFile } from "node:child_process"
import { cpSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"

const run = promisify(execFile)

export const repository = fileURLToPath(new URL("../../", import.meta.url))

interface LockEntry {
  readonly version?: string
  readonly dependencies?: Readonly<Record<string, string>>
  readonly optionalDependencies?: Readonly<Record<string, string>>
  readonly peerDependencies?: Readonly<Record<string, string>>
  readonly peerDependenciesMeta?: Readonly<Record<string, { readonly optional?: boolean }>>
  readonly [field: string]: unknown
}

interface Manifest {
  readonly name: string
  readonly version: string
  readonly dependencies: Readonly<Record<string, string>>
  readonly peerDependencies: Readonly<Record<string, string>>
  readonly peerDependenciesMeta: Readonly<Record<string, { readonly optional?: boolean }>>
  readonly bin: Readonly<Record<string, string>>
  readonly engines: Readonly<Record<string, string>>
  readonly license: string
}

const readJson = <T>(path: string): T => JSON.parse(readFileSync(path, "utf8")) as T

/** Where Node finds `name` from the package installed at `from` ("" is the project root). */
const resolveIn = (packages: Readonly<Record<string, LockEntry>>, from: string, name: string): string | undefined => {
  for (let base = from; ; ) {
    const candidate = `${base === "" ? "" : `${base}/`}node_modules/${name}`
    if (candidate in packages) return candidate
    if (base === "") return undefined
    const cut = base.lastIndexOf("/node_modules/")
    base = cut < 0 ? "" : base.slice(0, cut)
  }
}

/** The lock entries that `roots` need, with their paths kept (so the repository's hoisting stays valid). */
const closure = (packages: Readonly<Record<string, LockEntry>>, roots: ReadonlyArray<string>): Record<string, LockEntry> => {
  const chosen: Record<string, LockEntry> = {}
  const visit = (path: string): void => {
    if (path in chosen) return
    const { dev: _dev, devOptional: _devOptional, peer: _peer, ...entry } = packages[path]!
    chosen[path] = entry
    // npm installs required peer dependencies too, so they belong to the closure.
    const peers = Object.keys(entry.peerDependencies ?? {}).filter((name) => entry.peerDependenciesMeta?.[name]?.optional !== true)
    for (const name of [...Object.keys(entry.dependencies ?? {}), ...Object.keys(entry.optionalDependencies ?? {}), ...peers]) {
      const found = resolveIn(packages, path, name)
      if (found !== undefined) visit(found)
    }
  }
  for (const name of roots) {
    const found = resolveIn(packages, "", name)
    if (found === undefined) throw new Error(`${name} is not in the repository's package-lock.json`)
    visit(found)
  }
  return chosen
}

/** The optional peer dependencies the consumer installs besides fast-check (a full user's set). */
export const optionalPeersForTests = ["@effect/cli", "@effect/platform", "@effect/platform-node", "@effect/printer", "@effect/printer-ansi", "vega", "vega-lite", "bullmq", "ioredis"]

/** Pack the repository into `folder`, copy the consumer fixtures there, and install offline. */
export const installPackedScalpel = async (folder: string): Promise<{ readonly tarball: string }> => {
  // Asynchronous, so that the test worker stays responsive during the minutes this may take.
  const { stdout } = await run("npm", ["pack", "--json", "--pack-destination", folder], { cwd: repository, maxBuffer: 1 << 26 })
  // npm prints the prepack script's output before the JSON report.
  const [packed] = JSON.parse(stdout.slice(stdout.indexOf("\n[") + 1)) as [{ readonly filename: string; readonly integrity: string }]
  const manifest = readJson<Manifest>(join(repository, "package.json"))
  const lock = readJson<{ readonly packages: Readonly<Record<string, LockEntry>> }>(join(repository, "package-lock.json"))
  const peers = Object.keys(manifest.peerDependencies).filter((name) => manifest.peerDependenciesMeta[name]?.optional !== true)
  // The TypeScript consumer also needs Node's types, and the optional peer dependencies of the
  // parts it uses, as a user of them installs them: fast-check for scalpel/testing, the command
  // line's packages, vega/vega-lite and bullmq/ioredis for scalpel/experiments; tsc itself runs from
  // the repository.
  const optional = ["fast-check", ...optionalPeersForTests]
  const roots = [...Object.keys(manifest.dependencies), ...peers, "@types/node", ...optional]
  const installed = closure(lock.packages, roots)
  const version = (name: string): string => installed[`node_modules/${name}`]!.version!
  const dependencies = {
    scalpel: `file:${packed.filename}`,
    ...Object.fromEntries(peers.map((name) => [name, version(name)])),
    "@types/node": version("@types/node"),
    ...Object.fromEntries(optional.map((name) => [name, version(name)])),
  }
  const project = { name: "scalpel-consumer", version: "1.0.0", private: true, type: "module", dependencies }
  const scalpelEntry = {
    version: manifest.version,
    resolved: `file:${packed.filename}`,
    integrity: packed.integrity,
    license: manifest.license,
    dependencies: manifest.dependencies,
    bin: manifest.bin,
    engines: manifest.engines,
    peerDependencies: manifest.peerDependencies,
    peerDependenciesMeta: manifest.peerDependenciesMeta,
  }
  const consumerLock = {
    name: project.name,
    version: project.version,
    lockfileVersion: 3,
    requires: true,
    packages: { "": { name: project.name, version: project.version, dependencies }, "node_modules/scalpel": scalpelEntry, ...installed },
  }
  writeFileSync(join(folder, "package.json"), `${JSON.stringify(project, null, 2)}\n`)
  writeFileSync(join(folder, "package-lock.json"), `${JSON.stringify(consumerLock, null, 2)}\n`)
  cpSync(fileURLToPath(new URL("./consumer/", import.meta.url)), folder, { recursive: true })
  await run("npm", ["ci", "--offline", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"], { cwd: folder, maxBuffer: 1 << 26 })
  return { tarball: join(folder, packed.filename) }
}
