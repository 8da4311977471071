#!/usr/bin/env node
/** The `scalpel` command line. */
import { Command, ValidationError } from "@effect/cli"
import { NodeContext } from "@effect/platform-node"
import { Cause, Console, Effect, Option } from "effect"
import { demoCommand } from "./demo.ts"
import { experimentCommand } from "./experiment.ts"
import { runCommand } from "./run.ts"
import { sweepCommand } from "./sweep.ts"
import { workerCommand } from "./worker.ts"
import { runCommandLine } from "./interrupts.ts"
import { prepareTerminalOutput } from "./terminalOutput.ts"

const scalpel = Command.make("scalpel").pipe(
  Command.withDescription("Declarative gradient surgery: declare objectives and priorities, train them with Bloop, PCGrad, ..."),
  Command.withSubcommands([demoCommand, runCommand, sweepCommand, experimentCommand, workerCommand]),
)

const cli = Command.run(scalpel, { name: "scalpel", version: "0.1.0" })

/**
 * Typed failures are reported by their message and exit code 1, never as a stack trace. Command
 * line validation errors are already printed by @effect/cli.
 */
const reportFailure = (cause: Cause.Cause<unknown>) =>
  Effect.gen(function* () {
    const failure = Cause.failureOption(cause)
    if (Option.isSome(failure)) {
      const error = failure.value
      if (!ValidationError.isValidationError(error)) yield* Console.error(`error: ${error instanceof Error ? error.message : String(error)}`)
    } else if (!Cause.isInterruptedOnly(cause)) {
      yield* Console.error(`internal error: ${Cause.pretty(cause)}`)
    }
    process.exitCode = 1
  })

prepareTerminalOutput(process.argv.slice(2))
runCommandLine(cli(process.argv).pipe(Effect.catchAllCause(reportFailure), Effect.provide(NodeContext.layer)))
