import type { Unit } from '../../protocols/rps10.js'
import type { CommonLabSpec, MockDevice } from '../mock.js'
import { SerialLineEndpoint } from '../pty-line.js'
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
  readonly line: SerialLineEndpoint
  private powerTimer: NodeJS.Timeout | undefined
  /** The last line events of every session (`dtr up`, `ready`, `request 0?`), oldest first. */
  readonly trace: string[] = []
  private readonly note = (event: string) => {
    this.trace.push(event)
    if (this.trace.length > 200) this.trace.shift()
  }

  constructor(
    readonly id: string,
    common: CommonLabSpec,
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
    this.line = new SerialLineEndpoint(common, (end) => new Rps10Session(this.sim, this.spec, end, this.note))
  }

  get endpoint(): string {
    return this.line.endpoint
  }

  get address(): { host: string; port: number } {
    return this.line.address
  }

  get ptyPath(): string | undefined {
    return this.line.ptyPath
  }

  start(): Promise<void> {
    return this.line.start()
  }

  /**
   * The chain loses mains power for `offMs`: every outlet dies with it, and when power returns
   * the outlets come up as DIP switch 3 says. With the switch up a fenced node powers on again —
   * see docs/drivers/rps10.md.
   */
  powerFail(offMs: number): void {
    for (const s of this.line.sessions) (s as Rps10Session).reset()
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
      ...this.line.info(),
    }
  }

  async stop(): Promise<void> {
    if (this.powerTimer) clearTimeout(this.powerTimer)
    this.sim.close()
    await this.line.stop()
  }
}
