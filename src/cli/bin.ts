#!/usr/bin/env node
/**
 * The `scalpel` command's launcher. The command-line packages are optional peer dependencies of
 * scalpel (a library user does not install them, nor their native install scripts): when one is
 * missing, say in one line what to install instead of failing on an import with a stack trace.
 */
export const commandLinePackages = ["@effect/cli", "@effect/platform", "@effect/platform-node", "@effect/printer", "@effect/printer-ansi"] as const

const installed = (name: string): boolean => {
  try {
    import.meta.resolve(name)
    return true
  } catch {
    return false
  }
}

const missing = commandLinePackages.filter((name) => !installed(name))
if (missing.length > 0) {
  process.stderr.write(`error: the scalpel command needs ${missing.join(", ")} (optional dependencies of the library): npm install ${commandLinePackages.join(" ")}\n`)
  process.exitCode = 1
} else {
  await import("./main.ts")
}
