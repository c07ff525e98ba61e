import { attachSimulatedHid } from '../../drivers/usb-relay/hid.js'
import type { CommonLabSpec, MockDevice } from '../mock.js'
import { SerialLineEndpoint } from '../pty-line.js'
import { DeviceSimulator } from '../simulator.js'
import { Ch340Session } from './ch340.js'
import { DctBoard } from './hid.js'

export interface UsbRelaySpec {
  board: 'ch340' | 'dcttech'
  /** dcttech: the board's serial. */
  serial: string
}

let seq = 0

/**
 * A USB relay board: a CH340 board on a pseudo-terminal (or a raw TCP port), or a dcttech HID
 * board on an in-process simulated HID bus. A relay is a plug (`1`…`N`).
 */
export class UsbRelayMock implements MockDevice {
  readonly kind = 'usb-relay'
  readonly sim: DeviceSimulator
  readonly line: SerialLineEndpoint | undefined
  readonly board: DctBoard | undefined
  readonly hostName: string
  /** CH340: the frames received, for tests. */
  readonly frames: string[] = []
  private detach: (() => void) | undefined

  constructor(
    readonly id: string,
    common: CommonLabSpec,
    readonly spec: UsbRelaySpec,
  ) {
    const plugs =
      typeof common.plugs === 'number'
        ? Array.from({ length: common.plugs }, (_, i) => ({ id: String(i + 1), name: `relay ${i + 1}` }))
        : common.plugs.map((p) => ({ ...p, name: p.name ?? `relay ${p.id}` }))
    // relay boards power up with every relay open
    this.sim = new DeviceSimulator({
      plugs,
      transitionDelayMs: common.transitionDelayMs,
      initial: common.initial,
    })
    this.hostName = `${id}.${process.pid}.${++seq}`
    if (spec.board === 'ch340')
      this.line = new SerialLineEndpoint(
        common,
        (end) => new Ch340Session(this.sim, end, (f) => this.frames.push(f)),
      )
    else this.board = new DctBoard(this.sim, spec.serial, this.hostName)
  }

  get endpoint(): string {
    return this.line ? this.line.endpoint : `hid:${this.hostName}`
  }

  async start(): Promise<void> {
    if (this.line) await this.line.start()
    if (this.board)
      this.detach = attachSimulatedHid(this.hostName, this.board.host(`simulated HID host ${this.hostName}`))
  }

  info(): Record<string, unknown> {
    return {
      board: this.spec.board,
      ...(this.line ? this.line.info() : { simulated: this.hostName, serial: this.spec.serial }),
    }
  }

  async stop(): Promise<void> {
    this.detach?.()
    this.detach = undefined
    this.sim.close()
    await this.line?.stop()
  }
}
