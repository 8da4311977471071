import { describe, expect, it } from "vitest"
import { builtinInterpreters } from "../../src/interpreters/builtins.ts"
import { builtinMethodNames, method, type MethodName } from "../../src/interpreters/method.ts"

describe("method names as a literal union", () => {
  it("builtinMethodNames lists exactly the built-in registry's names", () => {
    expect([...builtinMethodNames].sort()).toEqual([...builtinInterpreters.keys()].sort())
  })

  it("a misspelt name does not type-check (tsc checks the directive below: it fails if the line compiles)", () => {
    const misspelt = () =>
      // @ts-expect-error "pcgard" is not a method name
      method("pcgard")
    const known: MethodName = "pcgrad"
    expect(typeof misspelt).toBe("function")
    expect(method(known).interpreter).toBe("pcgrad")
  })
})
