// Time `import "scalpel"` (and the other entry points) in fresh Node processes, on the built dist/
// (run `npm run build` first). Usage: node scripts/importTime.mjs [runs] [package folder]
// Prints the median wall time of the import alone, and the packages the entry loaded.
import { execFileSync } from "node:child_process"
import { resolve } from "node:path"

const runs = Number(process.argv[2] ?? 7)
const folder = resolve(process.argv[3] ?? ".")
const entries = process.argv[3] === undefined ? ["scalpel", "scalpel/testing", "scalpel/node", "scalpel/experiments"] : ["scalpel"]
// The import runs from a module inside the package folder, so that "scalpel" resolves through the
// package's own exports map (self-reference) to dist/.
const probe = (entry) => `
  const t0 = performance.now()
  await import(${JSON.stringify(entry)})
  const ms = performance.now() - t0
  console.log(JSON.stringify({ ms }))`

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
console.log(`entry                 median of ${runs} (ms)   (node ${process.version}, ${folder})`)
for (const entry of entries) {
  const times = []
  for (let i = 0; i < runs; i++) {
    const out = execFileSync(process.execPath, ["--input-type=module", "-e", probe(entry)], { cwd: folder, encoding: "utf8" })
    times.push(JSON.parse(out.trim().split("\n").at(-1)).ms)
  }
  console.log(`${entry.padEnd(22)}${median(times).toFixed(0).padStart(8)}   (min ${Math.min(...times).toFixed(0)}, max ${Math.max(...times).toFixed(0)})`)
}
