import { CH340_START, parseCh340Frame } from '../../protocols/usb.js'
import type { LineEnd, SerialSession } from '../pty-line.js'
import type { DeviceSimulator } from '../simulator.js'

/**
 * A CH340 relay board's MCU on the serial line: reads `A0 ch op sum` frames and switches the relay.
 * It answers nothing, ever (a bad checksum, an unknown channel, `FF`: silently ignored).
 */
export class Ch340Session implements SerialSession {
  private rx: Buffer = Buffer.alloc(0)
  private readonly timers = new Set<NodeJS.Timeout>()

  constructor(
    private readonly sim: DeviceSimulator,
    private readonly end: LineEnd,
    /** Frames received, `A0 01 00 A1`, for tests. */
    private readonly trace: (frame: string) => void = () => {},
  ) {}

  receive(bytes: Buffer): void {
    this.rx = Buffer.concat([this.rx, bytes])
    for (;;) {
      const start = this.rx.indexOf(CH340_START)
      if (start < 0) {
        this.rx = Buffer.alloc(0)
        return
      }
      if (this.rx.length - start < 4) {
        this.rx = this.rx.subarray(start)
        return
      }
      const frame = this.rx.subarray(start, start + 4)
      this.rx = this.rx.subarray(start + 4)
      this.frame(Buffer.from(frame))
    }
  }

  private frame(frame: Buffer): void {
    this.trace(
      frame
        .toString('hex')
        .toUpperCase()
        .replace(/(..)(?!$)/g, '$1 '),
    )
    const d = this.sim.faults.decide()
    if (d.disconnect) {
      this.end.disconnect()
      return
    }
    // a frame lost or mangled on the wire: the checksum fails, the MCU ignores it
    if (d.drop || d.stall || d.garble) return
    const f = parseCh340Frame(frame)
    if (!f || !this.sim.has(String(f.channel))) return
    const apply = () => this.sim.command(String(f.channel), f.on ? 'on' : 'off')
    if (!d.delayMs) {
      apply()
      return
    }
    const t = setTimeout(() => {
      this.timers.delete(t)
      apply()
    }, d.delayMs)
    this.timers.add(t)
  }

  setDtr(_up: boolean): void {}

  setClientBaud(_baud: number): void {}

  close(): void {
    for (const t of this.timers) clearTimeout(t)
    this.timers.clear()
  }
}
