/**
 * Messages for bad interpreter options are written for the spec's author: fuzzed options of every
 * built-in interpreter (chain's nested transform and rule options included) give a path and a
 * sentence, never Effect Schema's rendering of TypeScript types (`Expected { readonly maxNorm: ... }`).
 */
import fc from "fast-check"
import { Effect, Either } from "effect"
import { describe, expect, it } from "vitest"
import { builtinInterpreters } from "../../src/interpreters/builtins.ts"

/**
 * What a raw schema description looks like: TypeScript type syntax, refinement names, Effect's
 * "Expected X, actual Y". (Specific enough that fuzzed keys echoed in a message do not match.)
 */
const schemaText = /readonly [a-zA-Z]+[?]?: |\{ number \| filter \}|Expected [A-Z{][^,]*, actual |\(Encoded side\)/

const nestedOptions = (value: unknown): ReadonlyArray<unknown> => [
  value,
  { rule: value },
  { rule: { name: "bloop", options: value } },
  { before: [value], rule: { name: "bloop" } },
  { rule: { name: "bloop" }, after: [{ name: "clip-by-global-norm", options: value }] },
  { rule: { name: "pcgrad" }, before: [{ name: "scale-by", options: value }] },
]

describe("interpreter option messages", () => {
  it("fuzzed options of every built-in interpreter fail with a readable message or decode", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 3 }), (value) => {
        for (const [name, interpreter] of builtinInterpreters) {
          for (const raw of name === "chain" ? nestedOptions(value) : [value]) {
            const result = Effect.runSync(Effect.either(interpreter.decodeOptions(raw)))
            if (Either.isLeft(result)) expect(result.left.message, JSON.stringify(raw)).not.toMatch(schemaText)
          }
        }
      }),
      { numRuns: 300 },
    )
  })

  it("a transform's options given as a string name the field expected", () => {
    const chain = builtinInterpreters.get("chain")!
    const result = Effect.runSync(Effect.either(chain.decodeOptions({ rule: { name: "bloop" }, after: [{ name: "clip-by-global-norm", options: "x" }] })))
    if (Either.isRight(result)) throw new Error("expected InvalidOptions")
    expect(result.left.message).toBe(`interpreter 'chain' options.after[0].options: expected an object, got "x"`)
  })
})
