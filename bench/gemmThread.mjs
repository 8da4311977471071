// A thread of bench/peer.ts's concurrent GEMM measurement (plain JavaScript: no loader needed).
// Starts its own wasm backend, then answers each `{ reps }` message with the milliseconds that
// `reps` products 256×1024 · 1024×1024 took.
import { parentPort } from "node:worker_threads"
import * as tf from "@tensorflow/tfjs"
import "@tensorflow/tfjs-backend-wasm"

tf.env().set("PROD", true)
await tf.setBackend("wasm")
await tf.ready()
const a = tf.randomNormal([256, 1024], 0, 1, "float32", 1)
const b = tf.randomNormal([1024, 1024], 0, 1, "float32", 2)
tf.matMul(a, b).dispose()
parentPort.on("message", ({ reps }) => {
  const start = performance.now()
  for (let i = 0; i < reps; i++) tf.matMul(a, b).dispose()
  parentPort.postMessage(performance.now() - start)
})
parentPort.postMessage("ready")
