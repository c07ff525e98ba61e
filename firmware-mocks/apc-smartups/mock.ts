import type { CommonLabSpec, MockDevice } from '../mock.js'
import { SerialLineEndpoint } from '../pty-line.js'
import { DeviceSimulator } from '../simulator.js'
import { LOAD, SmartUpsSession, type SmartUpsUnit } from './session.js'

export interface SmartUpsSpec {
  baud: number
  shutdownDelays: string[]
  wakeupDelays: string[]
  onBattery: boolean
  paced: boolean
}

/**
 * An APC Smart-UPS on its serial port (a pty or a raw TCP port): one "plug", the UPS load.
 * Its shutdown and wake-up delays are stepped with `-` and kept across connections, as in the
 * UPS's EEPROM — cluster-glue changes them to the smallest and puts them back.
 */
export class SmartUpsMock implements MockDevice {
  readonly kind = 'apc-smartups'
  readonly sim: DeviceSimulator
  readonly line: SerialLineEndpoint
  readonly ups: SmartUpsUnit

  constructor(
    readonly id: string,
    common: CommonLabSpec,
    readonly spec: SmartUpsSpec,
  ) {
    this.sim = new DeviceSimulator({
      plugs: [{ id: LOAD, name: 'UPS load' }],
      transitionDelayMs: common.transitionDelayMs,
      initial: common.initial,
    })
    this.ups = {
      sim: this.sim,
      baud: spec.baud,
      paced: spec.paced,
      shutdownDelays: [...spec.shutdownDelays],
      wakeupDelays: [...spec.wakeupDelays],
      shutdownIdx: 0,
      wakeupIdx: 0,
      onBattery: spec.onBattery,
      resetting: false,
      armed: undefined,
      timers: new Set(),
    }
    this.line = new SerialLineEndpoint(common, (end) => new SmartUpsSession(this.ups, end))
  }

  get endpoint(): string {
    return this.line.endpoint
  }

  get ptyPath(): string | undefined {
    return this.line.ptyPath
  }

  start(): Promise<void> {
    return this.line.start()
  }

  /** The delays as the UPS holds them now (`p`, `r`). */
  get delays(): { shutdown: string; wakeup: string } {
    return {
      shutdown: this.ups.shutdownDelays[this.ups.shutdownIdx]!,
      wakeup: this.ups.wakeupDelays[this.ups.wakeupIdx]!,
    }
  }

  info(): Record<string, unknown> {
    return { baud: this.spec.baud, onBattery: this.ups.onBattery, delays: this.delays, ...this.line.info() }
  }

  async stop(): Promise<void> {
    for (const t of this.ups.timers) clearTimeout(t)
    this.ups.timers.clear()
    this.sim.close()
    await this.line.stop()
  }
}
