/**
 * A real Redis server for the queue tests: started on the loopback interface on a free port,
 * in a temporary folder, without persistence; stopped (and its folder removed) by the test.
 *
 * When `redis-server` is missing the tests skip with a message, except in CI (`CI=true`), where
 * they fail: CI installs it (`.ci/run`).
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import { mkdtemp, rm } from "node:fs/promises"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"

/** True when a `redis-server` executable is on the PATH. */
export const redisServerAvailable = (): boolean => spawnSync("redis-server", ["--version"], { stdio: "ignore" }).status === 0

/**
 * Whether to run the tests that need a real server; throws in CI when it is missing, so that the
 * suite fails instead of skipping them.
 */
export const needRedisServer = (suite: string): boolean => {
  if (redisServerAvailable()) return true
  if (process.env["CI"] === "true") {
    throw new Error(`${suite}: redis-server is not installed, and CI=true requires these tests (apt-get install -y redis-server)`)
  }
  console.warn(`${suite}: SKIPPED, redis-server is not installed (apt-get install redis-server to run these tests)`)
  return false
}

/** A port nobody listens on at the moment. */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.on("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => (typeof address === "object" && address !== null ? resolve(address.port) : reject(new Error("no port"))))
    })
  })

export interface RedisServer {
  readonly port: number
  /** `redis://127.0.0.1:PORT` (with the password when there is one). */
  readonly url: string
  readonly stop: () => Promise<void>
}

const exited = (child: ChildProcess, ms: number): Promise<boolean> =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve(true)
    : new Promise((resolve) => {
        const timer = setTimeout(() => resolve(false), ms)
        child.once("exit", () => {
          clearTimeout(timer)
          resolve(true)
        })
      })

/** Start a server; `password` sets `requirepass`. */
export const startRedisServer = async (password?: string): Promise<RedisServer> => {
  const port = await freePort()
  const dir = await mkdtemp(join(tmpdir(), "scalpel-redis-"))
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir]
  const child = spawn("redis-server", password === undefined ? args : [...args, "--requirepass", password], { stdio: ["ignore", "pipe", "pipe"] })
  let output = ""
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server did not start within 10 s:\n${output}`)), 10_000)
    child.stdout!.on("data", (chunk: Buffer) => {
      output += chunk.toString()
      if (output.includes("Ready to accept connections")) {
        clearTimeout(timer)
        resolve()
      }
    })
    child.once("exit", (code) => {
      clearTimeout(timer)
      reject(new Error(`redis-server exited with code ${code}:\n${output}`))
    })
  })
  child.stdout!.resume()
  return {
    port,
    url: password === undefined ? `redis://127.0.0.1:${port}` : `redis://:${encodeURIComponent(password)}@127.0.0.1:${port}`,
    stop: async () => {
      child.kill("SIGTERM")
      if (!(await exited(child, 5000))) {
        child.kill("SIGKILL")
        await exited(child, 5000)
      }
      await rm(dir, { recursive: true, force: true })
    },
  }
}
