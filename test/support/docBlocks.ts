/**
 * The TypeScript code blocks of README.md and docs/*.md, for the documentation tests (type-checked
 * by test/docs/snippets.test.ts, executed by test/docs/snippetsRun.test.ts).
 */
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

/** The repository's root folder. */
export const repositoryRoot = fileURLToPath(new URL("../../", import.meta.url))

/** One ```ts block of a Markdown file. */
export interface DocBlock {
  /** The Markdown file, as `docs/specs.md`. */
  readonly file: string
  /** Where the block starts, as `docs/specs.md:140`. */
  readonly where: string
  readonly code: string
  /** The info string says `ts fragment`: the block is not a complete module and is skipped. */
  readonly fragment: boolean
}

/** The ```ts / ```typescript blocks of a Markdown text. */
export const typeScriptBlocks = (file: string, text: string): ReadonlyArray<DocBlock> => {
  const blocks: Array<DocBlock> = []
  const lines = text.split("\n")
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(ts|typescript)\b(.*)$/.exec(lines[i]!)
    if (open === null) continue
    const start = i
    const body: Array<string> = []
    for (i++; i < lines.length && !lines[i]!.startsWith("```"); i++) body.push(lines[i]!)
    blocks.push({ file, where: `${file}:${start + 1}`, code: body.join("\n"), fragment: /\bfragment\b/.test(open[2]!) })
  }
  return blocks
}

/** Every TypeScript block of README.md and docs/*.md, in file order. */
export const documentationBlocks = (): ReadonlyArray<DocBlock> => {
  const documents = ["README.md", ...readdirSync(join(repositoryRoot, "docs")).filter((f) => f.endsWith(".md")).sort().map((f) => `docs/${f}`)]
  return documents.flatMap((file) => typeScriptBlocks(file, readFileSync(join(repositoryRoot, file), "utf8")))
}
