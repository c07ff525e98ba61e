import { mkdirSync } from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import type { Unit } from '../../protocols/rps10.js'
import type { CommonLabSpec, MockDevice } from '../mock.js'
import { PtyEndpoint } from '../pty.js'
import { DeviceSimulator, type PhysicalState } from '../simulator.js'
import { type Rps10Firmware, Rps10Session } from './session.js'

export interface Rps10MockSpec extends Rps10Firmware {
  /** DIP switch 3: outlets on (up) or off (down, as shipped) when the unit gets power. */
  powerUpState: PhysicalState
  /** The lab gave `initial`; otherwise the chain starts as it would at power-up. */
  explicitInitial: boolean
}

/**
 * A WTI RPS-10 chain on one serial line: on a real pseudo-terminal (`pty: PATH`, any program
 * opens it as a serial port) or on a raw TCP port (`listen:`, as a terminal server offers it).
 * Plug ids are the unit addresses `0`…`9`.
 */
export class Rps10Mock implements MockDevice {
  readonly kind = 'rps10'
  readonly sim: DeviceSimulator
  private pty: PtyEndpoint | undefined
  private server: net.Server | undefined
  private readonly sessions = new Set<Rps10Session>()
  private readonly sockets = new Set<net.Socket>()
  private port = 0
  private powerTimer: NodeJS.Timeout | undefined
  /** The last line events of every session (`dtr up`, `ready`, `request 0?`), oldest first. */
  readonly trace: string[] = []
  private readonly note = (event: string) => {
    this.trace.push(event)
    if (this.trace.length > 200) this.trace.shift()
  }

  constructor(
    readonly id: string,
    private readonly common: CommonLabSpec,
    readonly spec: Rps10MockSpec,
  ) {
    const plugs =
      typeof common.plugs === 'number'
        ? Array.from({ length: common.plugs }, (_, i) => String(i))
        : common.plugs.map((p) => ({ ...p, name: p.name ?? `unit ${p.id}` }))
    this.sim = new DeviceSimulator({
      plugs: plugs.map((p) => (typeof p === 'string' ? { id: p, name: `unit ${p}` } : p)),
      transitionDelayMs: common.transitionDelayMs,
      cycleOffMs: spec.toggleDelayMs,
      initial: spec.explicitInitial ? common.initial : spec.powerUpState,
    })
  }

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

  async start(): Promise<void> {
    if (this.common.pty) await this.startPty(this.common.pty)
    else await this.startTcp()
  }

  private async startPty(at: string): Promise<void> {
    mkdirSync(path.dirname(at), { recursive: true })
    const pty = new PtyEndpoint(at)
    const session = new Rps10Session(
      this.sim,
      this.spec,
      {
        write: (b) => pty.write(b),
        disconnect: () => pty.hangup(),
      },
      this.note,
    )
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
      const session = new Rps10Session(
        this.sim,
        this.spec,
        {
          write: (b) => socket.writable && socket.write(b),
          disconnect: () => socket.destroy(),
        },
        this.note,
      )
      this.sessions.add(session)
      socket.on('data', (b: Buffer) => session.receive(b))
      socket.on('error', () => {})
      socket.on('close', () => {
        session.close()
        this.sessions.delete(session)
        this.sockets.delete(socket)
      })
      // A terminal server opens the port for a connection, raising DTR: the unit says Ready.
      session.setDtr(true)
    })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.common.listen?.port ?? 0, this.common.listen?.host ?? '127.0.0.1', () => resolve())
    })
    this.port = (server.address() as net.AddressInfo).port
    this.server = server
  }

  /**
   * The chain loses mains power for `offMs`: every outlet dies with it, and when power returns
   * the outlets come up as DIP switch 3 says. With the switch up a fenced node powers on again —
   * see docs/drivers/rps10.md.
   */
  powerFail(offMs: number): void {
    for (const s of this.sessions) s.reset()
    for (const id of this.sim.plugIds()) this.sim.setPhysical(id, 'off')
    if (this.powerTimer) clearTimeout(this.powerTimer)
    this.powerTimer = setTimeout(() => {
      this.powerTimer = undefined
      for (const id of this.sim.plugIds()) this.sim.setPhysical(id, this.spec.powerUpState)
    }, offMs)
  }

  info(): Record<string, unknown> {
    return {
      baud: this.spec.baud,
      toggleDelayMs: this.spec.toggleDelayMs,
      powerUpState: this.spec.powerUpState,
      units: this.sim.plugIds() as Unit[],
      ...(this.pty ? { tty: this.pty.tty, clientLine: this.pty.line } : {}),
    }
  }

  async stop(): Promise<void> {
    if (this.powerTimer) clearTimeout(this.powerTimer)
    for (const s of this.sessions) s.close()
    this.sessions.clear()
    for (const s of this.sockets) s.destroy()
    this.sim.close()
    const pty = this.pty
    this.pty = undefined
    await pty?.stop()
    const server = this.server
    this.server = undefined
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()))
  }
}
