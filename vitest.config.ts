import { availableParallelism } from "node:os"
import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"

const source = fileURLToPath(new URL("./src/", import.meta.url))

export default defineConfig({
  // The package's entry points resolve to the sources, as tsconfig.json's `paths` do for tsc and tsx
  // (package.json's exports map points at dist/, which the tests must not need).
  resolve: {
    alias: [
      { find: /^scalpel$/, replacement: `${source}index.ts` },
      { find: /^scalpel\/(testing|experiments|node|internals)$/, replacement: `${source}$1/index.ts` },
    ],
  },
  test: {
    include: ["test/**/*.test.ts"],
    // TensorFlow.js keeps one global engine per process: run each test file in its own fork so
    // that backends and memory counters do not leak between files.
    pool: "forks",
    // Two files at a time even on two cores (vitest's default is cores − 1, so one file at a time
    // there): many files spend most of their time waiting on child processes (the command line,
    // worker processes, Redis, Chromium, tsc), during which the second core would stay idle. Each
    // file still has its own process (forks, isolated), so this changes no test's environment.
    // VITEST_MAX_FORKS overrides it (vitest reads it after this file).
    poolOptions: { forks: { maxForks: Math.max(2, availableParallelism() - 1) } },
    setupFiles: ["test/support/fastCheckSeed.ts", "test/support/quietTfjs.ts"],
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
})
