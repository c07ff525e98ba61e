import type net from 'node:net'
import { untilAborted } from '../../src/core/deadline.js'
import { FenceError, abortError } from '../../src/core/errors.js'
import { OPT, TelnetCodec } from '../../protocols/telnet.js'
import { type ByteStream, ReceiveBuffer } from './byte-stream.js'
import { connectTcp } from './tcp-connect.js'

export interface TelnetStreamOptions {
  host: string
  port: number
  connectTimeoutMs: number
}

/**
 * A telnet session (RFC 854) as a byte stream for the expect engine. The negotiation is the
 * protocols/telnet.ts codec: we let the device echo and suppress go-ahead (what a menu firmware
 * offers), perform SGA and BINARY ourselves when asked, and refuse everything else (terminal type,
 * window size, linemode: a script has no terminal). Commands never reach the scripts; data bytes
 * 0xFF are escaped on the way out.
 */
export class TelnetStream implements ByteStream {
  readonly transport = 'telnet' as const
  readonly label: string
  readonly rx = new ReceiveBuffer()
  private socket: net.Socket | undefined
  private codec: TelnetCodec | undefined

  constructor(private readonly opts: TelnetStreamOptions) {
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
    const codec = new TelnetCodec(
      { local: [OPT.SGA, OPT.BINARY], remote: [OPT.ECHO, OPT.SGA, OPT.BINARY] },
      (b) => {
        if (!socket.destroyed) socket.write(b)
      },
    )
    let heard = false
    socket.on('data', (b: Buffer) => {
      heard = true
      const data = codec.decode(b)
      if (data.length) this.rx.push(data)
    })
    socket.on('error', () => {})
    socket.on('close', () => {
      if (this.socket !== socket) return
      this.socket = undefined
      this.rx.close(
        heard
          ? new FenceError('CONNECTION_LOST', `${this.label}: the device closed the telnet session`)
          : new FenceError(
              'DEVICE_BUSY',
              `${this.label}: the device closed the connection at once: these units take one session at a time, another client may hold it`,
            ),
      )
    })
    this.socket = socket
    this.codec = codec
  }

  async write(bytes: Buffer, signal: AbortSignal): Promise<void> {
    const s = this.socket
    const codec = this.codec
    if (!s || s.destroyed || !codec) throw new FenceError('CONNECTION_LOST', `${this.label}: not connected`)
    if (signal.aborted) throw abortError(signal)
    const wire = codec.encode(bytes)
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
    this.codec = undefined
    if (!s) return
    s.destroy()
    this.rx.close(new FenceError('CONNECTION_LOST', `${this.label}: closed`))
  }
}
