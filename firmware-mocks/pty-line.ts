import { mkdirSync } from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import type { CommonLabSpec } from './mock.js'
import { PtyEndpoint } from './pty.js'

/** Where a serial session's bytes go: the client's end of the cable. */
export interface LineEnd {
  write(bytes: Buffer): void
  /** The `disconnect` fault: the line goes away (TCP closed, pty hung up). */
  disconnect(): void
}

/** The device side of one serial line (one per pty, one per TCP connection). */
export interface SerialSession {
  receive(bytes: Buffer): void
  /** DTR from the client: open + speed ≠ B0 on a pty; a TCP connection raises it. */
  setDtr(up: boolean): void
  /** The client's line speed (ptys report it; 0 = unknown). */
  setClientBaud(baud: number): void
  close(): void
}

/**
 * A serial mock's endpoint: a real pseudo-terminal (`pty: PATH`, see pty.ts) or a raw TCP port
 * (`listen:`, as a terminal server offers a serial line). The device logic is a SerialSession;
 * this class only carries bytes and modem state to it.
 */
export class SerialLineEndpoint {
  private pty: PtyEndpoint | undefined
  private server: net.Server | undefined
  private readonly sockets = new Set<net.Socket>()
  readonly sessions = new Set<SerialSession>()
  private port = 0

  constructor(
    private readonly common: CommonLabSpec,
    private readonly makeSession: (end: LineEnd) => SerialSession,
  ) {}

  get endpoint(): string {
    if (this.common.pty) return `pty:${this.common.pty}`
    return `tcp://${this.address.host}:${this.port}`
  }

  get address(): { host: string; port: number } {
    return { host: this.common.listen?.host ?? '127.0.0.1', port: this.port }
  }

  get ptyPath(): string | undefined {
    return this.common.pty
  }

  /** The pty's facts for the lab's control API. */
  info(): Record<string, unknown> {
    return this.pty ? { tty: this.pty.tty, clientLine: this.pty.line } : {}
  }

  /** The pty itself (tests watch its modem-line events). */
  get ptyEndpoint(): PtyEndpoint | undefined {
    return this.pty
  }

  async start(): Promise<void> {
    if (this.common.pty) await this.startPty(this.common.pty)
    else await this.startTcp()
  }

  private async startPty(at: string): Promise<void> {
    mkdirSync(path.dirname(at), { recursive: true })
    const pty = new PtyEndpoint(at)
    const session = this.makeSession({ write: (b) => pty.write(b), disconnect: () => pty.hangup() })
    pty.on('data', (b) => session.receive(b))
    pty.on('line', (s) => {
      session.setClientBaud(s.baud)
      session.setDtr(s.dtr)
    })
    pty.on('hangup', () => session.setDtr(false))
    await pty.start()
    this.pty = pty
    this.sessions.add(session)
  }

  private async startTcp(): Promise<void> {
    const server = net.createServer((socket) => {
      this.sockets.add(socket)
      socket.setNoDelay(true)
      const session = this.makeSession({
        write: (b) => socket.writable && socket.write(b),
        disconnect: () => socket.destroy(),
      })
      this.sessions.add(session)
      socket.on('data', (b: Buffer) => session.receive(b))
      socket.on('error', () => {})
      socket.on('close', () => {
        session.close()
        this.sessions.delete(session)
        this.sockets.delete(socket)
      })
      // A terminal server opens the port for a connection, raising DTR.
      session.setDtr(true)
    })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.common.listen?.port ?? 0, this.common.listen?.host ?? '127.0.0.1', () => resolve())
    })
    this.port = (server.address() as net.AddressInfo).port
    this.server = server
  }

  async stop(): Promise<void> {
    for (const s of this.sessions) s.close()
    this.sessions.clear()
    for (const s of this.sockets) s.destroy()
    const pty = this.pty
    this.pty = undefined
    await pty?.stop()
    const server = this.server
    this.server = undefined
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()))
  }
}
