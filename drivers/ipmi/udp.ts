import dgram from 'node:dgram'
import { lookup } from 'node:dns/promises'
import { FenceError, abortError } from '../../core/errors.js'
import { untilAborted } from '../../core/deadline.js'

/**
 * A connected UDP socket to one BMC, for one session. Connected, so that only the BMC's
 * address reaches us and an ICMP "port unreachable" surfaces as ECONNREFUSED at once
 * instead of as a silent timeout. Datagrams queue until read; every wait is abortable.
 */
export class UdpChannel {
  private readonly queue: Buffer[] = []
  private waiter: ((v: Buffer | Error | undefined) => void) | undefined
  private failure: FenceError | undefined
  private closed = false
  /** Datagrams handed to the socket and not yet sent. */
  private sending = 0

  private constructor(
    private readonly socket: dgram.Socket,
    private readonly label: string,
  ) {
    socket.on('message', (msg) => {
      if (this.waiter) this.settle(msg)
      else if (this.queue.length < 64) this.queue.push(msg)
    })
    socket.on('error', (e: NodeJS.ErrnoException) => {
      // ECONNREFUSED: the host said no one listens on that port (a BMC rebooting, a wrong port)
      const err = new FenceError(
        e.code === 'ECONNREFUSED' ? 'CONNECTION_LOST' : 'DEVICE_UNREACHABLE',
        `${label}: ${e.code === 'ECONNREFUSED' ? 'port unreachable (ICMP): no BMC listening' : (e.code ?? e.message)}`,
      )
      if (this.waiter) this.settle(err)
      else this.failure = err
    })
  }

  static async open(host: string, port: number, label: string, signal: AbortSignal): Promise<UdpChannel> {
    if (signal.aborted) throw abortError(signal)
    // a resolver that does not answer can take tens of seconds: the call's deadline bounds it
    const address = await untilAborted(
      lookup(host).catch((e: NodeJS.ErrnoException) => {
        throw new FenceError('DEVICE_UNREACHABLE', `${label}: cannot resolve ${host}: ${e.code}`)
      }),
      signal,
    )
    const socket = dgram.createSocket({ type: address.family === 6 ? 'udp6' : 'udp4' })
    await new Promise<void>((resolve, reject) => {
      socket.once('error', (e: NodeJS.ErrnoException) => {
        socket.close()
        reject(new FenceError('DEVICE_UNREACHABLE', `${label}: ${e.code ?? e.message}`))
      })
      socket.connect(port, address.address, () => {
        socket.removeAllListeners('error')
        resolve()
      })
    })
    return new UdpChannel(socket, label)
  }

  private settle(v: Buffer | Error | undefined): void {
    const w = this.waiter
    this.waiter = undefined
    w?.(v)
  }

  send(bytes: Buffer): void {
    if (this.closed) return
    this.sending++
    this.socket.send(bytes, (e) => {
      this.sending--
      if (e && !this.closed) this.socket.emit('error', e)
      if (this.closed && this.sending === 0) this.release()
    })
  }

  /** The next datagram, or undefined after `timeoutMs`. Throws on abort and ICMP errors. */
  receive(timeoutMs: number, signal: AbortSignal): Promise<Buffer | undefined> {
    const queued = this.queue.shift()
    if (queued) return Promise.resolve(queued)
    if (this.failure) {
      const f = this.failure
      this.failure = undefined
      return Promise.reject(f)
    }
    if (signal.aborted) return Promise.reject(abortError(signal))
    if (this.closed) return Promise.reject(new FenceError('CONNECTION_LOST', `${this.label}: channel closed`))
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.settle(undefined), Math.max(0, timeoutMs))
      const onAbort = () => this.settle(abortError(signal))
      signal.addEventListener('abort', onAbort, { once: true })
      this.waiter = (v) => {
        clearTimeout(timer)
        signal.removeEventListener('abort', onAbort)
        if (v instanceof Error) reject(v)
        else resolve(v)
      }
    })
  }

  /** Close once the datagrams already handed over have left (a last Close Session must go out). */
  close(): void {
    if (this.closed) return
    this.closed = true
    this.settle(new FenceError('CONNECTION_LOST', `${this.label}: channel closed`))
    if (this.sending === 0) this.release()
  }

  private release(): void {
    try {
      this.socket.close()
    } catch {
      // already closed
    }
  }
}
