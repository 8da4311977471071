/**
 * `vitest` as a documentation block sees it when test/docs/snippetsRun.test.ts runs the block inside
 * a test: `it`/`test` run their body at once (nested tests cannot be registered), and the runner
 * awaits every body it started; `expect` is vitest's own.
 */
export { expect } from "vitest"

const started: Array<Promise<unknown>> = []

/** Run a block's test body now; the runner awaits it with {@link settleStarted}. */
export const it = (_name: string, ...rest: ReadonlyArray<unknown>): void => {
  const body = rest.find((x): x is () => unknown => typeof x === "function")
  if (body !== undefined) started.push(Promise.resolve().then(body))
}
export const test = it
export const describe = (_name: string, body: () => void): void => body()

/** Await (and forget) the bodies started so far; rejects with the first failure. */
export const settleStarted = async (): Promise<void> => {
  const bodies = started.splice(0)
  await Promise.all(bodies)
}
