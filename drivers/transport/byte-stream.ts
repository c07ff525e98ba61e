import { FenceError, abortError } from '../../core/errors.js'

/**
 * A byte pipe to a serial device, whatever carries it: a local tty (serial-stream.ts) or a raw
 * TCP terminal server (byte-stream-tcp.ts), a telnet or SSH session to a network device
 * (telnet-stream.ts, ssh-stream.ts). The expect engine runs on this interface only, so
 * every serial prompt device works over both.
 */
export interface ByteStream {
  /** For messages: `/dev/ttyS1` or `10.0.0.9:4001`. */
  readonly label: string
  /** Which way the line is reached; decides what a handshake can do. */
  readonly transport: 'tty' | 'tcp' | 'telnet' | 'ssh'
  /** Open the line; rejects with a FenceError (DEVICE_UNREACHABLE, ABORTED…). */
  open(signal: AbortSignal): Promise<void>
  readonly isOpen: boolean
  /** Queue bytes and resolve once they have left this process (serial: drained to the UART). */
  write(bytes: Buffer, signal: AbortSignal): Promise<void>
  /**
   * Drop DTR for `lowMs`, then raise it again: the reset an RPS-10 answers with `RPS-10 Ready`.
   * Only a local tty has modem lines; absent on TCP.
   */
  hangup?(lowMs: number, signal: AbortSignal): Promise<void>
  /** Everything the device sends arrives here, in order. */
  readonly rx: ReceiveBuffer
  close(): Promise<void>
}

/**
 * What the device sent and nobody consumed yet, as latin1 text (one char per byte), with waiters
 * that wake on every arrival. A closed line fails the waiters with CONNECTION_LOST so that a
 * pulled cable is reported as such, not as a slow device.
 */
export class ReceiveBuffer {
  private text = ''
  private waiters = new Set<() => void>()
  private closedWith: FenceError | undefined
  /** Longest unconsumed input kept; older bytes are dropped (a babbling line must not grow memory). */
  readonly max: number

  constructor(max = 64 * 1024) {
    this.max = max
  }

  get content(): string {
    return this.text
  }

  get closed(): FenceError | undefined {
    return this.closedWith
  }

  push(chunk: Buffer | string): void {
    this.text += typeof chunk === 'string' ? chunk : chunk.toString('latin1')
    if (this.text.length > this.max) this.text = this.text.slice(-this.max)
    this.wake()
  }

  /** Remove the first `n` characters (consumed by a match). */
  consume(n: number): void {
    this.text = this.text.slice(n)
  }

  /** Forget everything buffered (stale input before a new command). */
  flush(): void {
    this.text = ''
  }

  /** The line is gone: every present and future wait fails with this error until reopen(). */
  close(err: FenceError): void {
    this.closedWith = err
    this.wake()
  }

  reopen(): void {
    this.closedWith = undefined
    this.text = ''
  }

  /** Resolve on the next arrival (or close); reject when the signal aborts. */
  next(signal: AbortSignal): Promise<void> {
    if (this.closedWith) return Promise.reject(this.closedWith)
    if (signal.aborted) return Promise.reject(abortError(signal))
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        this.waiters.delete(wake)
        reject(abortError(signal))
      }
      const wake = () => {
        this.waiters.delete(wake)
        signal.removeEventListener('abort', onAbort)
        if (this.closedWith) reject(this.closedWith)
        else resolve()
      }
      this.waiters.add(wake)
      signal.addEventListener('abort', onAbort, { once: true })
    })
  }

  private wake(): void {
    for (const w of [...this.waiters]) w()
  }
}

/** Turn an errno from opening a line into the error the engine understands. */
export function openError(label: string, e: unknown): FenceError {
  const err = e as NodeJS.ErrnoException
  const what = err.code ?? err.message
  // A missing or busy port is worth retrying (a USB adapter re-enumerating, another opener leaving).
  return new FenceError('DEVICE_UNREACHABLE', `${label}: cannot open: ${what}`)
}
