/**
 * "Did you mean …?" for a misspelt name: the known name nearest to it in optimal-string-alignment
 * distance (Levenshtein with adjacent transpositions, so `pcgard` is one edit from `pcgrad`), when
 * it is close enough to be a slip rather than another word: at most a third of the name's length,
 * and at least 1 and at most 3 edits. Case is ignored for the distance.
 */

/** Edits (insert, delete, substitute, swap two neighbours) that turn `a` into `b`. */
export const editDistance = (a: string, b: string): number => {
  const rows = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)))
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let best = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, rows[i - 2]![j - 2]! + 1)
      rows[i]![j] = best
    }
  }
  return rows[a.length]![b.length]!
}

/** The known name `name` was probably meant to be, if one is close enough. */
export const closestName = (name: string, known: Iterable<string>): string | undefined => {
  const limit = Math.min(3, Math.max(1, Math.floor(name.length / 3)))
  let best: { readonly name: string; readonly distance: number } | undefined
  for (const candidate of known) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase())
    if (distance <= limit && (best === undefined || distance < best.distance)) best = { name: candidate, distance }
  }
  return best?.name
}

/** ` (did you mean 'x'?)` when a known name is close to `name`, else the empty string. */
export const didYouMean = (name: string, known: Iterable<string>): string => {
  const close = closestName(name, known)
  return close === undefined || close === name ? "" : ` (did you mean '${close}'?)`
}
