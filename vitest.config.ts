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
    setupFiles: ["test/support/fastCheckSeed.ts", "test/support/quietTfjs.ts"],
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
})
