/**
 * SHA-256 (FIPS 180-4, §6.2) in plain JavaScript, synchronous, for checkpoint checksums.
 *
 * Why not `node:crypto`: the library entry must run in browsers, where the only built-in digest
 * (`crypto.subtle.digest`) is asynchronous, and checkpoint encoding and decoding are synchronous
 * pure functions. Checkpoints are at most a few hundred megabytes and written every many steps, so
 * a scalar implementation (about 100–200 MB/s here) is fast enough; `test/core/sha256.test.ts`
 * checks it against `node:crypto` on random inputs of every length class.
 */

/** §4.2.2: the first 32 bits of the fractional parts of the cube roots of the first 64 primes. */
const roundConstants = Uint32Array.of(
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
)

/** §5.3.3: the first 32 bits of the fractional parts of the square roots of the first 8 primes. */
const initialHash = Uint32Array.of(0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19)

const rotr = (x: number, n: number): number => (x >>> n) | (x << (32 - n))

/** The SHA-256 digest (32 bytes) of `bytes`. */
export const sha256 = (bytes: Uint8Array): Uint8Array => {
  // §5.1.1 padding: a 1 bit, zeros, then the message length in bits as a 64-bit big-endian number,
  // to a multiple of 64 bytes. Only the last one or two blocks differ from the message itself.
  const length = bytes.length
  const fullBlocks = Math.floor(length / 64)
  const tailLength = length - 64 * fullBlocks
  const tail = new Uint8Array(tailLength < 56 ? 64 : 128)
  tail.set(bytes.subarray(64 * fullBlocks))
  tail[tailLength] = 0x80
  const tailView = new DataView(tail.buffer)
  const bitLength = length * 8
  tailView.setUint32(tail.length - 8, Math.floor(bitLength / 2 ** 32))
  tailView.setUint32(tail.length - 4, bitLength >>> 0)

  const hash = initialHash.slice()
  const schedule = new Uint32Array(64)
  const compress = (view: DataView, offset: number): void => {
    // §6.2.2: message schedule, then 64 rounds, then add into the running hash.
    for (let t = 0; t < 16; t++) schedule[t] = view.getUint32(offset + 4 * t)
    for (let t = 16; t < 64; t++) {
      const w15 = schedule[t - 15]!
      const w2 = schedule[t - 2]!
      const sigma0 = rotr(w15, 7) ^ rotr(w15, 18) ^ (w15 >>> 3)
      const sigma1 = rotr(w2, 17) ^ rotr(w2, 19) ^ (w2 >>> 10)
      schedule[t] = (sigma1 + schedule[t - 7]! + sigma0 + schedule[t - 16]!) >>> 0
    }
    let a = hash[0]!, b = hash[1]!, c = hash[2]!, d = hash[3]!, e = hash[4]!, f = hash[5]!, g = hash[6]!, h = hash[7]!
    for (let t = 0; t < 64; t++) {
      const bigSigma1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)
      const choose = (e & f) ^ (~e & g)
      const t1 = (h + bigSigma1 + choose + roundConstants[t]! + schedule[t]!) >>> 0
      const bigSigma0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)
      const majority = (a & b) ^ (a & c) ^ (b & c)
      const t2 = (bigSigma0 + majority) >>> 0
      h = g
      g = f
      f = e
      e = (d + t1) >>> 0
      d = c
      c = b
      b = a
      a = (t1 + t2) >>> 0
    }
    hash[0] = (hash[0]! + a) >>> 0
    hash[1] = (hash[1]! + b) >>> 0
    hash[2] = (hash[2]! + c) >>> 0
    hash[3] = (hash[3]! + d) >>> 0
    hash[4] = (hash[4]! + e) >>> 0
    hash[5] = (hash[5]! + f) >>> 0
    hash[6] = (hash[6]! + g) >>> 0
    hash[7] = (hash[7]! + h) >>> 0
  }

  const messageView = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  for (let block = 0; block < fullBlocks; block++) compress(messageView, 64 * block)
  for (let offset = 0; offset < tail.length; offset += 64) compress(tailView, offset)

  const digest = new Uint8Array(32)
  const digestView = new DataView(digest.buffer)
  for (let i = 0; i < 8; i++) digestView.setUint32(4 * i, hash[i]!)
  return digest
}
