import { OUTLET } from '../../protocols/nw-rpc100s.js'
import type { CommonLabSpec, MockDevice } from '../mock.js'
import { SerialLineEndpoint } from '../pty-line.js'
import { DeviceSimulator } from '../simulator.js'
import { type NwRpc100sFirmware, NwRpc100sSession } from './session.js'

export type NwRpc100sSpec = NwRpc100sFirmware

/**
 * A Night/Ware RPC-100S on its serial port: a real pseudo-terminal (`pty: PATH`) or a raw TCP
 * port (`listen:`, as a terminal server offers it). One plug, `outlet`. The simulator is the
 * meter on the outlet: tests and the lab's control API see what the unit itself cannot report.
 */
export class NwRpc100sMock implements MockDevice {
  readonly kind = 'nw-rpc100s'
  readonly sim: DeviceSimulator
  readonly line: SerialLineEndpoint
  /** The last line events of every session (`request //0,0,*;`, `reply OK`), oldest first. */
  readonly trace: string[] = []
  private readonly note = (event: string) => {
    this.trace.push(event)
    if (this.trace.length > 200) this.trace.shift()
  }

  constructor(
    readonly id: string,
    common: CommonLabSpec,
    readonly spec: NwRpc100sSpec,
  ) {
    this.sim = new DeviceSimulator({
      plugs: [{ id: OUTLET, name: 'RPC-100S outlet' }],
      transitionDelayMs: common.transitionDelayMs,
      initial: common.initial,
    })
    this.line = new SerialLineEndpoint(
      common,
      (end) => new NwRpc100sSession(this.sim, this.spec, end, this.note),
    )
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

  info(): Record<string, unknown> {
    return { baud: this.spec.baud, defaultOff: this.spec.defaultOff, verifies: false, ...this.line.info() }
  }

  async stop(): Promise<void> {
    this.sim.close()
    await this.line.stop()
  }
}
