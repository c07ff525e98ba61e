import { setMaxListeners } from 'node:events'
import { performance } from 'node:perf_hooks'
import { FenceError, abortError } from './errors.js'

/** The reason of a deadline whose operation ended: nothing is listening any more. */
const FINISHED = new FenceError('ABORTED', 'operation finished')

/**
 * A caller's deadline on the monotonic clock (wall-clock jumps never shorten or extend it),
 * with the AbortSignal that fires when it passes or when the caller goes away.
 */
export class Deadline {
  readonly at: number
  readonly signal: AbortSignal
  private readonly timer: AbortController

  constructor(ms: number, parent?: AbortSignal) {
    this.at = performance.now() + ms
    this.timer = new AbortController()
    const t = setTimeout(
      () => this.timer.abort(new FenceError('DEADLINE_EXCEEDED', `deadline of ${Math.round(ms)}ms passed`)),
      Math.max(0, ms),
    )
    t.unref()
    this.timer.signal.addEventListener('abort', () => clearTimeout(t), { once: true })
    this.signal = parent ? AbortSignal.any([parent, this.timer.signal]) : this.timer.signal
    // one operation's reads, sets and polls all listen to it
    setMaxListeners(0, this.signal)
  }

  remaining(): number {
    return Math.max(0, this.at - performance.now())
  }

  get expired(): boolean {
    return this.signal.aborted || this.remaining() <= 0
  }

  /** Throws DEADLINE_EXCEEDED or ABORTED: call before every mutating step. */
  check(): void {
    if (this.signal.aborted) throw abortError(this.signal)
    if (this.remaining() <= 0) throw new FenceError('DEADLINE_EXCEEDED')
  }

  /** A sub-deadline no later than this one. */
  child(ms: number): Deadline {
    return new Deadline(Math.min(ms, this.remaining()), this.signal)
  }

  /** Stop the timer when the operation is over. */
  dispose(): void {
    if (!this.timer.signal.aborted) this.timer.abort(FINISHED)
  }
}

/** Sleep that ends early (rejecting) when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError(signal))
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    const onAbort = () => {
      clearTimeout(t)
      reject(abortError(signal!))
    }
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

export const monotonicNow = (): number => performance.now()

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
