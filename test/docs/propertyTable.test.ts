/**
 * The guarantees every built-in rule declares are checked by the kit (`evaluateGuarantees`):
 * declared properties hold on every generated run, undeclared ones have a counterexample. The
 * property table of docs/interpreters.md is what these checks establish: regenerate it with
 * `npm run docs:properties` when a rule or a declaration changes.
 */
import { readFileSync } from "node:fs"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { builtinRules } from "../../src/interpreters/builtins.ts"
import { evaluateGuarantees, type GuaranteeReport } from "../../src/testing/guarantees.ts"
import { currentPropertyTable, renderPropertyTable } from "../../src/testing/propertyTable.ts"
import { useCpuBackend } from "../support/cpuBackend.ts"

useCpuBackend()

const reports: Array<GuaranteeReport> = []

describe("declared guarantees (checked) and undeclared ones (refuted)", () => {
  for (const [name, interpreter] of builtinRules) {
    it(`${name}: every declaration agrees with the runs`, () => {
      const report = Effect.runSync(evaluateGuarantees(interpreter))
      reports.push(report)
      const wrong = report.outcomes.filter((o) => o.mismatch !== undefined).map((o) => `${o.property}: ${o.mismatch}`)
      expect(wrong).toEqual([])
    })
  }
})

describe("docs/interpreters.md", () => {
  it("holds the property table these checks establish (npm run docs:properties regenerates it)", () => {
    expect(reports.map((r) => r.interpreter)).toEqual([...builtinRules.keys()])
    const document = readFileSync(new URL("../../docs/interpreters.md", import.meta.url), "utf8")
    expect(currentPropertyTable(document)).toBe(renderPropertyTable(reports))
  })
})
