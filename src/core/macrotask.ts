/**
 * Yielding to the host's event loop from a long synchronous computation, in Node and in browsers.
 *
 * Effect's scheduler yields to the microtask queue only, so a loop of synchronous tensor work never
 * lets timers, I/O, signals (Node) or rendering and input (browsers) run unless it schedules a
 * macrotask now and then. Node has `setImmediate`; browsers do not, and `setTimeout(0)` there is
 * clamped to 4 ms once nested, so they get a `MessageChannel` message, which runs as the next task
 * without a delay.
 */

/** The part of a `MessagePort` used here, common to browsers and Node (the project has no DOM typings). */
interface Port {
  onmessage: ((event: unknown) => void) | null
  postMessage(message: unknown): void
  close(): void
}
type ChannelConstructor = new () => { readonly port1: Port; readonly port2: Port }

/** Schedule `callback` as a new task through a `MessageChannel` (how browsers get it); returns a cancel function. */
export const onNextMessage = (callback: () => void): (() => void) => {
  const Channel = (globalThis as unknown as { readonly MessageChannel: ChannelConstructor }).MessageChannel
  const channel = new Channel()
  channel.port1.onmessage = () => {
    channel.port1.close()
    callback()
  }
  channel.port2.postMessage(undefined)
  return () => channel.port1.close()
}

/** Schedule `callback` as a new task of the event loop (`setImmediate` where it exists); returns a cancel function. */
export const onNextMacrotask = (callback: () => void): (() => void) => {
  if (typeof setImmediate !== "function") return onNextMessage(callback)
  const handle = setImmediate(callback)
  return () => clearImmediate(handle)
}
