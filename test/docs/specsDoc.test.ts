import { readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"
import { builtinProblems } from "../../src/problems/catalogue.ts"

const doc = readFileSync(new URL("../../docs/specs.md", import.meta.url), "utf8")

describe("docs/specs.md", () => {
  it("lists every built-in problem in its table, and the unknown-problem error names them all", () => {
    const section = doc.slice(doc.indexOf("### Problems"), doc.indexOf("\n## ", doc.indexOf("### Problems")))
    const documented = [...section.matchAll(/^\| `([a-z0-9-]+)` \|/gm)].map((m) => m[1])
    expect(new Set(documented)).toEqual(new Set(builtinProblems.keys()))
    expect(doc).toContain(`problem.name: unknown problem 'foo' (known: ${[...builtinProblems.keys()].join(", ")})`)
  })
})
