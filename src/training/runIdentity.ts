/**
 * What a run is, for checkpoints: its identity (a checkpoint of another rule, optimizer, seed,
 * batch size or parameter layout is refused) and the declaration recorded when the caller gives
 * none.
 */
import type { Layout } from "../core/paramVector.ts"
import type { Spec } from "../dsl/spec.ts"
import type { Structure } from "../dsl/structure.ts"
import type { UpdateRule } from "../interpreters/interpreter.ts"

/** A JSON description of a structure: objective names with every weight, λ and bound. */
const describeStructure = (s: Structure): unknown => {
  switch (s._tag) {
    case "Objective":
      return { objective: s.name, ...(s.data === undefined ? {} : { examples: s.data.size }) }
    case "Weighted":
      return { weighted: describeStructure(s.of), weight: s.weight }
    case "Sum":
      return { sum: s.terms.map(describeStructure) }
    case "Hierarchy":
      return { hierarchy: s.levels.map((l) => ({ of: describeStructure(l.of), lambda: l.lambda })) }
    case "Constrained":
      return { constrain: describeStructure(s.of), atMost: s.atMost }
  }
}

/**
 * The declaration recorded in checkpoints when the caller gives none (see
 * `TrainingOptions.declaration`): everything of the spec but its step count, and the rule's name.
 */
export const derivedDeclaration = (spec: Spec, rule: UpdateRule<any>, layout: Layout): unknown => ({
  ...runIdentity(spec, rule, layout),
  structure: describeStructure(spec.structure),
})

/**
 * What identifies a run for resumption: a checkpoint written by another rule, optimizer, seed,
 * batch size or parameter layout is refused with the first difference named.
 */
export const runIdentity = (spec: Spec, rule: UpdateRule<any>, layout: Layout): Readonly<Record<string, unknown>> => ({
  rule: rule.name,
  objectives: [...rule.objectives],
  parameters: layout.entries.map((e) => ({ name: e.name, shape: [...e.shape] })),
  optimizer: spec.optimizer,
  seed: spec.seed,
  batchSize: spec.batchSize,
  nonFinite: spec.nonFinite,
  // Only when set, so that checkpoints written before epochs existed still resume.
  ...(spec.sampling === undefined || spec.sampling === "replacement" ? {} : { sampling: spec.sampling }),
})

