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

/** Weighted sum on a small least-squares problem (8 rows, 16 weights), 3 steps; `changes` override any field. */
export const leastSquaresSpec = (changes: Readonly<Record<string, unknown>> = {}) => ({
  problem: { name: "least-squares", options: { examples: 8, dimensions: 16 } },
  structure: { kind: "prioritize", main: "fit", aux: "prior", lambda: 0.5 },
  method: { name: "weighted-sum" },
  optimizer: { kind: "sgd", learningRate: 0.01 },
  steps: 3,
  batchSize: 8,
  seed: 1,
  ...changes,
})
