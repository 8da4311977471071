/**
 * Test set-up: many test files create tensors on tfjs's default cpu backend without activating a
 * backend through scalpel, so the cpu backend's first-use banner ("Hi, looks like you are running
 * TensorFlow.js in Node.js") would be printed once per file. Silence it as `selectBackend` does;
 * every other tfjs warning is still printed.
 */
import { silenceFirstUseBanner } from "../../src/core/backend.ts"

silenceFirstUseBanner()
