/**
 * What the command line writes, made fit for pipes, logs and terminals alike:
 * - a closed pipe (`scalpel run SPEC | head -2`) ends the process quietly with status 141, as a
 *   program killed by SIGPIPE reports it, instead of an unhandled `Error: write EPIPE`;
 * - no ANSI colour codes when the stream is not a terminal, or under `NO_COLOR`
 *   (https://no-color.org) — @effect/cli's help and error renderer always emits them;
 * - help pages without @effect/cli's generic type lines ("A user-defined piece of text.", printed
 *   for every text option above the option's own description) and with a usage line that names
 *   the program (`$ scalpel run ...` rather than `$ run ...`).
 */

/** The exit status of a process whose output pipe was closed (128 + SIGPIPE). */
export const closedPipeStatus = 141

const ansi = /\x1b\[[0-9;]*m/g

/** @effect/cli's description of each primitive type, a line of its own above the option's text. */
const genericLines = /^ {2}(A user-defined piece of text\.|An integer\.|A true or false value\.|A floating point number\.)\n\n/gm

/** Whether colour codes may be written to `stream`. */
export const colourAllowed = (stream: { readonly isTTY?: boolean }, environment: NodeJS.ProcessEnv = process.env): boolean =>
  stream.isTTY === true && (environment["NO_COLOR"] ?? "") === "" && environment["TERM"] !== "dumb"

/** A help page as the user should read it (see the module comment). */
export const cleanHelp = (text: string, program: string): string =>
  text.replace(genericLines, "").replace(/^\$ (?!scalpel\b)(\S)/gm, `$ ${program} $1`)

type Write = NodeJS.WriteStream["write"]

const filterWrites = (stream: NodeJS.WriteStream, transform: (text: string) => string): void => {
  const write = stream.write.bind(stream) as Write
  stream.write = ((chunk: unknown, ...rest: Array<unknown>) =>
    typeof chunk === "string" ? (write as (c: string, ...r: Array<unknown>) => boolean)(transform(chunk), ...rest) : (write as (c: unknown, ...r: Array<unknown>) => boolean)(chunk, ...rest)) as Write
}

/** Install the filters on stdout and stderr for a command run with `argv`. */
export const prepareTerminalOutput = (argv: ReadonlyArray<string>, program = "scalpel"): void => {
  const help = argv.includes("--help") || argv.includes("-h")
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "EPIPE") process.exit(closedPipeStatus)
      throw error
    })
    const colour = colourAllowed(stream)
    if (!colour || help) filterWrites(stream, (text) => (help ? cleanHelp(colour ? text : text.replace(ansi, ""), program) : text.replace(ansi, "")))
  }
}
