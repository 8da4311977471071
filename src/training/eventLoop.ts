/**
 * Turns of the event loop between steps. Steps are synchronous tensor work, and Effect's scheduler
 * yields to the microtask queue only; without an occasional macrotask turn, a long run would
 * starve the event loop and never see SIGINT (Ctrl-C), timers, I/O or an `AbortSignal` (in a
 * browser: never repaint or take input).
 */
import { Effect } from "effect"
import { onNextMacrotask } from "../core/macrotask.ts"

/** Longest stretch of training, in milliseconds, between two turns of the event loop. */
const eventLoopInterval = 25

/** An effect that yields to the event loop when the last turn is more than {@link eventLoopInterval} ago. */
export const makeEventLoopTurn = (): Effect.Effect<void> => {
  let lastTurn = performance.now()
  return Effect.suspend(() => {
    if (performance.now() - lastTurn < eventLoopInterval) return Effect.void
    return Effect.async<void>((resume) => {
      const cancel = onNextMacrotask(() => {
        lastTurn = performance.now()
        resume(Effect.void)
      })
      return Effect.sync(cancel)
    })
  })
}
