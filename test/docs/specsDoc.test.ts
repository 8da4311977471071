import { readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"
import { maxDocumentDepth, maxDocumentValues } from "../../src/dsl/json.ts"
import { builtinProblems } from "../../src/problems/catalogue.ts"
import { describeDivergence } from "../../src/training/divergence.ts"
import { SpecChangedOnResume } from "../../src/training/specRecord.ts"

const doc = readFileSync(new URL("../../docs/specs.md", import.meta.url), "utf8")

describe("docs/specs.md", () => {
  it("lists every built-in problem in its table, and the unknown-problem error names them all", () => {
    const section = doc.slice(doc.indexOf("### Problems"), doc.indexOf("\n## ", doc.indexOf("### Problems")))
    const documented = [...section.matchAll(/^\| `([a-z0-9-]+)` \|/gm)].map((m) => m[1])
    expect(new Set(documented)).toEqual(new Set(builtinProblems.keys()))
    expect(doc).toContain(`problem.name: unknown problem 'foo' (known: ${[...builtinProblems.keys()].join(", ")})`)
  })
})

describe("docs/specs.md and docs/checkpoints.md: run messages", () => {
  const checkpoints = readFileSync(new URL("../../docs/checkpoints.md", import.meta.url), "utf8")
  it("quote the refusal of a changed spec, the divergence warning and the document bounds as the code writes them", () => {
    const refusal = `error: ${new SpecChangedOnResume({ path: "run.ckpt", difference: "structure.lambda is 0.5 in the checkpoint but 0.6 in this spec" }).message}`
    expect(doc).toContain(refusal)
    expect(checkpoints).toContain(refusal)
    const divergence = `warning: the run diverged: ${describeDivergence({ objective: "fit", first: 0.474, final: 1.41e23 })} (--fail-on-divergence makes this an error)`
    expect(doc).toContain(divergence)
    expect(doc).toContain(`nested deeper than ${maxDocumentDepth} levels`)
    expect(doc).toContain(`more than ${maxDocumentValues} values (an object used in several places counts once per place)`)
  })
})
