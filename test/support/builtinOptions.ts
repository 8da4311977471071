/** Options under which every built-in interpreter decodes (see src/interpreters/builtinExamples.ts). */
export { exampleOptionsFor as builtinOptionsFor } from "../../src/interpreters/builtinExamples.ts"

/** The interpreter a lowering failure names: a chain passes on its rule's (Bloop's). */
export const lowersAs = (name: string): string => (name === "chain" ? "bloop" : name)
