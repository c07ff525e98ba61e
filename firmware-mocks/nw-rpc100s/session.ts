import {
  INVALID_ENTRY,
  OK,
  OUTLET,
  type RelayCommand,
  UNIT_MS,
  parseCommand,
  reply,
} from '../../protocols/nw-rpc100s.js'
import type { LineEnd, SerialSession } from '../pty-line.js'
import { PacedWriter } from '../pty-pacing.js'
import { type DeviceSimulator, garbleBytes } from '../simulator.js'

/** The unit's settings. */
export interface NwRpc100sFirmware {
  baud: number
  /** The "default OFF" DIP switch: the relay's resting state is off, so every command is inverted. */
  defaultOff: boolean
  /** Answer at the line's speed (true) or at once. */
  paced: boolean
}

/** The longest command line the unit buffers; more is junk (Invalid Entry at the CR). */
const MAX_LINE = 64

/**
 * The RPC-100S's serial interface on one line: characters are buffered until CR (LF is ignored,
 * an empty line is nothing), then the line is one command: `OK` and the relay acts, or
 * `Invalid Entry`. The unit ignores the modem lines (RTS is wired high, DTR unused). The outlet
 * lives in the shared DeviceSimulator; the unit has no way to report it.
 */
export class NwRpc100sSession implements SerialSession {
  private buf = ''
  private baudOk = true
  private readonly out: PacedWriter
  private readonly timers = new Set<NodeJS.Timeout>()
  /** Ends the counts of exchanges whose reply is still held back (the `delay` fault). */
  private readonly exchanges = new Set<() => void>()

  constructor(
    private readonly sim: DeviceSimulator,
    private readonly fw: NwRpc100sFirmware,
    private readonly end: LineEnd,
    /** What happened on the line (`request //0,0,*;`, `reply OK`), for tests and the lab. */
    private readonly trace: (event: string) => void = () => {},
  ) {
    this.out = PacedWriter.forBaud((b) => this.end.write(this.baudOk ? b : garbleBytes(b)), fw.baud, fw.paced)
  }

  setDtr(up: boolean): void {
    // the unit has no modem-line logic; a closed port only loses what was still on the wire
    if (!up) {
      this.out.clear()
      this.buf = ''
    }
  }

  setClientBaud(baud: number): void {
    this.baudOk = baud <= 0 || baud === this.fw.baud
  }

  receive(bytes: Buffer): void {
    for (const c of bytes.toString('latin1')) {
      if (c === '\n') continue
      if (c !== '\r') {
        this.buf += c
        continue
      }
      const line = this.buf
      this.buf = ''
      if (line !== '') this.command(line)
    }
  }

  private command(line: string): void {
    // at the wrong speed the unit reads garbage: every line is junk to it
    const text = this.baudOk ? line : `\u00ff${line}`
    this.trace(`request ${text}`)
    const d = this.sim.faults.decide()
    if (d.disconnect) {
      this.end.disconnect()
      return
    }
    // stall: takes it and never answers (the line stays up); drop: never heard it
    if (d.stall || d.drop) return
    // a session on this line is one exchange, from the command's CR to its reply (sessionless
    // otherwise: no login, no state between commands); one that comes while a reply is still
    // held back overlaps it
    const endExchange = this.sim.sessions.begin()
    this.exchanges.add(endExchange)
    const cmd = text.length <= MAX_LINE ? parseCommand(text) : undefined
    const answer = cmd ? OK : INVALID_ENTRY
    // the relay acts whether or not the reply survives the line (garble corrupts the reply only)
    if (cmd) this.act(cmd)
    const bytes = Buffer.from(reply(answer), 'latin1')
    const out = d.garble
      ? Buffer.concat([bytes.subarray(0, 2), garbleBytes(bytes.subarray(2, -2)), bytes.subarray(-2)])
      : bytes
    const send = () => {
      this.trace(`reply ${answer}${d.garble ? ' (garbled)' : ''}`)
      this.out.write(out)
      this.exchanges.delete(endExchange)
      endExchange()
    }
    if (d.delayMs > 0) this.later(d.delayMs, send)
    else send()
  }

  /**
   * After `wait`, the relay is activated for `time` (for ever: `*`) or released (`0`). With the
   * DIP switch unset (as the clients need) activated = outlet off; with "default OFF", outlet on.
   */
  private act(cmd: RelayCommand): void {
    const unit = UNIT_MS[cmd.unit]
    const waitMs = cmd.wait * unit
    const activated = this.fw.defaultOff ? 'on' : 'off'
    const resting = this.fw.defaultOff ? 'off' : 'on'
    if (cmd.time === 'forever') this.sim.command(OUTLET, activated, waitMs)
    else if (cmd.time === 0) this.sim.command(OUTLET, resting, waitMs)
    else if (!this.fw.defaultOff) {
      // off for `time`, then back on: the shared model's delayed cycle
      this.sim.cycleOffMs = cmd.time * unit
      this.sim.command(OUTLET, 'cycle', waitMs)
    } else {
      // inverted: on for `time`, then off again — two commands in the model
      if (this.sim.command(OUTLET, 'on', waitMs))
        this.later(waitMs + this.sim.transitionDelayMs + cmd.time * unit, () =>
          this.sim.setPhysical(OUTLET, 'off'),
        )
    }
  }

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t)
      fn()
    }, ms)
    this.timers.add(t)
  }

  close(): void {
    for (const end of this.exchanges) end()
    this.exchanges.clear()
    for (const t of this.timers) clearTimeout(t)
    this.timers.clear()
    this.out.clear()
    this.buf = ''
  }
}
