import type net from 'node:net'
import { FenceError, abortError } from '../../core/errors.js'
import { untilAborted } from '../../core/deadline.js'
import { type ByteStream, ReceiveBuffer } from './byte-stream.js'
import { connectTcp } from './tcp-connect.js'

export interface TcpByteStreamOptions {
  host: string
  port: number
  connectTimeoutMs: number
}

/** How the bytes of a protocol on the socket become data and back (raw TCP: unchanged). */
export interface SocketFraming {
  /** Bytes received to data for the scripts (a protocol's own commands taken out). */
  decode(wire: Buffer): Buffer
  /** Data written to the bytes that go on the wire. */
  encode(data: Buffer): Buffer
}

const RAW: SocketFraming = { decode: (b) => b, encode: (b) => b }

/**
 * A serial line reached through a raw TCP terminal server (ser2net `raw`, a console server's
 * per-port TCP socket, `socat TCP-LISTEN:… /dev/ttyS1`). Bytes only: a raw stream carries no
 * modem lines, so there is no `hangup()` here — a handshake on TCP cannot reset the device
 * (RFC 2217 could; see docs/drivers/rps10.md for what the driver does instead).
 *
 * The socket handling (connect, close, abortable writes) serves the telnet stream too
 * (telnet-stream.ts), which adds its framing and its words for a closed connection.
 */
export class TcpByteStream implements ByteStream {
  readonly transport: 'tcp' | 'telnet' = 'tcp'
  readonly label: string
  readonly rx = new ReceiveBuffer()
  private socket: net.Socket | undefined
  private framing: SocketFraming = RAW

  constructor(private readonly opts: TcpByteStreamOptions) {
    this.label = opts.host.includes(':') ? `[${opts.host}]:${opts.port}` : `${opts.host}:${opts.port}`
  }

  get isOpen(): boolean {
    return !!this.socket && !this.socket.destroyed
  }

  /** The framing of a new connection (a protocol that negotiates writes on `socket`). */
  protected frame(_socket: net.Socket): SocketFraming {
    return RAW
  }

  /** The error of a connection the peer closed; `heard`: it had sent something first. */
  protected closedByPeer(_heard: boolean): FenceError {
    return new FenceError('CONNECTION_LOST', `${this.label}: the terminal server closed the connection`)
  }

  async open(signal: AbortSignal): Promise<void> {
    if (this.isOpen) return
    const socket = await connectTcp({ ...this.opts, label: this.label }, signal)
    socket.setNoDelay(true)
    this.rx.reopen()
    const framing = this.frame(socket)
    let heard = false
    socket.on('data', (b: Buffer) => {
      heard = true
      const data = framing.decode(b)
      if (data.length) this.rx.push(data)
    })
    socket.on('error', () => {})
    socket.on('close', () => {
      // a socket this stream already let go of (closed, replaced) must not touch the new line
      if (this.socket !== socket) return
      this.socket = undefined
      this.rx.close(this.closedByPeer(heard))
    })
    this.socket = socket
    this.framing = framing
  }

  async write(bytes: Buffer, signal: AbortSignal): Promise<void> {
    const s = this.socket
    if (!s || s.destroyed) throw new FenceError('CONNECTION_LOST', `${this.label}: not connected`)
    if (signal.aborted) throw abortError(signal)
    const wire = this.framing.encode(bytes)
    // a terminal server that stopped reading never completes the write: the caller's signal ends the wait
    await untilAborted(
      new Promise<void>((resolve, reject) =>
        s.write(wire, (e) =>
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
