import { abortError } from '../../src/core/errors.js'

/**
 * Wait for `work`, but no longer than `signal`: rejects with the signal's error the moment it
 * aborts. For the waits a driver cannot cancel (a socket write the peer does not drain, a
 * tcdrain, a DNS lookup, opening a tty): the work goes on, the caller's deadline still holds.
 * The caller then drops what it was using (the line, the socket). A late rejection of `work`
 * is swallowed; a late success is handed to `onLate` (close a port that opened too late).
 */
export function untilAborted<T>(
  work: Promise<T>,
  signal: AbortSignal,
  onLate?: (value: T) => void,
): Promise<T> {
  if (signal.aborted) {
    work.then(onLate, () => {})
    return Promise.reject(abortError(signal))
  }
  return new Promise<T>((resolve, reject) => {
    let waiting = true
    const onAbort = () => {
      waiting = false
      reject(abortError(signal))
    }
    signal.addEventListener('abort', onAbort, { once: true })
    work.then(
      (v) => {
        signal.removeEventListener('abort', onAbort)
        if (waiting) resolve(v)
        else onLate?.(v)
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort)
        if (waiting) reject(e)
      },
    )
  })
}
