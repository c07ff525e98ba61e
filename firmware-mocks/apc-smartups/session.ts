import {
  CMD,
  NOT_AVAILABLE,
  REG1_LOAD_OFF,
  REG3_RESET,
  REPEAT_MIN_MS,
  SMART_OK,
  STATUS,
  formatRegister,
} from '../../protocols/apc-smart.js'
import type { LineEnd, SerialSession } from '../pty-line.js'
import { PacedWriter } from '../pty-pacing.js'
import { type DeviceSimulator, garbleBytes } from '../simulator.js'

/** What the UPS keeps across connections (its EEPROM and its state machine). */
export interface SmartUpsUnit {
  sim: DeviceSimulator
  baud: number
  paced: boolean
  /** Values `p` steps through, current first; seconds, 3 digits. */
  shutdownDelays: string[]
  wakeupDelays: string[]
  shutdownIdx: number
  wakeupIdx: number
  onBattery: boolean
  /** A shutdown-and-return (`@`) or a stay-off shutdown (`S`) is under way. */
  resetting: boolean
  /** The first byte of a twice-sent command (`Z`, ^N) and when it came. */
  armed: { cmd: string; at: number } | undefined
  timers: Set<NodeJS.Timeout>
}

export const LOAD = 'load'

/**
 * The mock sees when bytes arrive, not when they were sent: a pty relay or a busy machine can
 * bunch them up. The 1.5 s rule is checked with this much slack, so the emulation does not
 * fail a client that keeps the rule (the driver refuses a repeatGap under 1.5 s anyway).
 */
const ARRIVAL_JITTER_MS = 150

/**
 * One line to an APC Smart-UPS. Bytes are commands; `@` collects three digits. Nothing but `Y`
 * is answered until the line is in smart mode. `Z` and ^N act only when sent twice at least
 * 1.5 s apart, as the firmware insists, so that line noise cannot drop the load.
 */
export class SmartUpsSession implements SerialSession {
  private smart = false
  private lastVar: 'p' | 'r' | undefined
  private at: string | undefined
  private baudOk = true
  private stalled = false
  private readonly out: PacedWriter

  constructor(
    private readonly ups: SmartUpsUnit,
    private readonly end: LineEnd,
  ) {
    this.out = PacedWriter.forBaud(
      (b) => this.end.write(this.baudOk ? b : garbleBytes(b)),
      ups.baud,
      ups.paced,
    )
  }

  setDtr(up: boolean): void {
    // the UPS ignores DTR; a new line starts in dumb mode
    if (!up) {
      this.smart = false
      this.stalled = false
      this.at = undefined
    }
  }

  setClientBaud(baud: number): void {
    this.baudOk = baud <= 0 || baud === this.ups.baud
  }

  receive(bytes: Buffer): void {
    if (!this.baudOk || this.stalled) return
    for (const c of bytes.toString('latin1')) {
      if (this.at !== undefined) {
        if (!/[0-9]/.test(c)) {
          this.at = undefined
          continue
        }
        this.at += c
        if (this.at.length === 4) {
          const cmd = this.at
          this.at = undefined
          this.command(cmd)
        }
        continue
      }
      if (c === '@') this.at = '@'
      else this.command(c)
    }
  }

  private command(cmd: string): void {
    if (!this.smart && cmd !== CMD.smartMode) return
    const d = this.ups.sim.faults.decide()
    if (d.disconnect) {
      this.end.disconnect()
      return
    }
    if (d.stall) {
      this.stalled = true
      return
    }
    if (d.drop) return
    const say = (text: string) => {
      const bytes = Buffer.from(`${text}\r\n`, 'latin1')
      const out = d.garble ? Buffer.concat([garbleBytes(bytes.subarray(0, -2)), bytes.subarray(-2)]) : bytes
      if (d.delayMs > 0) this.later(d.delayMs, () => this.out.write(out))
      else this.out.write(out)
    }
    const reply = this.execute(cmd)
    if (reply !== undefined) say(reply)
  }

  /** Act on one command; the reply line, or undefined for none. */
  private execute(cmd: string): string | undefined {
    const ups = this.ups
    const loadOff = ups.sim.state(LOAD) === 'off'
    switch (cmd) {
      case CMD.smartMode:
        this.smart = true
        return SMART_OK
      case CMD.status:
        return formatRegister(ups.onBattery ? STATUS.onBattery : STATUS.onLine)
      case CMD.register1:
        return formatRegister(loadOff ? REG1_LOAD_OFF : 0)
      case CMD.register3:
        return formatRegister(ups.resetting ? REG3_RESET : 0)
      case CMD.shutdownDelay:
        this.lastVar = 'p'
        return ups.shutdownDelays[ups.shutdownIdx]!
      case CMD.wakeupDelay:
        this.lastVar = 'r'
        return ups.wakeupDelays[ups.wakeupIdx]!
      case CMD.next:
        if (this.lastVar === 'p') ups.shutdownIdx = (ups.shutdownIdx + 1) % ups.shutdownDelays.length
        else if (this.lastVar === 'r') ups.wakeupIdx = (ups.wakeupIdx + 1) % ups.wakeupDelays.length
        else return 'NO'
        return 'OK'
      case CMD.loadOff:
      case CMD.loadOn: {
        const now = performance.now()
        const armed = ups.armed
        ups.armed = { cmd, at: now }
        // the second byte of the pair, late enough: act (a lying UPS acknowledges and does nothing)
        if (
          !armed ||
          armed.cmd !== cmd ||
          now - armed.at < REPEAT_MIN_MS - ARRIVAL_JITTER_MS ||
          now - armed.at > 10_000
        )
          return undefined
        ups.armed = undefined
        ups.sim.command(LOAD, cmd === CMD.loadOff ? 'off' : 'on')
        return cmd === CMD.loadOff ? 'OK' : undefined
      }
      case CMD.shutdownOnBattery:
        if (!ups.onBattery || loadOff || ups.resetting) return NOT_AVAILABLE
        this.shutdown(false)
        return 'OK'
      default:
        if (!cmd.startsWith('@') || loadOff || ups.resetting) return NOT_AVAILABLE
        this.shutdown(true)
        return 'OK'
    }
  }

  /**
   * After the grace delay the load goes off; with `back` (`@`), it returns after the wake-up delay
   * (at least a second): the shared model's delayed cycle. Without (`S`), it stays off.
   */
  private shutdown(back: boolean): void {
    const ups = this.ups
    const sim = ups.sim
    const grace = Number(ups.shutdownDelays[ups.shutdownIdx]) * 1000
    const wake = Math.max(1000, Number(ups.wakeupDelays[ups.wakeupIdx]) * 1000)
    sim.cycleOffMs = wake
    // a lying UPS acknowledges and never shuts down: no reset under way then
    if (!sim.command(LOAD, back ? 'cycle' : 'off', grace)) return
    ups.resetting = true
    this.later(grace + sim.transitionDelayMs + (back ? wake : 0), () => {
      ups.resetting = false
    })
  }

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.ups.timers.delete(t)
      fn()
    }, ms)
    this.ups.timers.add(t)
  }

  close(): void {
    this.out.clear()
  }
}
