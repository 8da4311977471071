/**
 * Duplicate keys in JSON text. RFC 8259 leaves their meaning open and `JSON.parse` silently keeps
 * the last value, so a spec that sets `"lambda"` twice would train with whichever came last. This
 * scanner runs on text `JSON.parse` has accepted and finds the first object that repeats a key
 * (compared after unescaping, so `"ab"` and `"a\u0062"` are the same key). Like `jsonSyntax.ts` it
 * keeps its own stack of open containers instead of recursing.
 */

/** The first repeated key: where its object is, the key, and the position of its second use. */
export interface DuplicateKey {
  /** Path of the object holding the key (`["structure", "levels", 1]`), empty for the root. */
  readonly path: ReadonlyArray<string | number>
  readonly key: string
  /** 0-based offset of the repeated key's opening quote; 1-based line and column. */
  readonly offset: number
  readonly line: number
  readonly column: number
}

interface Container {
  readonly kind: "{" | "["
  /** Keys seen so far (objects). */
  readonly keys: Set<string>
  /** Path of this container. */
  readonly path: ReadonlyArray<string | number>
  /** Key of the member being read (objects) or index of the element (arrays). */
  current: string | number
}

/** The first duplicate key of valid JSON `text`, or undefined. */
export const findDuplicateKey = (text: string): DuplicateKey | undefined => {
  const open: Array<Container> = []
  let i = 0
  while (i < text.length) {
    const c = text[i]!
    if (c === '"') {
      const start = i
      i++
      while (text[i] !== '"') i += text[i] === "\\" ? 2 : 1
      i++
      const top = open[open.length - 1]
      let j = i
      while (j < text.length && (text[j] === " " || text[j] === "\t" || text[j] === "\n" || text[j] === "\r")) j++
      if (top?.kind === "{" && text[j] === ":") {
        const key = JSON.parse(text.slice(start, i)) as string
        if (top.keys.has(key)) {
          const before = text.slice(0, start)
          return { path: top.path, key, offset: start, line: before.split("\n").length, column: start - before.lastIndexOf("\n") }
        }
        top.keys.add(key)
        top.current = key
      }
      continue
    }
    if (c === "{" || c === "[") {
      const parent = open[open.length - 1]
      open.push({ kind: c, keys: new Set(), path: parent === undefined ? [] : [...parent.path, parent.current], current: 0 })
    } else if (c === "}" || c === "]") {
      open.pop()
    } else if (c === ",") {
      const top = open[open.length - 1]
      if (top?.kind === "[") top.current = (top.current as number) + 1
    }
    i++
  }
  return undefined
}
