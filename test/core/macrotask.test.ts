import { describe, expect, it } from "vitest"
import { onNextMacrotask, onNextMessage } from "../../src/core/macrotask.ts"

const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe.each([
  ["setImmediate (Node)", onNextMacrotask],
  ["MessageChannel (browsers)", onNextMessage],
])("a macrotask through %s", (_, schedule) => {
  it("runs after the current task and its microtasks, once", async () => {
    const order: Array<string> = []
    schedule(() => order.push("task"))
    void Promise.resolve().then(() => order.push("microtask"))
    order.push("sync")
    await settle(20)
    expect(order).toEqual(["sync", "microtask", "task"])
  })

  it("does not run once cancelled", async () => {
    let ran = false
    const cancel = schedule(() => {
      ran = true
    })
    cancel()
    await settle(20)
    expect(ran).toBe(false)
  })
})
