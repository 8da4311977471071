/**
 * The authors' smooth-MNIST problem: LeCun-normal kernels of variance 1/fanIn, the auxiliary loss
 * log Π‖W‖₂² equal to the exact spectral norms' (cyclic Jacobi) within the stated power-iteration
 * bound, its gradient 2·u vᵀ/σ per kernel, and the warm start making later evaluations cheap.
 */
import { describe, expect, it } from "vitest"
import { spectralNormEstimate } from "../../src/core/spectralNorm.ts"
import { tf } from "../../src/core/tf.ts"
import { mnistAuthorsProblem } from "../../src/problems/mnistAuthors.ts"
import { createVariables } from "../../src/training/parameters.ts"
import { useCpuBackend } from "../support/cpuBackend.ts"
import { exactSpectralNorm } from "../support/exactSpectralNorm.ts"

useCpuBackend()

describe("mnist-authors problem", () => {
  it("LeCun-normal kernels (variance 1/fanIn, nothing beyond 2σ), zero biases; log Π‖W‖₂² as the exact norms'", () => {
    const problem = mnistAuthorsProblem({ trainSize: 256, testSize: 128 })
    try {
      const variables = createVariables(problem.parameters, 3)
      const kernel = Array.from(variables["net.0.kernel"]!.dataSync())
      const variance = kernel.reduce((s, x) => s + x * x, 0) / kernel.length
      expect(variance * 784).toBeGreaterThan(0.97)
      expect(variance * 784).toBeLessThan(1.03)
      expect(kernel.reduce((m, x) => Math.max(m, Math.abs(x)), 0) * Math.sqrt(784) * 0.87962566103423978).toBeLessThanOrEqual(2 + 1e-5)
      expect(variables["net.2.bias"]!.dataSync().every((x) => x === 0)).toBe(true)
      const lipschitz = problem.objectives["lipschitz"]!
      const value = tf.tidy(() => (lipschitz.loss(variables, undefined) as tf.Scalar).dataSync()[0]!)
      const exact = [["net.0.kernel", 784, 256], ["net.1.kernel", 256, 128], ["net.2.kernel", 128, 10]].reduce(
        (s, [name, rows, columns]) => s + 2 * Math.log(exactSpectralNorm(variables[name as string]!.dataSync(), rows as number, columns as number)),
        0,
      )
      // Each σ is within 1e-6/√2 relative of σ_max (the stop), so each 2·log σ within ~1.5e-6, plus float32.
      expect(Math.abs(value - exact)).toBeLessThan(3 * 1.5e-6 + 1e-5)
      tf.dispose(Object.values(variables))
    } finally {
      problem.dispose()
    }
  })

  it("the gradient of the auxiliary loss is 2·u vᵀ/σ per kernel", () => {
    const problem = mnistAuthorsProblem({ trainSize: 256, testSize: 128, hidden: [32, 16] })
    try {
      const variables = createVariables(problem.parameters, 5)
      const lipschitz = problem.objectives["lipschitz"]!
      const gradient = tf.grad((x: tf.Tensor) => lipschitz.loss({ ...variables, "net.1.kernel": x }, undefined) as tf.Scalar)(variables["net.1.kernel"]!)
      const g = gradient.dataSync()
      const w = variables["net.1.kernel"]!.dataSync()
      const estimate = spectralNormEstimate(w, 32, 16, undefined, { tolerance: 1e-10, maxIterations: 20_000 })
      const expected = Float64Array.from({ length: 32 * 16 }, (_, i) => (2 * estimate.u[Math.floor(i / 16)]! * estimate.v[i % 16]!) / estimate.sigma)
      const error = Math.sqrt(expected.reduce((s, x, i) => s + (x - g[i]!) ** 2, 0) / expected.reduce((s, x) => s + x * x, 0))
      expect(error).toBeLessThan(1e-3)
      tf.dispose(gradient)
      tf.dispose(Object.values(variables))
    } finally {
      problem.dispose()
    }
  })
})
