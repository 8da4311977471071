import { createHash } from "node:crypto"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { sha256 } from "../../src/core/sha256.ts"

const reference = (bytes: Uint8Array): Uint8Array => new Uint8Array(createHash("sha256").update(bytes).digest())
const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex")

/** Any length up to 300, or one next to a padding boundary (55/56 and 63/64 bytes modulo 64). */
const boundaryLength = fc.oneof(fc.nat(300), fc.constantFrom(0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 121, 127, 128, 129))

describe("sha256", () => {
  it("gives the FIPS 180-4 example digests", () => {
    expect(hex(sha256(new Uint8Array(0)))).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    expect(hex(sha256(new TextEncoder().encode("abc")))).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    expect(hex(sha256(new TextEncoder().encode("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")))).toBe(
      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
    )
  })

  it("equals node:crypto's SHA-256 on every length class (padding in one or two blocks, subarray views)", () => {
    // Lengths around the 55/56 and 63/64 byte boundaries decide whether the padding spills into a
    // second block; a view at an odd offset checks that only the view's bytes are hashed.
    fc.assert(
      fc.property(boundaryLength.chain((n) => fc.uint8Array({ minLength: n, maxLength: n })), fc.nat(7), (bytes, offset) => {
        const padded = new Uint8Array(bytes.length + offset + 3).fill(0xa5)
        padded.set(bytes, offset)
        const view = padded.subarray(offset, offset + bytes.length)
        expect(hex(sha256(view))).toBe(hex(reference(bytes)))
      }),
      { numRuns: 400 },
    )
  })

  it("equals node:crypto's SHA-256 on a megabyte", () => {
    const bytes = new Uint8Array(1 << 20).map((_, i) => (i * 2654435761) >>> 24)
    expect(hex(sha256(bytes))).toBe(hex(reference(bytes)))
  })
})
