import { createHash } from "node:crypto"
import { Either } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { type CheckpointContents, decodeCheckpoint, encodeCheckpoint, HostTensor } from "../../src/training/checkpointFormat.ts"

/** A small but complete checkpoint: parameters, a nested rule state with every kind of leaf, optimizer slots. */
const contents: CheckpointContents = {
  step: 7,
  run: { rule: "bloop", seed: 3, optimizer: { kind: "adam", learningRate: 0.01 } },
  matMulKernel: "relaxed-fma",
  dataRng: 4_000_000_123,
  skippedSteps: 1,
  parameters: {
    b: new HostTensor("float32", [3], Float32Array.of(1.5, -0, 3e-42)),
    w: new HostTensor("float32", [2, 2], Float32Array.of(0.1, -2, Number.MAX_VALUE, 1e-7)),
  },
  ruleState: {
    t: 7,
    rng: 123456789,
    emas: [new HostTensor("float32", [7], Float32Array.of(1, 2, 3, 4, 5, 6, 7)), new HostTensor("int32", [2], Int32Array.of(-1, 2 ** 31 - 1))],
    flags: { on: true, label: "x", weird: Number.NaN, far: Number.NEGATIVE_INFINITY },
  },
  optimizer: { t: 7, slots: { m: new HostTensor("float32", [7], new Float32Array(7).fill(0.25)) } },
}
const valid = encodeCheckpoint(contents)

const sha256 = (bytes: Uint8Array) => new Uint8Array(createHash("sha256").update(bytes).digest())
/** Recompute the checksum, as a buggy writer would: only the structural checks then stand. */
const reseal = (bytes: Uint8Array): Uint8Array => {
  if (bytes.length < 32) return bytes
  const out = bytes.slice()
  out.set(sha256(out.subarray(0, out.length - 32)), out.length - 32)
  return out
}

const mutations = fc.record({
  flips: fc.array(fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }), { maxLength: 6 }),
  cut: fc.option(fc.nat(), { nil: undefined }),
})
const mutate = (bytes: Uint8Array, m: { flips: ReadonlyArray<{ at: number; value: number }>; cut: number | undefined }) => {
  const out = bytes.slice()
  for (const { at, value } of m.flips) out[at % out.length] = value
  return m.cut === undefined ? out : out.subarray(0, m.cut % (out.length + 1))
}
const sameBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i])

describe("checkpoint format", () => {
  it("round trip: decoding an encoded checkpoint gives the same values, bit for bit (incl. -0, subnormals, NaN and ±∞ numbers)", () => {
    const decoded = Either.getOrThrow(decodeCheckpoint(valid))
    expect(sameBytes(encodeCheckpoint(decoded), valid)).toBe(true)
    expect(Object.is(decoded.parameters.b!.values[1], -0)).toBe(true)
    expect(decoded.parameters.b!.values[2]).toBe(Math.fround(3e-42))
    const flags = (decoded.ruleState as { flags: { weird: number; far: number } }).flags
    expect(Number.isNaN(flags.weird)).toBe(true)
    expect(flags.far).toBe(Number.NEGATIVE_INFINITY)
    expect(decoded.dataRng).toBe(4_000_000_123)
    expect(decoded.matMulKernel).toBe("relaxed-fma")
    const { matMulKernel: _, ...older } = contents
    expect(Either.getOrThrow(decodeCheckpoint(encodeCheckpoint(older))).matMulKernel).toBeUndefined()
  })

  it("hostile input: any byte mutation or truncation gives a CheckpointError naming the problem, or loads the identical checkpoint", () => {
    fc.assert(
      fc.property(mutations, (m) => {
        const bytes = mutate(valid, m)
        const result = decodeCheckpoint(bytes, "hostile.ckpt")
        if (Either.isRight(result)) {
          // Only an unchanged file may load (the checksum covers every other byte).
          expect(sameBytes(bytes, valid)).toBe(true)
          expect(sameBytes(encodeCheckpoint(result.right), valid)).toBe(true)
        } else {
          expect(result.left._tag).toBe("CheckpointError")
          expect(result.left.problem).not.toMatch(/^unreadable/)
          expect(result.left.message).toContain("hostile.ckpt")
        }
      }),
      { numRuns: 2000 },
    )
  })

  it("hostile input with a valid checksum: structural checks alone still give a CheckpointError or a well-formed checkpoint, never an exception", () => {
    fc.assert(
      fc.property(mutations, (m) => {
        const result = decodeCheckpoint(reseal(mutate(valid, m)))
        if (Either.isLeft(result)) {
          expect(result.left.problem).not.toMatch(/^unreadable/)
          return
        }
        // A load is well formed: every tensor holds as many values as its shape says.
        const tensors: Array<HostTensor> = [...Object.values(result.right.parameters), ...Object.values(result.right.optimizer.slots)]
        for (const t of tensors) expect(t.values.length).toBe(t.shape.reduce((a, b) => a * b, 1))
      }),
      { numRuns: 2000 },
    )
  })

  it("hostile header: resealed files whose header JSON is replaced by arbitrary JSON are refused with a path into the header", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (json) => {
        const header = new TextEncoder().encode(JSON.stringify(json))
        const bytes = new Uint8Array(24 + header.length + 32)
        bytes.set(valid.subarray(0, 12), 0)
        const view = new DataView(bytes.buffer)
        view.setUint32(12, header.length, true)
        view.setBigUint64(16, 0n, true)
        bytes.set(header, 24)
        const result = decodeCheckpoint(reseal(bytes))
        expect(Either.isLeft(result)).toBe(true)
        if (Either.isLeft(result)) expect(result.left.problem).toMatch(/^header/)
      }),
      { numRuns: 500 },
    )
  })
})
