/**
 * For the tests of scalpel's wrapped wasm kernels (fastSlice, fastGather, fastSum): the same
 * computation with tfjs's own kernel, then with the wrapper.
 */

/**
 * `fn` run with tfjs's kernel (after `uninstall`), then with the wrapper (after `install`); the
 * wrapper stays installed unless `leaveInstalled` is false.
 */
export const tfjsThenWrapped =
  (wrapping: { readonly install: () => unknown; readonly uninstall: () => void }, leaveInstalled = true) =>
  <T>(fn: () => T): readonly [T, T] => {
    wrapping.uninstall()
    const reference = fn()
    wrapping.install()
    const fast = fn()
    if (!leaveInstalled) wrapping.uninstall()
    return [reference, fast]
  }
