/**
 * Small JSON spec documents the CLI tests share: written to a file and run through the command
 * line, they train in a few seconds.
 */

/** Bloop on Iris with the weight-norm prior (a hidden layer of 8); `changes` override any field. */
export const irisSpec = (changes: Readonly<Record<string, unknown>> = {}) => ({
  problem: { name: "iris-weight-norm", options: { hidden: 8 } },
  structure: { kind: "prioritize", main: "cross-entropy", aux: "weight-norm", lambda: 0.1 },
  method: { name: "bloop" },
  optimizer: { kind: "adam", learningRate: 0.01 },
  steps: 12,
  batchSize: 16,
  seed: 3,
  ...changes,
})
