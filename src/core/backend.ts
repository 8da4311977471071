/**
 * Tensor backend selection as an Effect service.
 *
 * Order of preference in `auto` mode, under Node: `node` (libtensorflow through
 * `@tensorflow/tfjs-node`, an optional dependency whose install needs internet access), then `wasm`
 * (ships its binary inside the npm package), then `cpu` (pure JavaScript, always there). In a
 * browser (or web worker): `webgpu` (when the application registered it by importing
 * `@tensorflow/tfjs-backend-webgpu`), then `webgl`, then `wasm`, then `cpu`.
 * `SCALPEL_BACKEND=node|wasm|cpu|webgl|webgpu` forces a choice (also in `selectBackend("auto")`);
 * a forced choice that cannot load fails with {@link BackendUnavailable} instead of silently
 * falling back.
 *
 * Nothing here prints: {@link describeBackend} is the one line a program may show (the command
 * line does, once per command). TensorFlow.js's own "looks like you are running TensorFlow.js in
 * Node.js" banner is suppressed when scalpel activates the cpu backend.
 *
 * In a browser, the `wasm` backend fetches its `.wasm` binaries at run time: serve the files of
 * `@tensorflow/tfjs-backend-wasm/dist/*.wasm` and say where with {@link BackendOptions.wasmPaths}
 * (by default they are looked up beside the page).
 */
import { Config, Context, Effect, Layer, Option } from "effect"
import { BackendUnavailable } from "./errors.ts"
import { installFastMatMul, parseFastMatMulSetting, uninstallFastMatMul } from "./fastMatMul.ts"
import {
  installPackedMatMul,
  type MatMulKernelChoice,
  matMulKernelChoices,
  parseMatMulKernelSetting,
  parseRelaxedSimdSetting,
  uninstallPackedMatMul,
} from "./packedMatMul.ts"
import { useHostKernels } from "./hostKernels.ts"
import { installFastGather } from "./fastGather.ts"
import { installFastSlice } from "./fastSlice.ts"
import { installFastGradients } from "./fastGradients.ts"
import { installFastSum } from "./fastSum.ts"
import { synchronousReadbackProblem } from "./readback.ts"
import { tf } from "./tf.ts"

/** The backends scalpel knows how to load. */
export const backendNames = ["node", "wasm", "cpu", "webgl", "webgpu"] as const
export type BackendName = (typeof backendNames)[number]
/** A request: one backend, or the first that loads. */
export type BackendChoice = BackendName | "auto"

/**
 * Whether this is a browser or a web worker (tfjs's `IS_BROWSER`), where `auto` tries the GPU
 * backends and never tfjs-node.
 */
export const inBrowser = (): boolean => tf.env().getBool("IS_BROWSER")

/** The order in which `auto` tries backends here. */
export const autoOrder = (): ReadonlyArray<BackendName> => (inBrowser() ? ["webgpu", "webgl", "wasm", "cpu"] : ["node", "wasm", "cpu"])

/** How to load a backend, beyond its name. */
export interface BackendOptions {
  /**
   * Where the `wasm` backend finds its binaries, for browsers: a folder URL ending in `/` that
   * holds `tfjs-backend-wasm.wasm`, `tfjs-backend-wasm-simd.wasm` and
   * `tfjs-backend-wasm-threaded-simd.wasm` (copy them from `@tensorflow/tfjs-backend-wasm/dist/`),
   * or a map from each of these names to its URL. Passed to the backend's `setWasmPaths` before it
   * starts; without it the files are fetched beside the page. Under Node the package's own files
   * are used and this is not needed.
   */
  readonly wasmPaths?: string | Readonly<Record<string, string>>
  /**
   * Which matrix products the `wasm` backend runs (default: `SCALPEL_MATMUL_KERNEL`, else
   * `packed`): `packed`, scalpel's register-blocked SIMD kernel (`packedMatMul.ts`); `transpose`,
   * tfjs's kernels behind explicit transposes (`fastMatMul.ts`, the path before the packed kernel);
   * `tfjs`, tfjs's kernels as they are. Other backends always keep tfjs's kernels, with the
   * `transpose` rule where it was measured to pay.
   */
  readonly matMulKernel?: MatMulKernelChoice
  /**
   * Run the packed kernel's relaxed-SIMD variant (`f32x4.relaxed_madd`, fused where the CPU has
   * FMA) when the engine validates it (Node ≥ 22, Chromium ≥ 114). Default: `SCALPEL_RELAXED_SIMD`
   * (`1` turns it on), else off. Its bits depend on the CPU; `matMulKernelVariant()` records which ran.
   */
  readonly relaxedSimd?: boolean
}

/** What the running process computes on. */
export interface BackendInfo {
  readonly name: BackendName
  /** Why this backend was chosen ("forced by SCALPEL_BACKEND", "auto: node unavailable ..."). */
  readonly reason: string
}

/** The active tensor backend; provided by {@link BackendLive} or {@link backendLayer}. */
export class Backend extends Context.Tag("scalpel/Backend")<Backend, BackendInfo>() {}

const remedies = (): Record<BackendName, string> => ({
  node: inBrowser()
    ? "tfjs-node runs under Node only; in a browser use webgl, wasm or cpu"
    : "Install it with `npm install @tensorflow/tfjs-node` on a machine that can download libtensorflow, or set SCALPEL_BACKEND=wasm",
  wasm: inBrowser()
    ? "Serve the .wasm files of @tensorflow/tfjs-backend-wasm/dist/ and pass their folder as `wasmPaths` (see the README), or use webgl or cpu"
    : "Reinstall dependencies with `npm install` (the package @tensorflow/tfjs-backend-wasm is required), or set SCALPEL_BACKEND=cpu",
  cpu: "The cpu backend ships with @tensorflow/tfjs; reinstall dependencies with `npm install`",
  webgl: inBrowser()
    ? "This browser gives no WebGL context (disabled, or no GPU and no software fallback); use wasm or cpu"
    : "WebGL exists in browsers only; under Node use node, wasm or cpu",
  webgpu: "Import \"@tensorflow/tfjs-backend-webgpu\" in your application (it registers the backend) and use a browser with WebGPU (navigator.gpu); else use webgl",
})

/** A backend computed or read back wrong values in {@link synchronousReadbackProblem}'s check. */
class ReadbackFailure extends Error {}

/** The first line of an error's message (tfjs also rejects with plain `{ message }` objects). */
const describeError = (error: unknown): string => {
  const message =
    error instanceof Error ? error.message : typeof error === "object" && error !== null && "message" in error ? String(error.message) : String(error)
  return message.split("\n")[0] ?? message
}

const packages: Record<BackendName, string> = {
  node: "@tensorflow/tfjs-node",
  wasm: "@tensorflow/tfjs-backend-wasm",
  cpu: "@tensorflow/tfjs",
  webgl: "@tensorflow/tfjs",
  webgpu: "@tensorflow/tfjs-backend-webgpu",
}

/** Why `name` did not load, briefly: "X is not installed" rather than a module-resolution error with paths. */
const describeFailure = (name: BackendName, error: unknown): string => {
  const code = typeof error === "object" && error !== null && "code" in error ? error.code : undefined
  const notFound =
    code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND" || /Cannot find (package|module)|Failed to resolve module|Could not resolve/.test(describeError(error))
  return notFound ? `${packages[name]} is not installed` : describeError(error)
}

const importers: Record<BackendName, (options: BackendOptions) => Promise<unknown>> = {
  // The package name is held in a variable so bundlers and the type checker do not require the
  // optional dependency to be present.
  node: () => {
    if (inBrowser()) return Promise.reject(new Error("not available in a browser"))
    const optionalPackage = "@tensorflow/tfjs-node"
    return import(optionalPackage)
  },
  wasm: async (options) => {
    const wasm = await import("@tensorflow/tfjs-backend-wasm")
    if (options.wasmPaths !== undefined) wasm.setWasmPaths(options.wasmPaths as string | Record<string, string>)
  },
  cpu: () => Promise.resolve(undefined),
  // Part of the @tensorflow/tfjs union package.
  webgl: () => Promise.resolve(undefined),
  // A separate package that scalpel does not depend on: the application imports it if it wants it.
  webgpu: () =>
    tf.findBackendFactory("webgpu") === null
      ? Promise.reject(new Error("not registered (import \"@tensorflow/tfjs-backend-webgpu\" first)"))
      : Promise.resolve(undefined),
}

const engineNames: Record<BackendName, string> = { node: "tensorflow", wasm: "wasm", cpu: "cpu", webgl: "webgl", webgpu: "webgpu" }

/**
 * Load and activate one backend, or fail with {@link BackendUnavailable}. Unless
 * `SCALPEL_FAST_MATMUL=0`, also installs scalpel's matrix products (on wasm the packed SIMD kernel
 * of `packedMatMul.ts`, see {@link BackendOptions.matMulKernel}; elsewhere, and on the threaded wasm
 * build, the explicit transposes of `fastMatMul.ts`) and the
 * fast contiguous slices of `fastSlice.ts`, the fast gathers of `fastGather.ts` and the fast leading-axis sums of `fastSum.ts` on it (idempotent, and no-ops on backends where the
 * measurements found nothing to gain), and registers the gradients of `Sum` and `Mean` of
 * `fastGradients.ts` (global, the same values as tfjs's, without a JavaScript array of ones per call). `SCALPEL_HOST_KERNELS=0` makes the rules use tfjs tensor
 * operations instead of the fused host sweeps (`hostKernels.ts`), as they do on tfjs-node.
 */
export const activateBackend = (name: BackendName, options: BackendOptions = {}): Effect.Effect<void, BackendUnavailable> =>
  // A JavaScript caller (or a cast) may pass any string: name the valid ones instead of failing on the lookup.
  !(backendNames as ReadonlyArray<string>).includes(name)
    ? Effect.fail(new BackendUnavailable({ backend: String(name), reason: "no backend has that name", remedy: `Use one of ${backendNames.join(", ")} or auto` }))
    : activateKnownBackend(name, options)

const activateKnownBackend = (name: BackendName, options: BackendOptions): Effect.Effect<void, BackendUnavailable> =>
  Effect.tryPromise({
    try: async () => {
      await importers[name](options)
      const ok = await tf.setBackend(engineNames[name])
      if (!ok) throw new Error(`tf.setBackend('${engineNames[name]}') returned false`)
      await tf.ready()
      if (name === "cpu") silenceFirstUseBanner()
      // scalpel reads losses and decisions synchronously at every step: refuse a backend whose
      // synchronous reads are wrong here (so that auto moves on) rather than train on zeros.
      const readback = synchronousReadbackProblem()
      if (readback !== undefined) throw new ReadbackFailure(readback)
    },
    catch: (error) =>
      error instanceof ReadbackFailure
        ? new BackendUnavailable({
            backend: name,
            reason: `its synchronous read-back (dataSync) returns wrong values here (${error.message}), and scalpel reads losses synchronously at every step`,
            remedy: name === "webgpu" ? "Use webgl (auto does); tfjs-backend-webgpu's synchronous read-back fails on some adapters, e.g. SwiftShader's software one" : "Use another backend (auto does)",
          })
        : new BackendUnavailable({ backend: name, reason: describeFailure(name, error), remedy: remedies()[name] }),
  }).pipe(
    Effect.zipLeft(
      switchSetting("SCALPEL_FAST_MATMUL").pipe(
        Effect.tap((enabled) =>
          enabled
            ? Effect.flatMap(productSettings(options), ({ kernel, relaxed }) =>
                Effect.sync(() => installProducts(engineNames[name], kernel, relaxed)),
              )
            : Effect.void,
        ),
        Effect.tap((enabled) =>
          enabled
            ? Effect.sync(() => {
                installFastSlice(engineNames[name])
                installFastGather(engineNames[name])
                installFastSum(engineNames[name])
                // Global (the gradient registry is not per backend), and the same values everywhere.
                installFastGradients()
              })
            : Effect.void,
        ),
      ),
    ),
    Effect.zipLeft(switchSetting("SCALPEL_HOST_KERNELS").pipe(Effect.tap((enabled) => Effect.sync(() => useHostKernels(enabled))))),
  )

/**
 * tfjs's cpu backend prints a banner ("Hi, looks like you are running TensorFlow.js in Node.js")
 * through `console.warn` the first time it stores a tensor, unless tfjs's `PROD` flag is set. Store
 * that first tensor here with the flag set for just this call, so that the banner is not printed
 * and every other tfjs warning still is. `selectBackend("cpu")` does it; call it yourself when you
 * create tensors on tfjs's default backend before selecting one (the test set-up does).
 */
export const silenceFirstUseBanner = (): void => {
  const environment = tf.env()
  const production = environment.getBool("PROD")
  environment.set("PROD", true)
  try {
    tf.scalar(0).dispose()
  } finally {
    environment.set("PROD", production)
  }
}

/** The product path and the relaxed-SIMD opt-in: the options, else the environment. */
const productSettings = (options: BackendOptions): Effect.Effect<{ readonly kernel: MatMulKernelChoice; readonly relaxed: boolean }, BackendUnavailable> =>
  Effect.gen(function* () {
    const rawKernel = Option.getOrUndefined(yield* Config.string("SCALPEL_MATMUL_KERNEL").pipe(Config.option, Effect.orElseSucceed(() => Option.none<string>())))
    const kernel = options.matMulKernel ?? parseMatMulKernelSetting(rawKernel)
    if (kernel === undefined || !(matMulKernelChoices as ReadonlyArray<string>).includes(kernel)) {
      return yield* Effect.fail(
        new BackendUnavailable({
          backend: "wasm",
          reason: `SCALPEL_MATMUL_KERNEL=${String(options.matMulKernel ?? rawKernel)} names no matrix-product path`,
          remedy: `Use one of ${matMulKernelChoices.join(", ")} (or leave it unset for packed)`,
        }),
      )
    }
    const rawRelaxed = Option.getOrUndefined(yield* Config.string("SCALPEL_RELAXED_SIMD").pipe(Config.option, Effect.orElseSucceed(() => Option.none<string>())))
    return { kernel, relaxed: options.relaxedSimd ?? parseRelaxedSimdSetting(rawRelaxed) }
  })

/**
 * Install one product path on `backend`, removing the other: the packed kernel on wasm (the
 * `transpose` rule stays for other backends, where it is a measured no-op or gain), or the
 * explicit-transpose wrapper, or nothing.
 */
const installProducts = (backend: string, kernel: MatMulKernelChoice, relaxed: boolean): void => {
  uninstallPackedMatMul(backend)
  uninstallFastMatMul(backend)
  if (kernel === "tfjs") return
  if (kernel === "packed" && installPackedMatMul({ backend, relaxed }).installed) return
  installFastMatMul({ backend })
}

/** An on/off environment setting, on unless set to 0, false, off or no. */
const switchSetting = (name: string): Effect.Effect<boolean> =>
  Config.string(name).pipe(
    Config.option,
    Effect.map((raw) => parseFastMatMulSetting(Option.getOrUndefined(raw))),
    Effect.orElseSucceed(() => true),
  )

/**
 * Activate `choice`. In `auto` mode, the backend `SCALPEL_BACKEND` names if it is set (a value that
 * names no backend is an error, not a silent fallback), else the first that loads in
 * {@link autoOrder} (node, wasm, cpu under Node).
 */
export const selectBackend = (choice: BackendChoice, options: BackendOptions = {}): Effect.Effect<BackendInfo, BackendUnavailable> =>
  choice === "auto"
    ? Effect.flatMap(backendFromEnvironment, (forced) =>
        forced === "auto"
          ? selectFirstAvailable(options)
          : Effect.as(activateBackend(forced, options), { name: forced, reason: "forced by SCALPEL_BACKEND" }),
      )
    : Effect.as(activateBackend(choice, options), { name: choice, reason: "chosen explicitly" })

/** `SCALPEL_BACKEND` (read through Effect's Config), or `auto` when unset. */
const backendFromEnvironment: Effect.Effect<BackendChoice, BackendUnavailable> = Effect.gen(function* () {
  const setting = yield* Config.string("SCALPEL_BACKEND").pipe(Config.withDefault("auto"), Effect.orElseSucceed(() => "auto"))
  // An empty value (`SCALPEL_BACKEND= node app.js`) means unset, as it does for most tools.
  const raw = setting.trim() === "" ? "auto" : setting.trim()
  const choice = parseBackendChoice(raw)
  if (Option.isNone(choice)) {
    return yield* new BackendUnavailable({
      backend: raw,
      reason: "SCALPEL_BACKEND names no known backend",
      remedy: `Use one of ${backendNames.join(", ")} or auto`,
    })
  }
  return choice.value
})

const selectFirstAvailable = (options: BackendOptions): Effect.Effect<BackendInfo, BackendUnavailable> => {
  const attempt = (remaining: ReadonlyArray<BackendName>, skipped: ReadonlyArray<string>): Effect.Effect<BackendInfo, BackendUnavailable> => {
    const [head, ...tail] = remaining
    if (head === undefined) {
      return Effect.fail(new BackendUnavailable({ backend: "auto", reason: skipped.join("; "), remedy: remedies().cpu }))
    }
    return activateBackend(head, options).pipe(
      Effect.as<BackendInfo>({
        name: head,
        reason: skipped.length === 0 ? "auto: first choice" : `auto: ${skipped.join("; ")}`,
      }),
      Effect.catchTag("BackendUnavailable", (e) =>
        attempt(tail, [...skipped, e.reason.endsWith("is not installed") ? e.reason : `${e.backend} unavailable (${e.reason})`]),
      ),
    )
  }
  return attempt(autoOrder(), [])
}

/**
 * {@link selectBackend} for code that does not use Effect: resolves to the backend's description,
 * rejects with {@link BackendUnavailable}. Call it before creating tensors (a model's weights
 * included), so that they start on the chosen backend and tfjs's cpu banner is never printed.
 */
export const selectBackendPromise = (choice: BackendChoice, options: BackendOptions = {}): Promise<BackendInfo> =>
  Effect.runPromise(Effect.either(selectBackend(choice, options))).then((result) => {
    if (result._tag === "Left") throw result.left
    return result.right
  })

/** A layer activating an explicit choice. */
export const backendLayer = (choice: BackendChoice, options: BackendOptions = {}): Layer.Layer<Backend, BackendUnavailable> =>
  Layer.effect(Backend, selectBackend(choice, options))

/**
 * The default layer: `SCALPEL_BACKEND` if set, else automatic (`selectBackend("auto")`). A value
 * that names no backend is an error, not a silent fallback.
 */
export const BackendLive: Layer.Layer<Backend, BackendUnavailable> = Layer.effect(Backend, selectBackend("auto"))

/**
 * One line saying which backend runs, why, and how to get a faster one where there is one, e.g.
 * "backend: wasm (auto: @tensorflow/tfjs-node is not installed; `npm install @tensorflow/tfjs-node` may be faster)".
 */
export const describeBackend = (info: BackendInfo): string => {
  const faster =
    info.name === "cpu"
      ? inBrowser()
        ? "; webgl or wasm is much faster"
        : `; \`npm install ${packages.wasm}\` is much faster`
      : info.name === "wasm" && !inBrowser()
        ? `; \`npm install ${packages.node}\` may be faster`
        : ""
  return `backend: ${info.name} (${info.reason}${faster})`
}

/** Parse a user-supplied backend name (flag or env), or `None` when it is not one we know. */
export const parseBackendChoice = (raw: string): Option.Option<BackendChoice> =>
  raw === "auto" || (backendNames as ReadonlyArray<string>).includes(raw) ? Option.some(raw as BackendChoice) : Option.none()
