import type net from 'node:net'
import { FenceError, abortError } from '../../core/errors.js'
import { connectTcp } from './tcp-connect.js'

export interface TcpLineClientOptions {
  host: string
  port: number
  /** How long a connect may take before the device counts as unreachable. */
  connectTimeoutMs: number
  /** Longest line accepted from the device; longer input is a protocol error. */
  maxLine?: number
  /** For messages: `device d1 (127.0.0.1:17001)`. */
  label: string
}

/**
 * A line-oriented TCP connection to a device: connect lazily, send a line, wait for the line
 * that answers it. Every wait is bound to an AbortSignal. A connection that timed out,
 * was aborted mid-answer or said something unreadable is dropped, so the next call starts
 * clean instead of reading a stale answer.
 */
export class TcpLineClient {
  private socket: net.Socket | undefined
  private buffer = ''
  private waiters: ((line: string | Error) => void)[] = []
  private lines: string[] = []
  private closed = false

  constructor(private readonly opts: TcpLineClientOptions) {}

  private async connect(signal: AbortSignal): Promise<net.Socket> {
    if (this.socket && !this.socket.destroyed) return this.socket
    if (this.closed) throw new FenceError('ENGINE_CLOSED', `${this.opts.label}: driver closed`)
    const { label } = this.opts
    const socket = await connectTcp(this.opts, signal)
    socket.setNoDelay(true)
    socket.setEncoding('latin1')
    this.buffer = ''
    this.lines = []
    socket.on('data', (chunk: string) => this.onData(socket, chunk))
    socket.on('error', () => {})
    socket.on('close', () => {
      // the close of a connection we already dropped (reset) must not fail the next one's waiters
      if (this.socket !== socket) return
      this.socket = undefined
      this.failWaiters(new FenceError('CONNECTION_LOST', `${label}: connection closed by the device`))
    })
    this.socket = socket
    return socket
  }

  private onData(socket: net.Socket, chunk: string): void {
    this.buffer += chunk
    let nl = this.buffer.indexOf('\n')
    while (nl >= 0) {
      const line = this.buffer.slice(0, nl + 1)
      this.buffer = this.buffer.slice(nl + 1)
      const w = this.waiters.shift()
      if (w) w(line)
      else this.lines.push(line)
      nl = this.buffer.indexOf('\n')
    }
    const max = this.opts.maxLine ?? 64 * 1024
    if (this.buffer.length > max) {
      this.failWaiters(
        new FenceError('PROTOCOL_ERROR', `${this.opts.label}: a line longer than ${max} bytes`),
      )
      socket.destroy()
    }
  }

  private failWaiters(e: Error): void {
    const ws = this.waiters
    this.waiters = []
    for (const w of ws) w(e)
  }

  /** Drop the connection: after an abort or a bad answer, whatever comes next is stale. */
  reset(): void {
    this.socket?.destroy()
    this.socket = undefined
    this.lines = []
    this.buffer = ''
  }

  async send(line: string, signal: AbortSignal): Promise<void> {
    const s = await this.connect(signal)
    if (signal.aborted) throw abortError(signal)
    s.write(line, 'latin1')
  }

  /** The next line from the device (with its line ending), or an error. */
  readLine(signal: AbortSignal): Promise<string> {
    const queued = this.lines.shift()
    if (queued !== undefined) return Promise.resolve(queued)
    if (!this.socket)
      return Promise.reject(new FenceError('CONNECTION_LOST', `${this.opts.label}: not connected`))
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(abortError(signal))
      const waiter = (v: string | Error) => {
        signal.removeEventListener('abort', onAbort)
        if (v instanceof Error) reject(v)
        else resolve(v)
      }
      const onAbort = () => {
        this.waiters = this.waiters.filter((w) => w !== waiter)
        this.reset()
        reject(abortError(signal))
      }
      signal.addEventListener('abort', onAbort, { once: true })
      this.waiters.push(waiter)
    })
  }

  async close(): Promise<void> {
    this.closed = true
    this.reset()
  }
}
