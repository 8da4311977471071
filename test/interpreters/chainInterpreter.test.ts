import { Effect, Either } from "effect"
import { describe, expect, it } from "vitest"
import { objective } from "../../src/dsl/objective.ts"
import { hierarchy } from "../../src/dsl/structure.ts"
import { bloop } from "../../src/interpreters/bloop.ts"
import { builtinInterpreters, builtinRules } from "../../src/interpreters/builtins.ts"
import { chain } from "../../src/interpreters/chain.ts"
import { chainInterpreter } from "../../src/interpreters/chainInterpreter.ts"
import type { Interpreter } from "../../src/interpreters/interpreter.ts"
import { pcgrad } from "../../src/interpreters/pcgrad.ts"
import { clipByGlobalNorm, identity, normalize, scaleBy, type Transform } from "../../src/interpreters/transforms.ts"
import { upgrad } from "../../src/interpreters/upgrad.ts"
import { weightedSum } from "../../src/interpreters/weightedSum.ts"
import { checkInterpreter, InvariantViolation, ruleProperty, runRule } from "scalpel/testing"
import { useCpuBackend } from "../support/cpuBackend.ts"

useCpuBackend()

const chainByName = builtinInterpreters.get("chain")!
const known = "identity, scale-by, clip-by-global-norm, normalize"

const decodeError = (raw: unknown) => {
  const result = Effect.runSync(Effect.either(chainByName.decodeOptions(raw)))
  if (Either.isRight(result)) throw new Error(`expected ${JSON.stringify(raw)} to be refused`)
  return result.left
}

describe("chain from JSON options: decoding", () => {
  const bloopRule = { name: "bloop" }
  it.each([
    ["no rule", {}, "rule", /missing/],
    ["an unknown transform", { before: [{ name: "clip" }], rule: bloopRule }, "before[0].name", new RegExp(`^unknown transform 'clip' \\(known: ${known}\\)$`)],
    ["a transform's bad option", { before: [{ name: "clip-by-global-norm", options: { maxNorm: -1 } }], rule: bloopRule }, "before[0].options.maxNorm", /positive number, got -1/],
    ["a transform's missing option", { rule: bloopRule, after: [{ name: "normalize" }, { name: "scale-by" }] }, "after[1].options.factor", /missing/],
    ["a transform's unknown option", { rule: bloopRule, after: [{ name: "normalize", options: { norm: 2 } }] }, "after[0].options.norm", /unexpected/],
    ["a rule named as a transform", { before: [{ name: "pcgrad" }], rule: bloopRule }, "before[0].name", /unknown transform 'pcgrad'.*is a combination rule: name it in rule/],
    ["an unknown rule", { rule: { name: "adamw" } }, "rule.name", /^unknown interpreter 'adamw' \(known: bloop, .*primal-dual, .*db-mtl\)$/],
    ["a transform named as the rule", { rule: { name: "normalize" } }, "rule.name", /is a transform: list it in before or after/],
    ["a chain as the rule", { rule: { name: "chain", options: { rule: bloopRule } } }, "rule.name", /cannot be another chain/],
    ["the rule's bad option", { rule: { name: "bloop", options: { rho: 2 } } }, "rule.options.rho", /\(0, 1\], got 2/],
    ["an empty name", { rule: { name: "" } }, "rule.name", /non-empty/],
    ["a misspelt field", { rule: bloopRule, befor: [] }, "befor", /unexpected/],
    ["options for a rule that takes none", { rule: { name: "upgrad", options: { pref: [1] } } }, "rule.options.pref", /this takes no options/],
    ["before that is not an array", { rule: bloopRule, before: { name: "normalize" } }, "before", /ReadonlyArray|array/i],
  ])("%s is InvalidOptions of 'chain' at the path", (_, raw, path, problem) => {
    const error = decodeError(raw)
    expect(error._tag).toBe("InvalidOptions")
    expect(error.interpreter).toBe("chain")
    expect(error.path).toBe(path)
    expect(error.problem).toMatch(problem)
    expect(error.message).toBe(`interpreter 'chain' options.${path}: ${error.problem}`)
  })

  it("the registry it resolves rules in is its argument (builtins: the rules without chain)", () => {
    expect([...builtinRules.keys()]).not.toContain("chain")
    const onlyBloop = chainInterpreter(new Map([["bloop", bloop]]))
    const error = Effect.runSync(Effect.flip(onlyBloop.decodeOptions({ rule: { name: "pcgrad" } })))
    expect(error.message).toBe("interpreter 'chain' options.rule.name: unknown interpreter 'pcgrad' (known: bloop)")
  })
})

/** A JSON chain and the same chain built in code. */
interface Pairing {
  readonly title: string
  readonly json: unknown
  readonly programmatic: (...steps: ReadonlyArray<Transform<any> | Interpreter<any>>) => Interpreter<any>
  readonly ruleOptions: unknown
}

const pairings: ReadonlyArray<Pairing> = [
  {
    title: "clip-by-global-norm before bloop",
    json: { before: [{ name: "clip-by-global-norm", options: { maxNorm: 0.5 } }], rule: { name: "bloop", options: { rho: 0.1 } } },
    programmatic: () => chain(clipByGlobalNorm(0.5), bloop),
    ruleOptions: { rho: 0.1 },
  },
  {
    title: "normalize before per-block pcgrad, clip after",
    json: { before: [{ name: "normalize" }], rule: { name: "pcgrad", options: { perBlock: true } }, after: [{ name: "clip-by-global-norm", options: { maxNorm: 2 } }] },
    programmatic: () => chain(normalize, pcgrad, clipByGlobalNorm(2)),
    ruleOptions: { perBlock: true },
  },
  {
    title: "upgrad, then scale-by and normalize",
    json: { rule: { name: "upgrad" }, after: [{ name: "scale-by", options: { factor: -3 } }, { name: "normalize" }] },
    programmatic: () => chain(upgrad, scaleBy(-3), normalize),
    ruleOptions: {},
  },
  {
    title: "scale-by twice around weighted-sum",
    json: { before: [{ name: "scale-by", options: { factor: 0.25 } }, { name: "scale-by", options: { factor: 8 } }], rule: { name: "weighted-sum" }, after: [{ name: "identity" }] },
    programmatic: () => chain(scaleBy(0.25), scaleBy(8), weightedSum, identity),
    ruleOptions: {},
  },
]

describe("chain from JSON options equals the chain built in code", () => {
  it.each(pairings)("$title: same directions over 3 steps on generated gradients and layouts (bit for bit), leak-free", ({ json, programmatic, ruleOptions }) => {
    const reference = programmatic()
    const main = objective("main", () => { throw new Error("unused: the kit supplies gradients") })
    const aux = objective("aux", () => { throw new Error("unused: the kit supplies gradients") })
    const referenceRule = Effect.runSync(Effect.flatMap(reference.decodeOptions(ruleOptions), (o) => reference.lower(hierarchy([main, aux]), o, { seed: 0 })))
    const report = Effect.runSync(
      checkInterpreter(chainByName, {
        options: json,
        numRuns: 40,
        properties: [
          ruleProperty({
            name: "the JSON chain's directions are the programmatic chain's",
            steps: 3,
            check: ({ layout, steps, directions }) => {
              // runRule is itself leak-checked; so is the kit's run of the JSON chain.
              const expected = runRule(referenceRule, layout, steps)
              directions.forEach((d, t) => {
                const same = d.length === expected[t]!.length && d.every((x, i) => Object.is(x, expected[t]![i]))
                if (!same) throw new InvariantViolation({ invariant: "JSON chain = chain(...)", detail: `step ${t}: ${Array.from(d)} vs ${Array.from(expected[t]!)}` })
              })
            },
          }),
        ],
      }),
    )
    expect(report.properties[0]!.numRuns).toBe(40)
    expect(referenceRule.name).toBe(Effect.runSync(Effect.flatMap(chainByName.decodeOptions(json), (o) => chainByName.lower(hierarchy([main, aux]), o, { seed: 0 }))).name)
  })
})
