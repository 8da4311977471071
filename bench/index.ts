/**
 * `npm run bench` runs every benchmark below in turn; `npm run bench -- NAME [NAME ...]` runs the
 * named ones. A benchmark is a module exporting `description` and `run(args)`; add yours to the list.
 */
interface BenchmarkModule {
  readonly description: string
  readonly run: (args: ReadonlyArray<string>) => Promise<void>
}

const benchmarks: Record<string, () => Promise<BenchmarkModule>> = {
  matmul: () => import("./matmulProbe.ts"),
  step: () => import("./step.ts"),
  overhead: () => import("./overhead.ts"),
  combine: () => import("./combine.ts"),
  scaling: () => import("./scaling.ts"),
  backends: () => import("./backends.ts"),
  leak: () => import("./leak.ts"),
  queue: () => import("./queue.ts"),
  peer: () => import("./peer.ts"),
  phases: () => import("./stepPhases.ts"),
}

const requested = process.argv.slice(2).filter((a) => !a.startsWith("-"))
const unknown = requested.filter((name) => !(name in benchmarks))
if (unknown.length > 0) {
  console.error(`unknown benchmark(s): ${unknown.join(", ")}; known: ${Object.keys(benchmarks).join(", ")}`)
  process.exit(2)
}
for (const name of requested.length === 0 ? Object.keys(benchmarks) : requested) {
  const module = await benchmarks[name]!()
  console.log(`\n## ${name}: ${module.description}\n`)
  await module.run(process.argv.slice(2).filter((a) => a.startsWith("-")))
}
