/**
 * The cases of issue #23 where scalpel disagreed with TorchJD and LibMTL run on the same gradients
 * (Nash-MTL and FairGrad are in nashFairGrad.test.ts). References are float64 closed forms
 * computed here, not the rules' own code.
 */
import { Effect } from "effect"
import { afterEach, describe, expect, it } from "vitest"
import { useHostKernels } from "../../src/core/hostKernels.ts"
import { layoutOf } from "../../src/core/paramVector.ts"
import { tf } from "../../src/core/tf.ts"
import { objective } from "../../src/dsl/objective.ts"
import { sum } from "../../src/dsl/structure.ts"
import { alignedMtl } from "../../src/interpreters/alignedMtl.ts"
import { builtinInterpreters } from "../../src/interpreters/builtins.ts"
import { cagrad } from "../../src/interpreters/cagrad.ts"
import { config } from "../../src/interpreters/config.ts"
import { imtlg } from "../../src/interpreters/imtlg.ts"
import type { Interpreter } from "../../src/interpreters/interpreter.ts"
import { uncertaintyWeighting } from "../../src/interpreters/uncertaintyWeighting.ts"
import { useCpuBackend } from "../support/cpuBackend.ts"

useCpuBackend()
afterEach(() => useHostKernels(true))

const directionOf = (rule: Interpreter<any>, rows: ReadonlyArray<ReadonlyArray<number>>, options: unknown = {}): Array<number> => {
  const objectives = rows.map((_, i) => objective(`t${i}`, () => tf.scalar(0)))
  const lowered = Effect.runSync(Effect.flatMap(rule.decodeOptions(options), (o) => rule.lower(sum(...objectives), o, { seed: 1 })))
  const gradients = Object.fromEntries(rows.map((row, i) => [`t${i}`, tf.tensor1d([...row])]))
  const losses = Object.fromEntries(rows.map((_, i) => [`t${i}`, 1]))
  const [d] = lowered.step(gradients, lowered.init(layoutOf({ x: { shape: [rows[0]!.length] } })), losses)
  const out = Array.from(d.dataSync())
  tf.dispose([d, ...Object.values(gradients)])
  return out
}

const norm = (a: ReadonlyArray<number>) => Math.sqrt(a.reduce((s, x) => s + x * x, 0))
const expectClose = (got: ReadonlyArray<number>, want: ReadonlyArray<number>, relative: number) => {
  const scale = norm(want)
  got.forEach((x, i) => expect(Math.abs(x - want[i]!)).toBeLessThanOrEqual(relative * scale))
}

describe("ConFIG keeps a small task", () => {
  for (const r of [1e-8, 1e-10, 1e-12]) {
    it(`J = [[${r}, 0], [0, 1]]: d = ½(1 + ${r})·(1, 1), the equal projection on both unit directions (was (0, 1))`, () => {
      // ĝ = e₁, e₂; u = Ĵ⁺1 = (1, 1); d = (Σⱼ⟨gⱼ, û⟩)·û = ((r + 1)/√2)·(1, 1)/√2.
      const rows = [[Math.fround(r), 0], [0, 1]]
      expectClose(directionOf(config, rows), [(rows[0]![0]! + 1) / 2, (rows[0]![0]! + 1) / 2], 1e-6)
    })
  }
})

describe("a zero task on the tensor-op path (SCALPEL_HOST_KERNELS=0)", () => {
  // Two conflicting tasks beside a zero one: CAGrad's dual-cone step left the zero task's weight at
  // 6.6e58, harmless in float64 (·0 = 0) but ∞ in float32, and ∞·0 = NaN on the tensor path.
  const rows = [[0, 0], [0.43885051675800946, -0.7098203516898707], [-0.4216210658269626, 0.14150447216069034]]
  for (const name of ["cagrad", "mgda", "upgrad", "imtl-g", "dualproj", "aligned-mtl", "config", "nash-mtl", "fairgrad", "sdmgrad"]) {
    it(`${name}: the tensor path's direction is finite and equals the host path's`, () => {
      const rule = builtinInterpreters.get(name)!
      const host = directionOf(rule, rows)
      useHostKernels(false)
      const tensor = directionOf(rule, rows)
      useHostKernels(true)
      expect(tensor.every(Number.isFinite)).toBe(true)
      expectClose(tensor, host, 1e-6)
    })
  }
  it("CAGrad on 300 small random sets with a zero task: never NaN on the tensor path", () => {
    useHostKernels(false)
    for (let t = 0; t < 300; t++) {
      const k = 2 + (t % 4)
      const n = 1 + (t % 5)
      const set = Array.from({ length: k }, (_, i) => Array.from({ length: n }, (_, l) => (i === 0 ? 0 : 2 * Math.sin(t * 7 + i * 13 + l * 3))))
      expect(directionOf(cagrad, set).every(Number.isFinite)).toBe(true)
    }
  })
})

describe("Aligned-MTL keeps an exact small eigenvalue (as TorchJD)", () => {
  // Orthogonal tasks: B = √λ_min·VΛ^(−1/2)Vᵀ is diag(σ_min/σᵢ), so d = (σ_min/k)·Σ ĝᵢ. At n = 10⁶
  // the Gram's per-pair resolution is 4.8e-13, and a cut-off of k·ε·λ₁ dropped eigenvalues below
  // ~1e-12 of the largest (tasks below 1e-6 of the largest's norm), exact though they are.
  const n = 1_000_000
  const padded = (rows: ReadonlyArray<ReadonlyArray<number>>) => rows.map((r) => [...r, ...new Array<number>(n - r.length).fill(0)])
  for (const r of [1e-6, 3e-7, 1e-7]) {
    it(`n = 10⁶, norms 1 and ${r} (eigenvalue ratio ${(r * r).toExponential(0)}): d = (${r}/2)·(1, 1, 0, …), not (½, 0, …)`, () => {
      const rows = [[1, 0, 0], [0, Math.fround(r), 0]]
      const s = rows[1]![1]!
      expectClose(directionOf(alignedMtl, padded(rows)).slice(0, 3), [s / 2, s / 2, 0], 1e-5)
    })
  }
  it("n = 10⁶, three orthogonal tasks of norms 1, 1e-3, 1e-6: d = (1e-6/3)·(1, 1, 1, 0, …)", () => {
    const rows = [[1, 0, 0], [0, Math.fround(1e-3), 0], [0, 0, Math.fround(1e-6)]]
    const s = rows[2]![2]!
    expectClose(directionOf(alignedMtl, padded(rows)).slice(0, 3), [s / 3, s / 3, s / 3], 1e-5)
  })
  it("below the eigen-solver's backward error (k·u·λ₁, TorchJD's tolerance) the eigenvalue is dropped: norms 1 and 1e-8 give (½, 0)", () => {
    expectClose(directionOf(alignedMtl, [[1, 0], [0, Math.fround(1e-8)]]), [0.5, 0], 1e-6)
  })
  it("a rank-deficient set still drops its null direction: g₂ = 2g₁ gives d = Jᵀv₁v₁ᵀ(½, ½) = (1.5, 1.5)", () => {
    // Rank 1: B = √λ₁·v₁λ₁^(−1/2)v₁ᵀ = v₁v₁ᵀ, v₁ = (1, 2)/√5, so B·(½, ½) = 0.3·(1, 2).
    expectClose(directionOf(alignedMtl, [[1, 1], [2, 2]]), [1.5, 1.5], 1e-5)
  })
})

describe("IMTL-G on rank-1 sets (documented limit, the paper's and TorchJD's magnitude)", () => {
  it("g₁ = u, g₂ = −1.1·u, g₃ = 10·u: equal projections are unattainable and ‖d‖ = k/|Σᵢ sᵢ/‖gᵢ‖|, above Σ‖gᵢ‖", () => {
    // C = ssᵀ (s the signs), C⁺1 = s·(sᵀ1)/k², α ∝ sᵢ/‖gᵢ‖ divided by |Σ sᵢ/‖gᵢ‖|/k² ... so
    // d = Σαᵢgᵢ = u·k/|Σᵢ sᵢ/‖gᵢ‖| (closed form computed here).
    const rows = [[1, 0], [-1.1, 0], [10, 0]]
    const total = 1 / 1 - 1 / 1.1 + 1 / 10
    const d = directionOf(imtlg, rows)
    expectClose(d, [3 / Math.abs(total), 0], 1e-5)
    expect(norm(d)).toBeGreaterThan(1 + 1.1 + 10)
  })
})

describe("uncertainty weighting's start", () => {
  const rows = [[1, 2], [3, -1]]
  it("default s₀ = 0 (σ² = 1): d = ½Σgᵢ", () => expectClose(directionOf(uncertaintyWeighting, rows), [2, 0.5], 1e-6))
  it("initialLogVariance −0.5 (LibMTL's start): d = ½e^0.5·Σgᵢ", () => {
    const f = 0.5 * Math.exp(0.5)
    expectClose(directionOf(uncertaintyWeighting, rows, { initialLogVariance: -0.5 }), [4 * f, 1 * f], 1e-6)
  })
})
