// The guide of docs/testing.md, verbatim: keep the two in sync.
import { Effect } from "effect"
import { it } from "vitest"
import { type Interpreter, projectIfConflicting, tf, type Tensor1D } from "scalpel"
import { addsNothingAlongPriority, checkInterpreter, nonConflicting, positivelyHomogeneous } from "scalpel/testing"

// A custom rule: keep ∇main, add λ·∇aux with only its conflicting part removed.
const gentle: Interpreter<{ lambda: number }> = {
  name: "gentle",
  description: "∇main + λ·(∇aux without its part against ∇main)",
  decodeOptions: (raw) => Effect.succeed({ lambda: 0.5, ...(raw as object) }),
  lower: (_structure, { lambda }) =>
    Effect.succeed({
      name: "gentle",
      objectives: ["main", "aux"],
      init: () => ({}),
      step: (g, state) => [tf.add(g.main!, tf.mul(projectIfConflicting(g.aux!, g.main!), lambda)) as Tensor1D, state],
    }),
}

it("gentle never conflicts with ∇main and is scale invariant", async () => {
  await tf.setBackend("cpu")
  await Effect.runPromise(
    checkInterpreter(gentle, {
      properties: [nonConflicting({ among: [0], depth: 1, weight: 0.5 }), positivelyHomogeneous({ depth: 1, weight: 0.5 })],
    }),
  )
})

// Not part of the guide: the same kit catches the rule's limits. It is not Bloop: it keeps the
// aligned part of ∇aux, so it does add along ∇main, and the kit reports it.
it("the kit reports that gentle adds along ∇main, with a readable counterexample", async () => {
  const exit = await Effect.runPromiseExit(checkInterpreter(gentle, { properties: [addsNothingAlongPriority({ depth: 1, weight: 0.5 })] }))
  if (exit._tag !== "Failure" || exit.cause._tag !== "Fail" || exit.cause.error._tag !== "PropertyFailed") throw new Error("expected PropertyFailed")
  const report = exit.cause.error.message
  for (const expected of [/violates 'adds nothing along the priority direction/, /step 1:/, /main\s+= \[/, /aux\s+= \[/, /direction = \[/, /Counterexample/]) {
    if (!expected.test(report)) throw new Error(`report lacks ${expected}:\n${report}`)
  }
})

it("docs/testing.md shows this guide verbatim", async () => {
  const { readFile } = await import("node:fs/promises")
  const source = await readFile(new URL(import.meta.url), "utf8")
  const guide = source.split("\n").slice(1, 28).join("\n")
  const doc = await readFile(new URL("../../docs/testing.md", import.meta.url), "utf8")
  if (!doc.includes(guide)) throw new Error("docs/testing.md no longer contains lines 2–28 of test/docs/testingGuide.test.ts")
})
