/**
 * Tensor backend selection as an Effect service.
 *
 * Order of preference in `auto` mode: `node` (libtensorflow through `@tensorflow/tfjs-node`, an
 * optional dependency whose install needs internet access), then `wasm` (ships its binary inside
 * the npm package), then `cpu` (pure JavaScript, always there). `SCALPEL_BACKEND=node|wasm|cpu`
 * forces a choice; a forced choice that cannot load fails with {@link BackendUnavailable} instead
 * of silently falling back.
 */
import { Config, Context, Effect, Layer, Option } from "effect"
import { BackendUnavailable } from "./errors.ts"
import { installFastMatMul, parseFastMatMulSetting } from "./fastMatMul.ts"
import { useHostKernels } from "./hostKernels.ts"
import { installFastSlice } from "./fastSlice.ts"
import { tf } from "./tf.ts"

/** The backends scalpel knows how to load. */
export const backendNames = ["node", "wasm", "cpu"] as const
export type BackendName = (typeof backendNames)[number]
/** A request: one backend, or the first that loads. */
export type BackendChoice = BackendName | "auto"

/** What the running process computes on. */
export interface BackendInfo {
  readonly name: BackendName
  /** Why this backend was chosen ("forced by SCALPEL_BACKEND", "auto: node unavailable ..."). */
  readonly reason: string
}

/** The active tensor backend; provided by {@link BackendLive} or {@link backendLayer}. */
export class Backend extends Context.Tag("scalpel/Backend")<Backend, BackendInfo>() {}

const remedies: Record<BackendName, string> = {
  node: "Install it with `npm install @tensorflow/tfjs-node` on a machine that can download libtensorflow, or set SCALPEL_BACKEND=wasm",
  wasm: "Reinstall dependencies with `npm install` (the package @tensorflow/tfjs-backend-wasm is required), or set SCALPEL_BACKEND=cpu",
  cpu: "The cpu backend ships with @tensorflow/tfjs; reinstall dependencies with `npm install`",
}

const describeError = (error: unknown): string =>
  error instanceof Error ? error.message.split("\n")[0] ?? String(error) : String(error)

const importers: Record<BackendName, () => Promise<unknown>> = {
  // The package name is held in a variable so bundlers and the type checker do not require the
  // optional dependency to be present.
  node: () => {
    const optionalPackage = "@tensorflow/tfjs-node"
    return import(optionalPackage)
  },
  wasm: () => import("@tensorflow/tfjs-backend-wasm"),
  cpu: () => Promise.resolve(undefined),
}

const engineNames: Record<BackendName, string> = { node: "tensorflow", wasm: "wasm", cpu: "cpu" }

/**
 * Load and activate one backend, or fail with {@link BackendUnavailable}. Unless
 * `SCALPEL_FAST_MATMUL=0`, also installs the fast transposed products of `fastMatMul.ts` and the
 * fast contiguous slices of `fastSlice.ts` on it (idempotent, and no-ops on backends where the
 * measurements found nothing to gain). `SCALPEL_HOST_KERNELS=0` makes the rules use tfjs tensor
 * operations instead of the fused host sweeps (`hostKernels.ts`), as they do on tfjs-node.
 */
export const activateBackend = (name: BackendName): Effect.Effect<void, BackendUnavailable> =>
  Effect.tryPromise({
    try: async () => {
      await importers[name]()
      const ok = await tf.setBackend(engineNames[name])
      if (!ok) throw new Error(`tf.setBackend('${engineNames[name]}') returned false`)
      await tf.ready()
    },
    catch: (error) => new BackendUnavailable({ backend: name, reason: describeError(error), remedy: remedies[name] }),
  }).pipe(
    Effect.zipLeft(
      switchSetting("SCALPEL_FAST_MATMUL").pipe(
        Effect.tap((enabled) =>
          enabled
            ? Effect.sync(() => {
                installFastMatMul({ backend: engineNames[name] })
                installFastSlice(engineNames[name])
              })
            : Effect.void,
        ),
      ),
    ),
    Effect.zipLeft(switchSetting("SCALPEL_HOST_KERNELS").pipe(Effect.tap((enabled) => Effect.sync(() => useHostKernels(enabled))))),
  )

/** An on/off environment setting, on unless set to 0, false, off or no. */
const switchSetting = (name: string): Effect.Effect<boolean> =>
  Config.string(name).pipe(
    Config.option,
    Effect.map((raw) => parseFastMatMulSetting(Option.getOrUndefined(raw))),
    Effect.orElseSucceed(() => true),
  )

/** Activate `choice`; in `auto` mode, the first of node, wasm, cpu that loads. */
export const selectBackend = (choice: BackendChoice): Effect.Effect<BackendInfo, BackendUnavailable> => {
  if (choice !== "auto") {
    return Effect.as(activateBackend(choice), { name: choice, reason: "forced by SCALPEL_BACKEND or --backend" })
  }
  const attempt = (remaining: ReadonlyArray<BackendName>, skipped: ReadonlyArray<string>): Effect.Effect<BackendInfo, BackendUnavailable> => {
    const [head, ...tail] = remaining
    if (head === undefined) {
      return Effect.fail(new BackendUnavailable({ backend: "auto", reason: skipped.join("; "), remedy: remedies.cpu }))
    }
    return activateBackend(head).pipe(
      Effect.as<BackendInfo>({
        name: head,
        reason: skipped.length === 0 ? "auto: first choice" : `auto: ${skipped.join("; ")}`,
      }),
      Effect.catchTag("BackendUnavailable", (e) => attempt(tail, [...skipped, `${e.backend} unavailable (${e.reason})`])),
    )
  }
  return attempt(backendNames, [])
}

/** A layer activating an explicit choice. */
export const backendLayer = (choice: BackendChoice): Layer.Layer<Backend, BackendUnavailable> =>
  Layer.effect(Backend, selectBackend(choice))

/**
 * The default layer: `SCALPEL_BACKEND` if set, else automatic. A value that names no backend is an
 * error, not a silent fallback.
 */
export const BackendLive: Layer.Layer<Backend, BackendUnavailable> = Layer.effect(
  Backend,
  Effect.gen(function* () {
    const raw = yield* Config.string("SCALPEL_BACKEND").pipe(Config.withDefault("auto"), Effect.orElseSucceed(() => "auto"))
    const choice = parseBackendChoice(raw)
    if (Option.isNone(choice)) {
      return yield* new BackendUnavailable({
        backend: raw,
        reason: "SCALPEL_BACKEND names no known backend",
        remedy: "Use one of node, wasm, cpu or auto",
      })
    }
    return yield* selectBackend(choice.value)
  }),
)

/** Parse a user-supplied backend name (flag or env), or `None` when it is not one we know. */
export const parseBackendChoice = (raw: string): Option.Option<BackendChoice> =>
  raw === "auto" || (backendNames as ReadonlyArray<string>).includes(raw) ? Option.some(raw as BackendChoice) : Option.none()
