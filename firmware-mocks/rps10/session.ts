import { performance } from 'node:perf_hooks'
import {
  COMPLETE,
  FRAME_LENGTH,
  READY,
  type Unit,
  byteTimeMs,
  isUnit,
  plugLine,
  scanRequests,
} from '../../protocols/rps10.js'
import type { LineEnd, SerialSession } from '../pty-line.js'
import { type DeviceSimulator, garbleBytes } from '../simulator.js'
import { PacedWriter } from '../pty-pacing.js'

/** The unit's settings: what the DIP switches and the firmware decide. */
export interface Rps10Firmware {
  baud: 9600 | 2400
  /** `T`: how long the outlet stays off (DIP switch: 5 or 10 s on real units). */
  toggleDelayMs: number
  /** From DTR raised to `RPS-10 Ready`. */
  readyDelayMs: number
  /** A command that comes sooner than this after the previous `Complete` is ignored. */
  commandGapMs: number
  /** `\r\n` or `\n\r`: units differ. */
  eol: '\r\n' | '\n\r'
  /** Answer at the line's speed (true) or at once. */
  paced: boolean
}

/**
 * The unit chain's serial interface on one line: reads requests, honours DTR (held in reset
 * while low; `RPS-10 Ready` after it rises), runs one command at a time and answers with the
 * unit's lines. The outlets live in the shared DeviceSimulator (one relay per unit).
 *
 * Sessions (DeviceSimulator.sessions): a serial line has no login and cannot tell who is
 * writing, so a session here is one command exchange, from the accepted request to its
 * `Complete` (or a reset). A request arriving while an exchange runs is a second session at
 * once: counted as an overlap (the unit ignores it, as the real one does).
 */
export class Rps10Session implements SerialSession {
  private rx: Buffer = Buffer.alloc(0)
  private dtr = false
  private baudOk = true
  private stalled = false
  private busy = false
  /** Ends the count of the exchange in progress (DeviceSimulator.sessions). */
  private endExchange: (() => void) | undefined
  private lastDoneAt = Number.NEGATIVE_INFINITY
  private readonly timers = new Set<NodeJS.Timeout>()
  private readonly out: PacedWriter

  constructor(
    private readonly sim: DeviceSimulator,
    private readonly fw: Rps10Firmware,
    private readonly end: LineEnd,
    /** What happened on the line (`dtr up`, `ready`, `request 3?`), for tests and the lab. */
    private readonly trace: (event: string) => void = () => {},
  ) {
    this.out = PacedWriter.forBaud((b) => this.end.write(this.baudOk ? b : garbleBytes(b)), fw.baud, fw.paced)
  }

  /** DTR from the client. Low: the interface is held in reset. Rising: reset, then the banner. */
  setDtr(up: boolean): void {
    if (up === this.dtr) return
    this.dtr = up
    this.trace(up ? 'dtr up' : 'dtr down')
    this.reset()
    if (up)
      this.after(this.fw.readyDelayMs, () => {
        this.trace('ready')
        this.line(READY)
      })
  }

  /**
   * The speed the client's UART runs at (ptys report it). At another speed than the unit's, a
   * real line carries garbage both ways; so does this one.
   */
  setClientBaud(baud: number): void {
    this.baudOk = baud <= 0 || baud === this.fw.baud
  }

  /** The unit lost power or rebooted: everything in flight is gone. */
  reset(): void {
    for (const t of this.timers) clearTimeout(t)
    this.timers.clear()
    this.out.clear()
    this.rx = Buffer.alloc(0)
    this.finish()
    this.stalled = false
  }

  /** The exchange in progress is over (its `Complete` went out, or the unit was reset). */
  private finish(): void {
    this.busy = false
    this.endExchange?.()
    this.endExchange = undefined
  }

  receive(bytes: Buffer): void {
    if (!this.dtr || this.stalled || !this.baudOk) return
    const { requests, rest } = scanRequests(Buffer.concat([this.rx, bytes]))
    this.rx = Buffer.from(rest.subarray(-64))
    // the request is there once its last byte has crossed the line
    const wire = this.fw.paced ? FRAME_LENGTH * byteTimeMs(this.fw.baud) : 0
    for (const r of requests) this.after(wire, () => this.request(r.address, r.cmd))
  }

  private request(address: string, cmd: string): void {
    if (this.stalled) return
    // a busy unit, or one asked again before its pause is over, does not hear the command
    if (this.busy || performance.now() < this.lastDoneAt + this.fw.commandGapMs) {
      // a command during another's exchange is a second session on the line: an overlap (it
      // lasts no time, the unit never hears it); one in the pause after Complete is not
      if (this.busy) this.sim.sessions.begin()()
      this.trace(`ignored ${address}${cmd}`)
      return
    }
    this.trace(`request ${address}${cmd}`)
    const d = this.sim.faults.decide()
    if (d.disconnect) {
      this.end.disconnect()
      return
    }
    if (d.stall) {
      this.stalled = true // hung until the next DTR reset or connection
      return
    }
    if (d.drop) return
    const units =
      address === '*'
        ? (this.sim.plugIds().filter(isUnit) as Unit[])
        : isUnit(address) && this.sim.has(address)
          ? [address]
          : []
    // no unit at that address on the chain, or a command the firmware does not know: silence
    if (units.length === 0 || !['0', '1', 'T', '?'].includes(cmd)) return
    this.busy = true
    this.endExchange = this.sim.sessions.begin()
    const say = (at: number, text: string) => this.after(at + d.delayMs, () => this.line(text, d.garble))
    const done = (at: number) =>
      this.after(at + d.delayMs, () => {
        this.line(COMPLETE, d.garble)
        this.finish()
        this.lastDoneAt = performance.now()
      })
    const relay = this.sim.transitionDelayMs
    if (cmd === '?') {
      for (const u of units) say(0, plugLine(u, this.sim.state(u)))
      done(0)
    } else if (cmd === 'T') {
      for (const u of units) {
        this.sim.cycleOffMs = this.fw.toggleDelayMs
        this.sim.command(u, 'cycle')
        say(relay, plugLine(u, 'off'))
        say(relay + this.fw.toggleDelayMs, plugLine(u, 'on'))
      }
      done(relay + this.fw.toggleDelayMs)
    } else {
      const state = cmd === '1' ? 'on' : 'off'
      // a lying unit acknowledges what it was told and leaves the relay as it was
      for (const u of units) {
        this.sim.command(u, state)
        say(relay, plugLine(u, state))
      }
      done(relay)
    }
  }

  private line(text: string, garble = false): void {
    const bytes = Buffer.from(text + this.fw.eol, 'latin1')
    this.out.write(garble ? Buffer.concat([garbleBytes(bytes.subarray(0, -2)), bytes.subarray(-2)]) : bytes)
  }

  private after(ms: number, fn: () => void): void {
    if (ms <= 0) {
      fn()
      return
    }
    const t = setTimeout(() => {
      this.timers.delete(t)
      fn()
    }, ms)
    this.timers.add(t)
  }

  close(): void {
    this.reset()
    this.dtr = false
  }
}
