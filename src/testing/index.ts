/**
 * `scalpel/testing`: property-testing kit for gradient surgery. Arbitraries of plain float32
 * vectors, float64 reference formulas, invariants with tolerances derived from float32 rounding,
 * and {@link checkInterpreter} to run them on any interpreter. See docs/testing.md.
 */
export * from "./arbitraries.ts"
export * from "./checkInterpreter.ts"
export * from "./invariants.ts"
export * as reference from "./reference.ts"
export * from "./tensorFunctions.ts"
export * from "./tolerance.ts"
export * from "./guarantees.ts"
export * from "./matrices.ts"
export * from "./propertyTable.ts"
