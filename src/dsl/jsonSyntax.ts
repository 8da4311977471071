/**
 * Where JSON text stops being JSON. `JSON.parse` reports syntax errors in words that differ
 * between Node versions and often without a position; a spec's author needs the line and column.
 * This scanner runs only after `JSON.parse` has failed. It keeps its own stack of open containers
 * instead of recursing, so text nested a million levels deep is scanned like any other.
 */

/** The first place where `text` is not JSON (RFC 8259), and what was expected there. */
export interface JsonSyntaxProblem {
  /** 0-based offset into the text. */
  readonly offset: number
  /** 1-based line and column. */
  readonly line: number
  readonly column: number
  readonly expected: string
  /** What is there instead: a quoted character, or "the end of the text". */
  readonly found: string
}

/** The first syntax problem in `text`, or `undefined` when it is valid JSON. */
export const locateJsonSyntaxError = (text: string): JsonSyntaxProblem | undefined => {
  let i = 0
  // Open containers: "{" or "[".
  const open: Array<"{" | "["> = []

  const problem = (expected: string): JsonSyntaxProblem => {
    const before = text.slice(0, i)
    const lastNewline = before.lastIndexOf("\n")
    const found = i >= text.length ? "the end of the text" : describeCharacter(text[i]!)
    return { offset: i, line: before.split("\n").length, column: i - lastNewline, expected, found }
  }
  const skipWhitespace = () => {
    while (i < text.length && (text[i] === " " || text[i] === "\t" || text[i] === "\n" || text[i] === "\r")) i++
  }
  const digits = (): number => {
    const start = i
    while (i < text.length && text[i]! >= "0" && text[i]! <= "9") i++
    return i - start
  }
  const isHex = (c: string | undefined) => c !== undefined && /^[0-9a-fA-F]$/.test(c)

  /** Scan one string starting at its opening quote; a problem or undefined. */
  const scanString = (): JsonSyntaxProblem | undefined => {
    i++
    while (i < text.length) {
      const c = text[i]!
      if (c === '"') {
        i++
        return undefined
      }
      if (c < " ") return problem("a character or an escape sequence (control characters must be escaped)")
      if (c === "\\") {
        i++
        const e = text[i]
        if (e === "u") {
          for (let k = 1; k <= 4; k++) {
            if (!isHex(text[i + k])) {
              i += k
              return problem("a hexadecimal digit in a \\u escape")
            }
          }
          i += 5
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) {
          i++
        } else {
          return problem('an escape character (one of " \\ / b f n r t u)')
        }
      } else {
        i++
      }
    }
    return problem('a closing quote (")')
  }

  /** Scan one number starting at `-` or a digit. */
  const scanNumber = (): JsonSyntaxProblem | undefined => {
    if (text[i] === "-") i++
    if (text[i] === "0") i++
    else if (digits() === 0) return problem("a digit")
    if (text[i] === ".") {
      i++
      if (digits() === 0) return problem("a digit after the decimal point")
    }
    if (text[i] === "e" || text[i] === "E") {
      i++
      if (text[i] === "+" || text[i] === "-") i++
      if (digits() === 0) return problem("a digit in the exponent")
    }
    return undefined
  }

  /** Scan one value; containers are opened (pushed), not scanned to their end. */
  const scanValueStart = (): JsonSyntaxProblem | undefined => {
    skipWhitespace()
    const c = text[i]
    if (c === "{" || c === "[") {
      open.push(c)
      i++
      return undefined
    }
    if (c === '"') return scanString()
    if (c === "-" || (c !== undefined && c >= "0" && c <= "9")) return scanNumber()
    const word = ["true", "false", "null"].find((w) => w[0] === c)
    if (word !== undefined) {
      // Report the first character that departs from the word, not the word's start.
      for (let k = 0; k < word.length; k++, i++) if (text[i] !== word[k]) return problem(`"${word}"`)
      return undefined
    }
    return problem("a value (object, array, string, number, true, false or null)")
  }

  // `afterOpen` is true right after `{` or `[`, where the container may close at once.
  let expectValue = true
  let afterOpen = false
  for (;;) {
    if (expectValue) {
      const top = open[open.length - 1]
      skipWhitespace()
      if (afterOpen && ((top === "[" && text[i] === "]") || (top === "{" && text[i] === "}"))) {
        open.pop()
        i++
        expectValue = false
        afterOpen = false
        continue
      }
      if (top === "{") {
        // An object's member: a key, a colon, then its value.
        if (text[i] !== '"') return problem(afterOpen ? 'a key in double quotes or "}"' : "a key in double quotes")
        const bad = scanString()
        if (bad !== undefined) return bad
        skipWhitespace()
        if (text[i] !== ":") return problem('":" after the key')
        i++
      }
      const depth = open.length
      const bad = scanValueStart()
      if (bad !== undefined) return bad
      afterOpen = open.length > depth
      expectValue = afterOpen
      continue
    }
    skipWhitespace()
    const top = open[open.length - 1]
    if (top === undefined) {
      return i < text.length ? problem("the end of the text after the value") : undefined
    }
    const close = top === "{" ? "}" : "]"
    if (text[i] === ",") {
      i++
      expectValue = true
      afterOpen = false
    } else if (text[i] === close) {
      open.pop()
      i++
    } else {
      return problem(`"," or "${close}"`)
    }
  }
}

/**
 * A character as a message shows it: quoted when it can be seen, by name and code point when it
 * cannot (a byte order mark or a no-break space quoted as is would look like nothing, or a space).
 */
const describeCharacter = (c: string): string => {
  const point = `U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, "0")}`
  if (c === "\uFEFF") return `a byte order mark (${point})`
  if (/^[\p{Cf}\p{Zs}\p{Zl}\p{Zp}]$/u.test(c) && c !== " ") return `an invisible character (${point})`
  return JSON.stringify(c)
}
