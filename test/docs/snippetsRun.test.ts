/**
 * Every TypeScript block of README.md and docs/*.md runs, as a consumer's module would (imports
 * from `scalpel`, `scalpel/testing`, ...), each in a fresh working folder. What a block declares
 * and leaves to the reader (`declare const spec: Spec`) gets a real value from snippetFixtures.ts;
 * `vitest` imports get vitestShim.ts. Blocks marked `ts fragment` are skipped (and counted by
 * snippets.test.ts, which also type-checks every block).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { pathToFileURL } from "node:url"
import ts from "typescript"
import { afterAll, describe, expect, it } from "vitest"
import { type DocBlock, documentationBlocks, repositoryRoot } from "../support/docBlocks.ts"

const scratch = join(repositoryRoot, "test/docs/.run")
const shim = join(repositoryRoot, "test/docs/vitestShim.ts")
const fixtureModule = join(repositoryRoot, "test/docs/snippetFixtures.ts")

/**
 * The block as a runnable module: `declare const a: A, b: B` becomes `const a = fixture a, b = fixture b`,
 * and `from "vitest"` becomes the shim. Fails (naming the block) for a declared name with no fixture.
 */
export const runnable = (block: DocBlock, available: ReadonlyArray<string>): string => {
  const source = ts.createSourceFile("block.ts", block.code, ts.ScriptTarget.ES2022, true)
  const edits: Array<{ start: number; end: number; text: string }> = []
  for (const statement of source.statements) {
    if (ts.isImportDeclaration(statement) && ts.isStringLiteral(statement.moduleSpecifier) && statement.moduleSpecifier.text === "vitest") {
      const s = statement.moduleSpecifier
      edits.push({ start: s.getStart(), end: s.getEnd(), text: JSON.stringify(pathToFileURL(shim).href) })
    }
    if (ts.isVariableStatement(statement) && statement.modifiers?.some((m) => m.kind === ts.SyntaxKind.DeclareKeyword)) {
      const names = statement.declarationList.declarations.map((d) => d.name.getText())
      const missing = names.filter((n) => !available.includes(n))
      if (missing.length > 0) throw new Error(`${block.where} declares ${missing.join(", ")}: give it a value in test/docs/snippetFixtures.ts`)
      const values = names.map((n) => `${n} = __fixtures[${JSON.stringify(block.file)}]![${JSON.stringify(n)}]!() as any`)
      edits.push({ start: statement.getStart(), end: statement.getEnd(), text: `const ${values.join(", ")};` })
    }
  }
  let code = block.code
  for (const edit of edits.sort((a, b) => b.start - a.start)) code = code.slice(0, edit.start) + edit.text + code.slice(edit.end)
  return `${code}\nimport { fixtures as __fixtures } from ${JSON.stringify(pathToFileURL(fixtureModule).href)}\nexport {}\n`
}

/** Run one block: write it beside the tests (so that `scalpel` resolves as in the suite), import it from a fresh working folder, await its test bodies. */
const runBlock = async (block: DocBlock, index: number): Promise<void> => {
  const { fixtures } = await import("./snippetFixtures.ts")
  const available = Object.keys(fixtures[block.file] ?? {})
  mkdirSync(scratch, { recursive: true })
  const file = join(scratch, `block${index}.ts`)
  writeFileSync(file, `// ${block.where}\n${runnable(block, available)}`)
  const folder = mkdtempSync(join(tmpdir(), "scalpel-doc-"))
  const previous = process.cwd()
  process.chdir(folder)
  try {
    await import(pathToFileURL(file).href)
    await (await import("./vitestShim.ts")).settleStarted()
  } finally {
    process.chdir(previous)
    rmSync(folder, { recursive: true, force: true })
  }
}

const blocks = documentationBlocks().filter((b) => !b.fragment)
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

describe("documentation code blocks run", () => {
  it("a block that throws is reported, and a declared name without a fixture is named", async () => {
    const throwing: DocBlock = { file: "test", where: "a throwing block", code: 'import { trainPromise } from "scalpel"\nawait trainPromise({ parameters: {}, structure: undefined as never, optimizer: undefined as never, steps: 1, batchSize: 1, seed: 1 }, "bloop")', fragment: false }
    await expect(runBlock(throwing, 9999)).rejects.toThrow(/parameter/)
    expect(() => runnable({ ...throwing, code: "declare const nowhere: number" }, [])).toThrow(/a throwing block declares nowhere/)
  })

  it.each(blocks.map((b, i) => [b.where, b, i] as const))("%s", { timeout: 300_000 }, async (_where, block, index) => {
    await runBlock(block, index)
  })
})
