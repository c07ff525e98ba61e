import net from 'node:net'
import { FenceError, abortError } from '../../core/errors.js'

/**
 * Opens a TCP connection bounded by a connect timeout and an AbortSignal. A timeout or a
 * refused/failed connect is DEVICE_UNREACHABLE (transient: the engine may retry); an abort
 * rejects with the signal's error. A socket that did not connect is destroyed, never leaked.
 * `label` starts the messages (`device d1 (127.0.0.1:17001)`).
 */
export function connectTcp(
  opts: { host: string; port: number; connectTimeoutMs: number; label: string },
  signal: AbortSignal,
): Promise<net.Socket> {
  const { host, port, connectTimeoutMs, label } = opts
  return new Promise<net.Socket>((resolve, reject) => {
    const s = net.connect({ host, port })
    const timer = setTimeout(
      () =>
        fail(new FenceError('DEVICE_UNREACHABLE', `${label}: connect timed out after ${connectTimeoutMs}ms`)),
      connectTimeoutMs,
    )
    const onAbort = () => fail(abortError(signal))
    const cleanup = () => {
      clearTimeout(timer)
      signal.removeEventListener('abort', onAbort)
      s.removeAllListeners('connect')
      s.removeAllListeners('error')
    }
    const fail = (e: Error) => {
      cleanup()
      s.destroy()
      reject(e)
    }
    if (signal.aborted) return onAbort()
    signal.addEventListener('abort', onAbort, { once: true })
    s.once('connect', () => {
      cleanup()
      resolve(s)
    })
    s.once('error', (e: NodeJS.ErrnoException) =>
      fail(new FenceError('DEVICE_UNREACHABLE', `${label}: connect failed: ${e.code ?? e.message}`)),
    )
  })
}
