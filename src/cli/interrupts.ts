/**
 * Ctrl-C (SIGINT) and SIGTERM for the command line. A command that can stop gracefully asks for
 * {@link stopSignal}: the first signal then aborts it (a training run finishes its step, writes its
 * checkpoint, summary and weights marked interrupted), instead of interrupting the whole program.
 * Any other command is interrupted as under `NodeRuntime.runMain` (its scopes close). Either way
 * the process then exits with 128 + the signal's number (130 for SIGINT, 143 for SIGTERM), as
 * shells report a program ended by a signal, so `scalpel run ... && next` does not carry on. A
 * second signal (more than half a second after the first) exits at once.
 */
import { Effect, Exit, Fiber } from "effect"

const signalNumbers = { SIGINT: 2, SIGTERM: 15 } as const
type HandledSignal = keyof typeof signalNumbers

/** The exit status of a process ended by `signal`. */
export const signalExitStatus = (signal: HandledSignal): number => 128 + signalNumbers[signal]

/** Signals closer together than this count as one (see `onSignal`). */
const repeatWindowMs = 500

const controller = new AbortController()
let graceful = false
let received: HandledSignal | undefined

/** An abort signal that the first SIGINT or SIGTERM triggers; asking for it makes the stop graceful. */
export const stopSignal = (): AbortSignal => {
  graceful = true
  return controller.signal
}

/** The signal that stopped the command, if one did. */
export const receivedSignal = (): HandledSignal | undefined => received

/**
 * Run the command line's program to its end with the signal handling above (in place of
 * `NodeRuntime.runMain`, whose handlers always interrupt). Failures are the program's to report.
 */
export const runCommandLine = <E>(program: Effect.Effect<void, E>): void => {
  const fiber = Effect.runFork(program)
  // The fiber alone holds no handle that keeps Node's event loop alive while it waits.
  const keepAlive = setInterval(() => {}, 2 ** 31 - 1)
  let firstAt = 0
  const onSignal = (signal: HandledSignal) => {
    // A wrapper (tsx, npm) relays the terminal's Ctrl-C that the process group already got: the
    // same press arrives twice within milliseconds. Only a later signal is a second request.
    if (received !== undefined) {
      if (Date.now() - firstAt > repeatWindowMs) process.exit(signalExitStatus(received))
      return
    }
    received = signal
    firstAt = Date.now()
    if (graceful) controller.abort(signal)
    else fiber.unsafeInterruptAsFork(fiber.id())
  }
  const onInt = () => onSignal("SIGINT")
  const onTerm = () => onSignal("SIGTERM")
  process.on("SIGINT", onInt)
  process.on("SIGTERM", onTerm)
  fiber.addObserver((exit) => {
    clearInterval(keepAlive)
    process.removeListener("SIGINT", onInt)
    process.removeListener("SIGTERM", onTerm)
    if (received !== undefined) process.exitCode = signalExitStatus(received)
    else if (Exit.isFailure(exit) && process.exitCode === undefined) process.exitCode = 1
  })
  void Fiber.await(fiber)
}
