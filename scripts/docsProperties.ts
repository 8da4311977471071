/**
 * Regenerate the property table of docs/interpreters.md from the guarantee checks of every
 * built-in rule (`npm run docs:properties`). test/docs/propertyTable.test.ts recomputes the same
 * table and fails when the docs differ.
 */
import { readFileSync, writeFileSync } from "node:fs"
import { Effect } from "effect"
import { activateBackend } from "../src/core/backend.ts"
import { builtinRules } from "../src/interpreters/builtins.ts"
import { evaluateGuarantees } from "../src/testing/guarantees.ts"
import { renderPropertyTable, replacePropertyTable } from "../src/testing/propertyTable.ts"

await Effect.runPromise(activateBackend("cpu"))
const reports = [...builtinRules.values()].map((interpreter) => {
  const report = Effect.runSync(evaluateGuarantees(interpreter))
  for (const o of report.outcomes) if (o.mismatch !== undefined) console.error(`${interpreter.name}, ${o.property}: ${o.mismatch}`)
  return report
})
const path = new URL("../docs/interpreters.md", import.meta.url)
writeFileSync(path, replacePropertyTable(readFileSync(path, "utf8"), renderPropertyTable(reports)))
console.log(`docs/interpreters.md: property table of ${reports.length} rules written`)
