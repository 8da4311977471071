/**
 * One readable `path: what is wrong` line from an Effect Schema parse error, in the words a user
 * of a JSON spec would use: `structure.levels[1].lambda: expected a non-negative number, got -2`.
 *
 * Effect's own formatters describe schemas by their TypeScript types and report every member of
 * a failed union. A spec's author needs one message, from the union member their input meant (the
 * one its `kind` selects), with the expectation phrased by the schema's `description` annotation.
 * So we walk the issue tree ourselves: the first issue wins (decode with `errors: "first"`), and in
 * a union, members that rejected the value outright (wrong JavaScript type) give way to a member
 * that got further.
 */
import { Option, ParseResult, SchemaAST as AST } from "effect"
import { renderPath } from "./parseIssues.ts"
import { didYouMean } from "./suggest.ts"

/** Where in the input, and what is wrong there. */
export interface IssueMessage {
  readonly path: string
  readonly message: string
}

/** The one message of a parse error, with its path written under `prefix`. */
export const issueMessage = (error: ParseResult.ParseError, prefix = ""): IssueMessage => {
  const found = walk(error.issue, [], undefined, undefined)
  return { path: renderPath(prefix, found.path), message: found.message }
}

/** How a value is named in messages: short, and never the whole (possibly huge) input. */
export const describeValue = (value: unknown): string => {
  if (value === undefined) return "nothing"
  if (value === null) return "null"
  switch (typeof value) {
    case "string":
      return JSON.stringify(value.length > 40 ? `${value.slice(0, 37)}...` : value)
    case "number":
    case "boolean":
    case "bigint":
      return String(value)
    case "object":
      if (!Array.isArray(value)) return "an object"
      return value.length === 0 ? "an empty array" : `an array of ${value.length} element${value.length === 1 ? "" : "s"}`
    default:
      return `a ${typeof value}`
  }
}

/** A user-supplied name in single quotes, shortened so that a hostile name cannot flood a message. */
export const quoteName = (name: string): string => `'${name.length > 40 ? `${name.slice(0, 37)}...` : name}'`

interface Found {
  readonly path: ReadonlyArray<PropertyKey>
  readonly message: string
}

/** What a schema expects, for `expected ..., got ...`: its description, else a phrase from its shape. */
export const expectationOf = (ast: AST.AST): string => {
  const description = AST.getDescriptionAnnotation(ast)
  if (Option.isSome(description)) return description.value
  switch (ast._tag) {
    case "Literal":
      return JSON.stringify(ast.literal)
    case "Union": {
      // An optional field's encoded side is `X | undefined`; "undefined" means "leave it out".
      const members = ast.types.filter((t) => !AST.isUndefinedKeyword(t))
      const literals = members.filter(AST.isLiteral)
      if (members.length === 1) return expectationOf(members[0]!)
      return literals.length === members.length
        ? `one of ${literals.map((t) => JSON.stringify(t.literal)).join(", ")}`
        : members.map(expectationOf).join(" or ")
    }
    case "TypeLiteral":
      return "an object"
    case "TupleType":
      return "an array"
    case "Refinement":
      return expectationOf(ast.from)
    case "Transformation":
      return expectationOf(ast.to)
    case "Suspend":
      return expectationOf(ast.f())
    default:
      return String(ast)
  }
}

const keysOf = (ast: AST.AST | undefined): ReadonlyArray<string> =>
  ast !== undefined && ast._tag === "TypeLiteral" ? ast.propertySignatures.map((p) => String(p.name)) : []

const isIssueList = (
  issues: ParseResult.SingleOrNonEmpty<ParseResult.ParseIssue>,
): issues is readonly [ParseResult.ParseIssue, ...Array<ParseResult.ParseIssue>] => Array.isArray(issues)

const acceptsArrays = (ast: AST.AST): boolean => {
  switch (ast._tag) {
    case "TupleType":
    case "Declaration":
    case "UnknownKeyword":
    case "AnyKeyword":
    case "ObjectKeyword":
      return true
    case "Union":
      return ast.types.some(acceptsArrays)
    case "Refinement":
    case "Transformation":
      return acceptsArrays(ast.from)
    case "Suspend":
      return acceptsArrays(ast.f())
    default:
      return false
  }
}

/** An issue saying the value is not even of the member's base type (so the member was not meant). */
const isOutright = (issue: ParseResult.ParseIssue): boolean => {
  switch (issue._tag) {
    case "Type":
      return true
    case "Refinement":
      return issue.kind === "From" && isOutright(issue.issue)
    case "Transformation":
      return issue.kind === "Encoded" && isOutright(issue.issue)
    default:
      return false
  }
}

/**
 * `expected` is the description of the closest enclosing schema that has one on the same value
 * (a refinement's "a non-negative number" beats its base type's "a number"); `object` is the
 * struct whose keys an unexpected key is checked against.
 */
/** "Did you mean" for an unexpected field: the path's last key against the allowed ones. */
const unexpectedName = (path: ReadonlyArray<PropertyKey>, allowed: ReadonlyArray<string>): string => {
  const key = path[path.length - 1]
  return typeof key === "string" ? didYouMean(key, allowed) : ""
}

const walk = (
  issue: ParseResult.ParseIssue,
  path: ReadonlyArray<PropertyKey>,
  expected: string | undefined,
  object: AST.AST | undefined,
): Found => {
  const own = (ast: AST.AST): string | undefined => expected ?? Option.getOrUndefined(AST.getDescriptionAnnotation(ast))
  switch (issue._tag) {
    case "Pointer": {
      const keys = Array.isArray(issue.path) ? issue.path : [issue.path]
      return walk(issue.issue, [...path, ...keys], undefined, object)
    }
    case "Type":
      return {
        path,
        message: issue.message ?? `expected ${own(issue.ast) ?? expectationOf(issue.ast)}, got ${describeValue(issue.actual)}`,
      }
    case "Missing":
      return { path, message: issue.message ?? `missing; expected ${own(issue.ast.type) ?? expectationOf(issue.ast.type)}` }
    case "Unexpected": {
      const allowed = keysOf(object)
      return {
        path,
        message:
          issue.message !== undefined && !issue.message.startsWith("is unexpected")
            ? issue.message
            : allowed.length === 0
              ? "unexpected field"
              : `unexpected field${unexpectedName(path, allowed)}; allowed fields here: ${allowed.join(", ")}`,
      }
    }
    case "Forbidden":
      return { path, message: issue.message ?? "cannot be decoded synchronously" }
    case "Refinement":
      // A failed predicate carries the filter's own message; a failed base type is phrased with
      // the refinement's description.
      return issue.kind === "Predicate"
        ? walk(issue.issue, path, undefined, object)
        : walk(issue.issue, path, own(issue.ast), object)
    case "Transformation":
      return walk(issue.issue, path, issue.kind === "Encoded" ? own(issue.ast) : undefined, object)
    case "Composite": {
      const issues: ReadonlyArray<ParseResult.ParseIssue> = isIssueList(issue.issues) ? issue.issues : [issue.issues]
      if (issue.ast._tag === "Union") {
        // Effect looks for a discriminator in arrays as in objects ("kind is missing"); an array
        // is simply the wrong type when no member is an array.
        const meant = Array.isArray(issue.actual) && !acceptsArrays(issue.ast) ? undefined : issues.find((i) => !isOutright(i))
        if (meant === undefined) {
          return { path, message: `expected ${own(issue.ast) ?? expectationOf(issue.ast)}, got ${describeValue(issue.actual)}` }
        }
        return walk(meant, path, undefined, object)
      }
      const first = issues[0]!
      return walk(first, path, expected, issue.ast._tag === "TypeLiteral" ? issue.ast : object)
    }
  }
}
