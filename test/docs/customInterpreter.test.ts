/**
 * The guide in docs/interpreters.md ("Writing and registering your own interpreter"), as a test:
 * this file holds the complete example, and the test checks that the guide quotes it verbatim.
 */
import { readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"
// --- guide: begin ---
import { Effect, Schema } from "effect"
import {
  builtinInterpreters,
  type Interpreter,
  levelGradient,
  lookup,
  lowerToLevels,
  objective,
  objectiveNames,
  optionsDecoder,
  prioritize,
  register,
  type Tensor1D,
  tf,
  type UpdateRule,
} from "scalpel"
import { checkInterpreter, nonConflicting } from "scalpel/testing"

/**
 * "Gated sum": add the lower level's gradient only when it does not conflict with the main one,
 * d = g_main + λ·g_aux·[⟨g_main, g_aux⟩ ≥ 0], and keep a count of the gated steps in the state.
 */
const GatedOptions = Schema.Struct({ strict: Schema.optionalWith(Schema.Boolean, { default: () => false }) })

type GatedState = { readonly t: number; readonly gated: number }

const gatedSum: Interpreter<typeof GatedOptions.Type> = {
  name: "gated-sum",
  description: "Add the auxiliary gradient only when it does not conflict with the main gradient.",
  decodeOptions: optionsDecoder("gated-sum", GatedOptions),
  lower: (structure) =>
    // lowerToLevels fails with a typed Unsupported (naming "gated-sum") for what it cannot lower.
    Effect.map(lowerToLevels("gated-sum", structure), (levels): UpdateRule<GatedState> => ({
      name: "gated-sum",
      objectives: objectiveNames(levels),
      init: () => ({ t: 0, gated: 0 }),
      step: (gradients, state) => {
        const main = levelGradient(levels[0]!, gradients)
        if (levels.length === 1) return [main, { t: state.t + 1, gated: state.gated }]
        const aux = levelGradient(levels[1]!, gradients)
        // The sign of ⟨main, aux⟩ on max-abs-scaled copies: for gradients of size 1e-30 the plain
        // product underflows to 0 in float32 and would hide a conflict (the kit's tiny cases catch it).
        // A zero vector gives NaN, which counts as "gate" (harmless: it adds nothing either way).
        const agree = tf.tidy(() => {
          const m = tf.div(main, tf.max(tf.abs(main)))
          const a = tf.div(aux, tf.max(tf.abs(aux)))
          return tf.sum(tf.mul(m, a)).dataSync()[0]! >= 0
        })
        const direction = agree ? (tf.add(main, tf.mul(aux, levels[1]!.lambda)) as Tensor1D) : tf.clone(main)
        tf.dispose([main, aux])
        return [direction, { t: state.t + 1, gated: state.gated + (agree ? 0 : 1) }]
      },
    })),
}

// Register it beside the built-ins; the registry is immutable, `register` returns a new one.
const registry = register(builtinInterpreters, gatedSum)
// --- guide: end ---

describe("guide: a custom interpreter", () => {
  it("is found by name, lowers a priority, and steps leak-free", async () => {
    const found = await Effect.runPromise(lookup(registry, "gated-sum"))
    const main = objective("main", (p) => tf.sum(tf.square(p.w!)))
    const aux = objective("aux", (p) => tf.sum(p.w!))
    const rule = await Effect.runPromise(Effect.flatMap(found.decodeOptions({}), (o) => found.lower(prioritize(main, aux, { lambda: 0.5 }), o, { seed: 0 })))
    const before = tf.memory().numTensors
    const g = { main: tf.tensor1d([1, 0]), aux: tf.tensor1d([-1, 1]) }
    const [d, state] = rule.step(g, rule.init({ entries: [], size: 2 }))
    expect(Array.from(d.dataSync())).toEqual([1, 0]) // conflicting: the auxiliary gradient is gated
    expect(state).toEqual({ t: 1, gated: 1 })
    tf.dispose([d, g.main, g.aux])
    expect(tf.memory().numTensors).toBe(before)
  })

  it("passes the kit's non-conflict property (checkInterpreter)", async () => {
    const report = await Effect.runPromise(checkInterpreter(gatedSum, { properties: [nonConflicting({ among: [0], weight: 2 })], numRuns: 50 }))
    expect(report.properties.map((p) => p.property)).toEqual(["non-conflict ⟨d, gᵢ⟩ ≥ 0"])
  })

  it("is quoted verbatim in docs/interpreters.md", () => {
    const source = readFileSync(new URL(import.meta.url), "utf8")
    const example = source.slice(source.indexOf("// --- guide: begin ---\n") + 24, source.indexOf("// --- guide: end ---")).trim()
    const docs = readFileSync(new URL("../../docs/interpreters.md", import.meta.url), "utf8")
    expect(docs).toContain(example)
  })
})
