/**
 * `checkInterpreter` checks the guarantees an interpreter declares (`Interpreter.guarantees`): every
 * declared property must hold, and every undeclared one must have a counterexample, so a
 * declaration that claims too much or too little fails the check with a `GuaranteeMismatch`.
 */
import { Effect, Exit } from "effect"
import { describe, expect, it } from "vitest"
import type { GuaranteeProperty } from "../../src/interpreters/guarantees.ts"
import type { Interpreter } from "../../src/interpreters/interpreter.ts"
import { cagrad } from "../../src/interpreters/cagrad.ts"
import { mean } from "../../src/interpreters/mean.ts"
import { checkInterpreter } from "../../src/testing/checkInterpreter.ts"
import { useCpuBackend } from "../support/cpuBackend.ts"

useCpuBackend()

/** `mean` with its declared properties replaced (the rule itself unchanged). */
const meanDeclaring = (holds: ReadonlyArray<GuaranteeProperty>): Interpreter<unknown> =>
  ({ ...mean, name: "mean-as-declared", guarantees: { holds } }) as Interpreter<unknown>

const honest = mean.guarantees!.holds

const failure = async (interpreter: Interpreter<unknown>) => {
  const exit = await Effect.runPromiseExit(checkInterpreter(interpreter, { properties: [], numRuns: 5 }))
  if (!Exit.isFailure(exit) || exit.cause._tag !== "Fail") throw new Error(`expected a typed failure, got ${JSON.stringify(exit)}`)
  return exit.cause.error
}

describe("checkInterpreter checks the declared guarantees", () => {
  it("an honest declaration passes, and the report lists every property's outcome", async () => {
    const report = await Effect.runPromise(checkInterpreter(mean, { numRuns: 5 }))
    expect(report.properties).toEqual([])
    expect(report.guarantees?.outcomes.map((o) => [o.property, o.holds])).toEqual([
      ["non-conflicting", false],
      ["linear-under-scaling", true],
      ["weighted", true],
      ["permutation-invariant", true],
      ["scale-invariant", true],
      ["priority", false],
    ])
  })

  it("a declared property the rule lacks fails, with the counterexample", async () => {
    const error = await failure(meanDeclaring([...honest, "non-conflicting"]))
    expect(error._tag).toBe("GuaranteeMismatch")
    if (error._tag !== "GuaranteeMismatch") return
    expect(error.property).toBe("non-conflicting")
    expect(error.message).toMatch(/'mean-as-declared', non-conflicting: declared, but fails: J = \[\[/)
  })

  it("a property the rule has but does not declare fails (tightness)", async () => {
    const error = await failure(meanDeclaring(honest.filter((p) => p !== "permutation-invariant")))
    expect(error._tag).toBe("GuaranteeMismatch")
    if (error._tag !== "GuaranteeMismatch") return
    expect(error.property).toBe("permutation-invariant")
    expect(error.message).toMatch(/not declared, but no counterexample/)
  })

  it("a declaration checked at other options than the defaults must hold at the defaults too", async () => {
    // CAGrad at c = 0 is the mean, so these hold there (and are tight there); at the default c = 0.5 CAGrad is not linear.
    const atZero = { ...cagrad, name: "cagrad-at-zero", guarantees: { holds: honest, subject: { form: "hierarchy", options: { c: 0 } } } } as Interpreter<unknown>
    const error = await failure(atZero)
    expect(error._tag).toBe("GuaranteeMismatch")
    if (error._tag !== "GuaranteeMismatch") return
    expect(error.property).toBe("linear-under-scaling")
    expect(error.message).toMatch(/declared, but fails at the default options: J = /)
  })

  it("`guarantees: false` skips the check; an interpreter that declares nothing is not checked", async () => {
    const liar = meanDeclaring([...honest, "non-conflicting"])
    expect((await Effect.runPromise(checkInterpreter(liar, { guarantees: false }))).guarantees).toBeUndefined()
    const { guarantees: _, ...undeclared } = mean
    expect((await Effect.runPromise(checkInterpreter(undeclared as Interpreter<unknown>, {}))).guarantees).toBeUndefined()
  })
})
