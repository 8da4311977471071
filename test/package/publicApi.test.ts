/**
 * The main entry's export list is pinned by docs/concepts.md's "The public API" section: every
 * name `scalpel` exports (values and types) is listed there, and nothing else. Internals go to
 * `scalpel/internals`.
 */
import { readFileSync } from "node:fs"
import ts from "typescript"
import { describe, expect, it } from "vitest"
import { repositoryRoot } from "../support/docBlocks.ts"

const exportsOf = (entry: string): ReadonlyArray<string> => {
  const file = `${repositoryRoot}${entry}`
  const program = ts.createProgram([file], {
    allowImportingTsExtensions: true,
    noEmit: true,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    skipLibCheck: true,
  })
  const checker = program.getTypeChecker()
  return checker.getExportsOfModule(checker.getSymbolAtLocation(program.getSourceFile(file)!)!).map((s) => s.name).sort()
}

const documented = (): ReadonlyArray<string> => {
  const text = readFileSync(`${repositoryRoot}docs/concepts.md`, "utf8")
  const section = text.slice(text.indexOf("<!-- public-api:begin -->"), text.indexOf("<!-- public-api:end -->"))
  return section
    .split("\n")
    .filter((line) => line.startsWith("- `"))
    .flatMap((line) => [...line.slice(line.indexOf(":") + 1).matchAll(/`([^`]+)`/g)].map((m) => m[1]!))
    .sort()
}

describe("the public API", () => {
  const main = exportsOf("src/index.ts")

  it("scalpel exports exactly the names docs/concepts.md lists", () => {
    const listed = documented()
    expect(listed.length).toBeGreaterThan(100)
    expect({ notListed: main.filter((n) => !listed.includes(n)), listedButNotExported: listed.filter((n) => !main.includes(n)) }).toEqual({ notListed: [], listedButNotExported: [] })
  })

  it("internals are in scalpel/internals, not in scalpel", () => {
    const internals = exportsOf("src/internals/index.ts")
    for (const name of ["axpy", "flattenChecked", "linearCombinationOnHost", "makeOptimizer", "applyStep", "mgdaWeights", "projectedCombination"]) {
      expect(main, name).not.toContain(name)
      expect(internals, name).toContain(name)
    }
    expect(internals.filter((n) => main.includes(n))).toEqual([])
  })
})
