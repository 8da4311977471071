/**
 * Every TypeScript code block of README.md and docs/*.md type-checks as a consumer's module would:
 * `scalpel`, `scalpel/testing`, ... resolve to the package's entry points (tsconfig.json's `paths`),
 * under the repository's strict settings. A block whose info string says `ts fragment` is skipped:
 * keep those rare, and say in the text around them what they leave out. Every other block also
 * runs, in snippetsRun.test.ts.
 */
import { join } from "node:path"
import ts from "typescript"
import { describe, expect, it } from "vitest"
import { type DocBlock, documentationBlocks, repositoryRoot } from "../support/docBlocks.ts"

type Snippet = DocBlock
const root = repositoryRoot
const snippets = documentationBlocks()

/** Type-check the snippets as modules beside the tests (so that the repository's tsconfig applies); diagnostics per snippet. */
const typeCheck = (checked: ReadonlyArray<Snippet>): Map<string, ReadonlyArray<string>> => {
  const config = ts.getParsedCommandLineOfConfigFile(join(root, "tsconfig.json"), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined })
  if (config === undefined) throw new Error("tsconfig.json could not be read")
  // Virtual files in test/docs, so that module resolution (paths, node_modules) is the repository's.
  const files = new Map(checked.map((s, i) => [join(root, "test/docs", `snippet${i}.ts`).replaceAll("\\", "/"), s] as const))
  const host = ts.createCompilerHost(config.options)
  const readFile = host.readFile.bind(host)
  const fileExists = host.fileExists.bind(host)
  const getSourceFile = host.getSourceFile.bind(host)
  // `export {}` makes a block without imports a module too, so that blocks do not share a global scope.
  host.readFile = (name) => (files.has(name) ? `${files.get(name)!.code}\nexport {}\n` : readFile(name))
  host.fileExists = (name) => files.has(name) || fileExists(name)
  host.getSourceFile = (name, language, onError, create) => {
    const snippet = files.get(name)
    return snippet === undefined ? getSourceFile(name, language, onError, create) : ts.createSourceFile(name, `${snippet.code}\nexport {}\n`, language)
  }
  const program = ts.createProgram({ rootNames: [...files.keys()], options: config.options, host })
  const result = new Map<string, ReadonlyArray<string>>()
  for (const [name, snippet] of files) {
    const source = program.getSourceFile(name)!
    const diagnostics = [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)]
    result.set(
      snippet.where,
      diagnostics.map((d) => {
        const line = d.start === undefined ? 0 : source.getLineAndCharacterOfPosition(d.start).line + 1
        return `line ${line} of the block: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`
      }),
    )
  }
  return result
}

describe("documentation code blocks", () => {
  it("finds the blocks, and few are fragments", () => {
    expect(snippets.length).toBeGreaterThanOrEqual(5)
    expect(snippets.filter((s) => s.fragment).length).toBeLessThanOrEqual(2)
  })

  it("every TypeScript block of README.md and docs/*.md type-checks against the package's entry points", { timeout: 600_000 }, () => {
    // One program for all blocks (type-checking is the slow part), plus a wrong block that must be reported.
    const wrong: Snippet = { file: "test", where: "a wrong block", code: 'import { noSuchExport } from "scalpel"\nnoSuchExport()', fragment: false }
    const results = typeCheck([...snippets.filter((s) => !s.fragment), wrong])
    expect(results.get(wrong.where)?.join("\n")).toMatch(/noSuchExport/)
    results.delete(wrong.where)
    const failures = [...results].filter(([, errors]) => errors.length > 0).map(([where, errors]) => `${where}\n  ${errors.join("\n  ")}`)
    expect(failures, failures.join("\n")).toEqual([])
  })
})
