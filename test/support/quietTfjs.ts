/**
 * Test set-up: many test files create tensors on tfjs's default cpu backend without activating a
 * backend through scalpel (which silences it, see `silenceFirstUseBanner` in core/backend.ts), so
 * the cpu backend's first-use banner ("Hi, looks like you are running TensorFlow.js in Node.js")
 * would be printed once per file. Store that first tensor with tfjs's PROD flag set for this one
 * call; every other tfjs warning is still printed.
 */
import { tf } from "../../src/core/tf.ts"

const environment = tf.env()
const production = environment.getBool("PROD")
environment.set("PROD", true)
try {
  tf.scalar(0).dispose()
} finally {
  environment.set("PROD", production)
}
