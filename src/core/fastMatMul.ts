/**
 * Fast transposed matrix products: the backward pass of every dense layer.
 *
 * The gradient of C = A·B is dA = dC·Bᵀ and dB = Aᵀ·dC (tfjs-core's `BatchMatMul` gradient asks the
 * kernel for these with `transposeB` / `transposeA` set, and so does the custom gradient of
 * `tf.fused.matMul`, which tfjs-layers' `Dense` uses). On the wasm backend only the untransposed,
 * unbatched product reaches the fast XNNPACK path; a transpose flag falls back to a generic loop
 * that is 5 to 60 times slower (measured by `npm run bench -- matmul`, see docs/benchmarks.md),
 * while materialising the transpose costs a memory pass of a few milliseconds at most.
 *
 * So instead of re-registering a gradient (which would miss the fused path's custom gradient and
 * user code calling `matMul(a, b, true, false)` directly), scalpel wraps the *kernels* `BatchMatMul`
 * and `_FusedMatMul` of a backend: when the measured {@link RewriteRule} says so, a flagged operand
 * is transposed explicitly by the backend's own `Transpose` kernel and the original kernel runs
 * with the flag cleared. The mathematics is unchanged (op(A)·op(B) with op(X) = Xᵀ computed first);
 * only the order of float32 rounding inside the product may differ, within the usual bound
 * |ĉᵢⱼ − cᵢⱼ| ≤ γₖ·(|op(A)|·|op(B)|)ᵢⱼ, γₖ = k·2⁻²⁴/(1 − k·2⁻²⁴) (Higham, *Accuracy and Stability of
 * Numerical Algorithms*, 2nd ed., §3.5). Gradients therefore stay exactly tfjs's gradients.
 */
import { tf } from "./tf.ts"

/** The size and flags of one (possibly batched) product op(A)·op(B): [batch, m, k] · [batch, k, n]. */
export interface MatMulShape {
  /** Number of matrices in the batch, after broadcasting (1 for a plain 2-D product). */
  readonly batch: number
  /** Rows of the result. */
  readonly m: number
  /** Inner (summed) dimension. */
  readonly k: number
  /** Columns of the result. */
  readonly n: number
  readonly transposeA: boolean
  readonly transposeB: boolean
}

/** Decides, for a backend and a product with at least one transpose flag, whether to transpose explicitly. */
export type RewriteRule = (backend: string, shape: MatMulShape) => boolean

/**
 * Smallest m·k·n for which the wasm backend is rewritten. Below it both variants take a few
 * microseconds and the extra kernel call is not worth it; the probe (`npm run bench -- matmul`)
 * shows the rewrite winning from 32³ on (docs/benchmarks.md has the table).
 */
export const wasmRewriteMinimumWork = 32 * 32 * 32

/**
 * Transposing B (k·n entries) pays off only when the product has enough result rows m to reuse it:
 * with m = 10 the flagged kernel wins (0.6–0.9×, rows 10×256×1024 and 10×1024×256 of the probe),
 * so such products keep their flags. A transposed A pays off at every width measured, n = 10
 * included: the dense layer's dW = hᵀ·dy of a 10-class output, 1024×256×10, takes 6.6 ms flagged
 * and 1.3 ms transposed first (an earlier rule kept that flag, from a measurement that did not hold).
 */
export const wasmRewriteMinimumOtherSide = 16

/**
 * The rule measured on this project's reference machine (tfjs 4.22, wasm SIMD, 1 thread):
 * - wasm, one matrix (batch 1), at least 32³ multiply-adds (and, for a transposed B, at least 16
 *   result rows): transpose explicitly; the untransposed product is the XNNPACK fast path, the flagged one a
 *   generic loop (×5–×50 slower at 256–1024 sizes).
 * - wasm, batch > 1: keep the flags; the batched kernel has no fast path for either layout and the
 *   extra transpose only adds a memory pass.
 * - cpu: keep the flags; tfjs's JavaScript kernel is blocked for every layout and a transpose only
 *   adds time.
 * - any other backend (tfjs-node's TensorFlow, webgl, ...): keep the flags; their kernels handle
 *   transposes natively and we have no measurement saying otherwise.
 */
export const measuredRule: RewriteRule = (backend, shape) =>
  backend === "wasm" &&
  shape.batch === 1 &&
  shape.m * shape.k * shape.n >= wasmRewriteMinimumWork &&
  (!shape.transposeB || shape.m >= wasmRewriteMinimumOtherSide)

type KernelFunc = tf.KernelConfig["kernelFunc"]
type KernelArgs = Parameters<KernelFunc>[0]
type Info = tf.TensorInfo

const wrappedKernelNames = ["BatchMatMul", "_FusedMatMul"] as const

interface Installation {
  readonly originals: ReadonlyArray<tf.KernelConfig>
  readonly rule: RewriteRule
}

const installations = new Map<string, Installation>()
let rewrittenCalls = 0

const sizeOf = (dims: ReadonlyArray<number>): number => dims.reduce((a, b) => a * b, 1)

/** The [batch, m, k, n] of op(A)·op(B) from the operands' shapes and flags. */
export const matMulShapeOf = (
  aShape: ReadonlyArray<number>,
  bShape: ReadonlyArray<number>,
  transposeA: boolean,
  transposeB: boolean,
): MatMulShape => {
  const ra = aShape.length
  const rb = bShape.length
  return {
    batch: Math.max(sizeOf(aShape.slice(0, -2)), sizeOf(bShape.slice(0, -2))),
    m: transposeA ? aShape[ra - 1]! : aShape[ra - 2]!,
    k: transposeA ? aShape[ra - 2]! : aShape[ra - 1]!,
    n: transposeB ? bShape[rb - 2]! : bShape[rb - 1]!,
    transposeA,
    transposeB,
  }
}

/** Swap the last two axes of `x` with the backend's own Transpose kernel (no engine bookkeeping). */
const transposeLastTwo = (transpose: KernelFunc, x: Info, args: KernelArgs): Info => {
  const rank = x.shape.length
  const perm = [...Array.from({ length: rank - 2 }, (_, i) => i), rank - 1, rank - 2]
  return transpose({ inputs: { x }, attrs: { perm }, backend: args.backend }) as Info
}

const wrapKernel = (original: tf.KernelConfig, rule: RewriteRule): tf.KernelConfig => {
  const backendName = original.backendName
  const kernelFunc: KernelFunc = (args) => {
    const { a, b } = args.inputs as { a?: Info; b?: Info }
    const transposeA = args.attrs?.["transposeA"] === true
    const transposeB = args.attrs?.["transposeB"] === true
    if (a === undefined || b === undefined || (!transposeA && !transposeB) || a.dtype !== "float32" || b.dtype !== "float32") {
      return original.kernelFunc(args)
    }
    if (a.shape.length < 2 || b.shape.length < 2 || !rule(backendName, matMulShapeOf(a.shape, b.shape, transposeA, transposeB))) {
      return original.kernelFunc(args)
    }
    const transpose = tf.getKernel("Transpose", backendName)?.kernelFunc
    if (transpose === undefined) return original.kernelFunc(args)
    const aPlain = transposeA ? transposeLastTwo(transpose, a, args) : a
    const bPlain = transposeB ? transposeLastTwo(transpose, b, args) : b
    try {
      rewrittenCalls += 1
      return original.kernelFunc({
        ...args,
        inputs: { ...args.inputs, a: aPlain, b: bPlain },
        attrs: { ...args.attrs, transposeA: false, transposeB: false },
      })
    } finally {
      // The explicit transposes are intermediates of this kernel call: the engine never sees them.
      const owner = args.backend as tf.KernelBackend
      if (aPlain !== a) owner.disposeData(aPlain.dataId)
      if (bPlain !== b) owner.disposeData(bPlain.dataId)
    }
  }
  return { ...original, kernelFunc }
}

/** What {@link installFastMatMul} did. */
export interface FastMatMulStatus {
  readonly backend: string
  /** True when the kernels of `backend` are wrapped (now or by an earlier call). */
  readonly installed: boolean
  /** The kernels wrapped, e.g. ["BatchMatMul", "_FusedMatMul"]. */
  readonly kernels: ReadonlyArray<string>
}

/**
 * Wrap the matrix-product kernels of `backend` (default: the active one) so that transposed
 * products follow `rule` (default {@link measuredRule}). Idempotent: a second call for the same
 * backend keeps the first installation (call {@link uninstallFastMatMul} first to change the rule).
 * Installing on a backend whose rule never fires is harmless: every call goes to the original.
 */
export const installFastMatMul = (options: { readonly backend?: string; readonly rule?: RewriteRule } = {}): FastMatMulStatus => {
  const backend = options.backend ?? tf.getBackend()
  const existing = installations.get(backend)
  if (existing !== undefined) {
    return { backend, installed: true, kernels: existing.originals.map((k) => k.kernelName) }
  }
  const rule = options.rule ?? measuredRule
  const originals: Array<tf.KernelConfig> = []
  for (const name of wrappedKernelNames) {
    const original = tf.getKernel(name, backend)
    if (original === undefined) continue
    // Unregister first: registering over an existing kernel works but prints a warning.
    tf.unregisterKernel(name, backend)
    tf.registerKernel(wrapKernel(original, rule))
    originals.push(original)
  }
  if (originals.length > 0) installations.set(backend, { originals, rule })
  return { backend, installed: originals.length > 0, kernels: originals.map((k) => k.kernelName) }
}

/** Restore the original kernels of `backend` (default: every backend installed on). */
export const uninstallFastMatMul = (backend?: string): void => {
  for (const [name, installation] of [...installations]) {
    if (backend !== undefined && name !== backend) continue
    for (const original of installation.originals) {
      tf.unregisterKernel(original.kernelName, name)
      tf.registerKernel(original)
    }
    installations.delete(name)
  }
}

/** True when the kernels of `backend` (default: the active one) are wrapped. */
export const isFastMatMulInstalled = (backend: string = tf.getBackend()): boolean => installations.has(backend)

/**
 * How many kernel calls were rewritten to an explicit transpose since the process started: lets
 * tests and benchmarks check that the fast path actually ran.
 */
export const rewrittenMatMulCount = (): number => rewrittenCalls

/**
 * Whether scalpel should install the fast path when it activates a backend: on unless the
 * environment variable `SCALPEL_FAST_MATMUL` is `0`, `false` or `off` (for comparisons).
 */
export const parseFastMatMulSetting = (raw: string | undefined): boolean =>
  raw === undefined || !["0", "false", "off", "no"].includes(raw.trim().toLowerCase())
