/**
 * The relative paths README.md and docs/*.md mention: Markdown link targets (resolved from the
 * file that links) and code spans that name a file or folder of the package (`src/...`,
 * `examples/specs/*.json`, `docs/...`), resolved from the package root.
 */
import { readdirSync, readFileSync } from "node:fs"
import { join, normalize } from "node:path"

export interface DocumentedPath {
  /** Relative to the package root, normalised; may hold a `*` glob. */
  readonly path: string
  /** `docs/specs.md:21`. */
  readonly where: string
}

/** Top-level folders whose files the documentation names in code spans. */
const roots = ["src", "examples", "docs", "test", "bench", "scripts", "experiments", "dist"]

/** Paths under these are repository references (tests, benchmarks, scripts): they do not ship, and README says so. */
export const repositoryOnly = ["test/", "bench/", "scripts/"]

export const documentedPaths = (root: string): ReadonlyArray<DocumentedPath> => {
  const files = ["README.md", ...readdirSync(join(root, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)]
  const out: Array<DocumentedPath> = []
  for (const file of files) {
    const base = file.includes("/") ? file.slice(0, file.lastIndexOf("/")) : ""
    readFileSync(join(root, file), "utf8")
      .split("\n")
      .forEach((line, i) => {
        const where = `${file}:${i + 1}`
        for (const m of line.matchAll(/\]\(([^)\s]+)\)/g)) {
          const target = m[1]!.split("#")[0]!
          if (target === "" || /^[a-z]+:/i.test(target)) continue
          out.push({ path: normalize(join(base, target)).replaceAll("\\", "/"), where })
        }
        for (const m of line.matchAll(/`([^`\s]+)`/g)) {
          const span = m[1]!.replace(/[.,;:)]+$/, "")
          const top = span.split("/")[0]!
          if (!span.includes("/") || !roots.includes(top) || span.includes("<")) continue
          // A file (with an extension, or a glob) or a folder (trailing slash); not a prose fragment like `src/a/b` without either.
          if (!/\.[a-z]+$/i.test(span) && !span.endsWith("/") && !span.includes("*")) continue
          out.push({ path: span.replace(/\/$/, ""), where })
        }
      })
  }
  return out
}

/** Whether `listing` (package-root-relative file paths) holds `path` as a file, a folder, or a glob match. */
export const listed = (listing: ReadonlySet<string>, path: string): boolean => {
  if (path.includes("*")) {
    const pattern = new RegExp(`^${path.split("*").map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join("[^/]*")}$`)
    return [...listing].some((f) => pattern.test(f))
  }
  return listing.has(path) || [...listing].some((f) => f.startsWith(`${path}/`))
}
