import type net from 'node:net'
import { FenceError, abortError } from '../../src/core/errors.js'
import { untilAborted } from '../../src/core/deadline.js'
import { type ByteStream, ReceiveBuffer } from './byte-stream.js'
import { connectTcp } from './tcp-connect.js'

export interface TcpByteStreamOptions {
  host: string
  port: number
  connectTimeoutMs: number
}

/**
 * A serial line reached through a raw TCP terminal server (ser2net `raw`, a console server's
 * per-port TCP socket, `socat TCP-LISTEN:… /dev/ttyS1`). Bytes only: a raw stream carries no
 * modem lines, so there is no `hangup()` here — a handshake on TCP cannot reset the device
 * (RFC 2217 could; see docs/drivers/rps10.md for what the driver does instead).
 */
export class TcpByteStream implements ByteStream {
  readonly transport = 'tcp' as const
  readonly label: string
  readonly rx = new ReceiveBuffer()
  private socket: net.Socket | undefined

  constructor(private readonly opts: TcpByteStreamOptions) {
    this.label = opts.host.includes(':') ? `[${opts.host}]:${opts.port}` : `${opts.host}:${opts.port}`
  }

  get isOpen(): boolean {
    return !!this.socket && !this.socket.destroyed
  }

  async open(signal: AbortSignal): Promise<void> {
    if (this.isOpen) return
    const socket = await connectTcp({ ...this.opts, label: this.label }, signal)
    socket.setNoDelay(true)
    this.rx.reopen()
    socket.on('data', (b: Buffer) => this.rx.push(b))
    socket.on('error', () => {})
    socket.on('close', () => {
      // a socket this stream already let go of (closed, replaced) must not touch the new line
      if (this.socket !== socket) return
      this.socket = undefined
      this.rx.close(
        new FenceError('CONNECTION_LOST', `${this.label}: the terminal server closed the connection`),
      )
    })
    this.socket = socket
  }

  async write(bytes: Buffer, signal: AbortSignal): Promise<void> {
    const s = this.socket
    if (!s || s.destroyed) throw new FenceError('CONNECTION_LOST', `${this.label}: not connected`)
    if (signal.aborted) throw abortError(signal)
    // a terminal server that stopped reading never completes the write: the caller's signal ends the wait
    await untilAborted(
      new Promise<void>((resolve, reject) =>
        s.write(bytes, (e) =>
          e
            ? reject(new FenceError('CONNECTION_LOST', `${this.label}: write failed: ${e.message}`))
            : resolve(),
        ),
      ),
      signal,
    )
  }

  async close(): Promise<void> {
    const s = this.socket
    this.socket = undefined
    if (!s) return
    s.destroy()
    this.rx.close(new FenceError('CONNECTION_LOST', `${this.label}: closed`))
  }
}
