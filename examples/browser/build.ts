/**
 * Build and serve the browser example (Node side).
 *
 * `npm run example:browser` bundles `main.ts` with esbuild into `examples/browser/dist/`, copies
 * the page and the wasm backend's binaries beside it, and serves the folder on
 * http://127.0.0.1:8080 (set PORT to change it). The browser test (`test/browser/`) uses the same
 * two functions.
 */
import { copyFile, mkdir, readFile, readdir, stat } from "node:fs/promises"
import { createServer } from "node:http"
import { createRequire } from "node:module"
import { dirname, extname, join, normalize, resolve, sep } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { build } from "esbuild"

const here = dirname(fileURLToPath(import.meta.url))
const repository = resolve(here, "../..")

/** The folder of `@tensorflow/tfjs-backend-wasm`'s binaries (`*.wasm`). */
export const wasmBinaryFolder = (): string =>
  join(dirname(createRequire(import.meta.url).resolve("@tensorflow/tfjs-backend-wasm/package.json")), "dist")

/** What {@link buildExample} wrote. */
export interface BuiltExample {
  readonly folder: string
  /** Bytes of the bundle `main.js`. */
  readonly bundleBytes: number
  /** The wasm binaries copied to `wasm/`. */
  readonly wasmFiles: ReadonlyArray<string>
  readonly buildMs: number
}

/**
 * Bundle the example for browsers into `folder`: `index.html`, `main.js` (+ source map) and
 * `wasm/*.wasm`. The bundle targets the browser platform, so any Node built-in reachable from the
 * library entry makes the build fail. `scalpel` resolves to this repository's sources.
 */
export const buildExample = async (folder: string, options: { readonly minify?: boolean } = {}): Promise<BuiltExample> => {
  const started = performance.now()
  await mkdir(join(folder, "wasm"), { recursive: true })
  await build({
    entryPoints: [join(here, "main.ts")],
    outfile: join(folder, "main.js"),
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    sourcemap: true,
    minify: options.minify ?? false,
    alias: { scalpel: join(repository, "src/index.ts") },
    logLevel: "silent",
  })
  await copyFile(join(here, "index.html"), join(folder, "index.html"))
  const wasmFiles = (await readdir(wasmBinaryFolder())).filter((name) => name.endsWith(".wasm"))
  for (const name of wasmFiles) await copyFile(join(wasmBinaryFolder(), name), join(folder, "wasm", name))
  return { folder, bundleBytes: (await stat(join(folder, "main.js"))).size, wasmFiles, buildMs: performance.now() - started }
}

const contentTypes: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".map": "application/json",
  ".wasm": "application/wasm",
}

/** A running static server. */
export interface StaticServer {
  readonly url: string
  close(): Promise<void>
}

/**
 * Serve the files of `folder` on 127.0.0.1 (port 0: any free port), with `headers` added to every
 * response (e.g. the two that make a page cross-origin isolated).
 */
export const serveFolder = (
  folder: string,
  options: {
    readonly port?: number
    readonly headers?: Readonly<Record<string, string>>
    /** Called with the path of every request (the test checks which wasm binary was fetched). */
    readonly onRequest?: (path: string) => void
  } = {},
): Promise<StaticServer> => {
  const root = resolve(folder)
  const server = createServer((request, response) => {
    const path = decodeURIComponent(new URL(request.url ?? "/", "http://localhost").pathname)
    options.onRequest?.(path)
    const file = normalize(join(root, path.endsWith("/") ? `${path}index.html` : path))
    if (file !== root && !file.startsWith(root + sep)) {
      response.writeHead(403).end()
      return
    }
    readFile(file).then(
      (body) => {
        response.writeHead(200, { "content-type": contentTypes[extname(file)] ?? "application/octet-stream", ...options.headers })
        response.end(body)
      },
      () => response.writeHead(404).end(),
    )
  })
  return new Promise((resolvePromise, reject) => {
    server.once("error", reject)
    server.listen(options.port ?? 0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      resolvePromise({
        url: `http://127.0.0.1:${port}/`,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections()
            server.close(() => done())
          }),
      })
    })
  })
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const built = await buildExample(join(here, "dist"))
  console.log(`built ${built.folder} (main.js ${(built.bundleBytes / 1e6).toFixed(1)} MB, ${built.wasmFiles.length} wasm files) in ${Math.round(built.buildMs)} ms`)
  const server = await serveFolder(built.folder, { port: Number(process.env["PORT"] ?? 8080) })
  console.log(`open ${server.url} (Ctrl-C stops the server)`)
}
