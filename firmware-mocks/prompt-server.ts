import net from 'node:net'
import { OPT, TelnetCodec } from '../protocols/telnet.js'
import type { DeviceSimulator } from './simulator.js'
import { garbleBytes } from './simulator.js'

/**
 * The network side of a prompt-driven power switch (APC MasterSwitch menus, WTI NPS, BayTech
 * RPC): a telnet server that takes one session at a time, as these units do, with a terminal
 * line discipline (echo, masked passwords, ESC and Ctrl-C as keys, CR / LF / CR LF / CR NUL as
 * one Enter) and the shared faults applied per keystroke event. The firmware itself is a
 * {@link PromptFirmware}: it sees keys and lines and writes text, whatever carries them (the
 * SSH server in ssh-server.ts runs the same firmware).
 */

export type Echo = 'on' | 'mask' | 'off'

/** What a firmware session may do to its terminal. */
export interface Terminal {
  write(text: string): void
  /** How typed characters are echoed from now on. */
  echo(mode: Echo): void
  /** End the session (logout, lockout). */
  close(): void
}

/** One login session of the device's firmware. */
export interface PromptFirmware {
  /** The session opened: banner and first prompt. */
  start(): void
  /** A line the user ended with Enter. */
  line(text: string): void
  /** A control key acted on at once: ESC (up a menu), Ctrl-C (main menu). */
  key(k: 'esc' | 'ctrl-c'): void
  /** The connection went away. */
  end?(): void
}

/**
 * One session's byte handling, independent of the transport: turns received bytes into
 * firmware events (line discipline), and applies the simulator's faults to each event.
 */
export class PromptConnection {
  private pending = ''
  private lastCr = false
  private echoMode: Echo = 'on'
  private stalled = false
  private closed = false
  /** Output of the event being handled, written once the event's fault decision is known. */
  private out: string[] = []
  private chain: Promise<void> = Promise.resolve()
  readonly firmware: PromptFirmware

  constructor(
    private readonly sim: DeviceSimulator,
    private readonly wire: { write(bytes: Buffer): void; end(): void },
    makeFirmware: (t: Terminal) => PromptFirmware,
  ) {
    const term: Terminal = {
      write: (text) => this.out.push(text),
      echo: (mode) => {
        this.echoMode = mode
      },
      close: () => {
        this.flush({ delayMs: 0, garble: false })
        this.chain = this.chain.then(() => this.close())
      },
    }
    this.firmware = makeFirmware(term)
    this.firmware.start()
    this.flush({ delayMs: 0, garble: false })
  }

  /** Data bytes from the client (telnet commands already stripped). */
  receive(data: Buffer): void {
    if (this.closed || this.stalled) return
    for (const b of data) {
      const c = String.fromCharCode(b)
      if (this.lastCr && c === '\n') {
        this.lastCr = false
        continue
      }
      this.lastCr = c === '\r'
      if (c === '\r' || c === '\n') this.event(() => this.enter())
      else if (c === '\x1b') this.event(() => this.firmware.key('esc'))
      else if (c === '\x03') this.event(() => this.firmware.key('ctrl-c'))
      else if (c === '\b' || c === '\x7f') {
        if (this.pending) {
          this.pending = this.pending.slice(0, -1)
          this.echoRaw('\b \b')
        }
      } else if (b >= 0x20 && b < 0x7f) {
        if (this.pending.length < 256) this.pending += c
        this.echoRaw(this.echoMode === 'on' ? c : this.echoMode === 'mask' ? '*' : '')
      }
    }
  }

  private enter(): void {
    const text = this.pending
    this.pending = ''
    this.out.push('\r\n')
    this.firmware.line(text)
  }

  private echoRaw(text: string): void {
    if (text) this.chain = this.chain.then(() => this.send(text, false))
  }

  /** One request to the device: the faults decide what becomes of it. */
  private event(fn: () => void): void {
    if (this.stalled || this.closed) return
    const d = this.sim.faults.decide()
    if (d.disconnect) {
      this.chain = this.chain.then(() => this.close())
      this.closed = true
      return
    }
    if (d.stall) {
      this.stalled = true
      return
    }
    if (d.drop) {
      this.pending = ''
      return
    }
    fn()
    this.flush(d)
  }

  private flush(d: { delayMs: number; garble: boolean }): void {
    const text = this.out.join('')
    this.out = []
    if (!text) return
    this.chain = this.chain.then(async () => {
      if (d.delayMs > 0) await new Promise((r) => setTimeout(r, d.delayMs))
      this.send(text, d.garble)
    })
  }

  private send(text: string, garble: boolean): void {
    if (this.closed && !this.wireOpen) return
    const bytes = Buffer.from(text, 'latin1')
    this.wire.write(garble ? garbleBytes(bytes) : bytes)
  }

  private wireOpen = true

  private close(): void {
    this.closed = true
    if (!this.wireOpen) return
    this.wireOpen = false
    this.wire.end()
  }

  /** The transport went away. */
  gone(): void {
    this.closed = true
    this.wireOpen = false
    this.firmware.end?.()
  }
}

/** The unit's console sessions, shared by its telnet and SSH servers (one limit for both). */
export class SessionSlots {
  private live = 0
  /** Connections turned away because every session was taken. */
  refused = 0
  constructor(readonly max: number) {}
  get busy(): boolean {
    return this.live > 0
  }
  /** Take a slot; false (and counted as refused) when none is free. */
  take(): boolean {
    if (this.live >= this.max) {
      this.refused++
      return false
    }
    this.live++
    return true
  }
  /** Give a slot back; returns a function that does it at most once. */
  releaser(): () => void {
    let done = false
    return () => {
      if (done) return
      done = true
      this.live--
    }
  }
}

/**
 * A telnet listener for one device: negotiates as the units do (the server echoes and
 * suppresses go-ahead), runs `maxSessions` sessions at a time (APC and WTI units: one) and
 * closes any further connection at once.
 */
export class TelnetPromptServer {
  private server: net.Server | undefined
  private readonly sockets = new Set<net.Socket>()
  private port = 0
  readonly slots: SessionSlots

  constructor(
    private readonly listen: { host: string; port: number },
    private readonly sim: DeviceSimulator,
    private readonly makeFirmware: (t: Terminal) => PromptFirmware,
    slots: SessionSlots | number = 1,
  ) {
    this.slots = typeof slots === 'number' ? new SessionSlots(slots) : slots
  }

  /** Connections turned away because every session was taken. */
  get refused(): number {
    return this.slots.refused
  }

  get address(): { host: string; port: number } {
    return { host: this.listen.host, port: this.port }
  }

  /** Is a session open now? */
  get busy(): boolean {
    return this.slots.busy
  }

  async start(): Promise<void> {
    const server = net.createServer((s) => this.accept(s))
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.listen.port, this.listen.host, () => {
        server.off('error', reject)
        resolve()
      })
    })
    this.port = (server.address() as net.AddressInfo).port
    this.server = server
  }

  private accept(socket: net.Socket): void {
    socket.on('error', () => {})
    // A session is a telnet connection, from accept to close. One turned away because the
    // console is taken counts too (it began while another was open: an overlap), and ends at once.
    const endSession = this.sim.sessions.begin()
    if (!this.slots.take()) {
      endSession()
      socket.destroy()
      return
    }
    const release = this.slots.releaser()
    this.sockets.add(socket)
    socket.setNoDelay(true)
    const codec = new TelnetCodec(
      { local: [OPT.ECHO, OPT.SGA, OPT.BINARY], remote: [OPT.SGA, OPT.BINARY] },
      (b) => {
        if (!socket.destroyed) socket.write(b)
      },
    )
    codec.offer(OPT.ECHO)
    codec.offer(OPT.SGA)
    const conn = new PromptConnection(
      this.sim,
      {
        write: (b) => {
          if (!socket.destroyed) socket.write(codec.encode(b))
        },
        end: () => {
          // the console is free again as soon as it hung up (the next client may be waiting)
          release()
          socket.end(() => socket.destroy())
        },
      },
      this.makeFirmware,
    )
    socket.on('data', (b: Buffer) => conn.receive(codec.decode(b)))
    socket.on('close', () => {
      this.sockets.delete(socket)
      release()
      endSession()
      conn.gone()
    })
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy()
    const server = this.server
    this.server = undefined
    if (server) await new Promise<void>((r) => server.close(() => r()))
  }
}
