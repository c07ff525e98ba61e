import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { attachSimulatedHost } from '../../drivers/usb-hub/host.js'
import type { CommonLabSpec, MockDevice } from '../mock.js'
import { DeviceSimulator } from '../simulator.js'
import { UsbBridge } from './bridge.js'
import { UsbHubModel, type UsbHubModelSpec } from './hub.js'

let seq = 0

/**
 * A USB hub on a simulated bus: the driver reaches it in-process, as a simulated host named in its
 * config (`simulated:`), with the `usb` package's device interface, and through a fake sysfs tree
 * in a temporary directory (`sysfsRoot:`). A port is a plug (`1`…`N`).
 */
export class UsbHubMock implements MockDevice {
  readonly kind = 'usb-hub'
  readonly sim: DeviceSimulator
  readonly model: UsbHubModel
  /** The simulated host's name, unique in this process. */
  readonly hostName: string
  private detach: (() => void) | undefined
  /** With `listen:`, the bus is also served over TCP for a driver in another process. */
  private bridge: UsbBridge | undefined

  constructor(
    readonly id: string,
    private readonly common: CommonLabSpec,
    readonly spec: UsbHubModelSpec,
  ) {
    const plugs =
      typeof common.plugs === 'number'
        ? Array.from({ length: common.plugs }, (_, i) => ({ id: String(i + 1), name: `port ${i + 1}` }))
        : common.plugs.map((p) => ({ ...p, name: p.name ?? `port ${p.id}` }))
    this.sim = new DeviceSimulator({
      plugs,
      transitionDelayMs: common.transitionDelayMs,
      initial: common.initial,
    })
    this.hostName = `${id}.${process.pid}.${++seq}`
    this.model = new UsbHubModel(this.sim, spec, mkdtempSync(path.join(tmpdir(), 'fencegate-sysfs-')))
  }

  get endpoint(): string {
    if (this.bridge) return `tcp://${this.address.host}:${this.bridge.port}/${this.spec.location}`
    return `usb:${this.hostName}/${this.spec.location}`
  }

  get address(): { host: string; port: number } {
    return { host: this.common.listen?.host ?? '127.0.0.1', port: this.bridge?.port ?? 0 }
  }

  /** What a driver config's `simulated:` says: the in-process host's name, or the bridge's URL. */
  get simulated(): string {
    return this.bridge ? `tcp://${this.address.host}:${this.bridge.port}` : this.hostName
  }

  async start(): Promise<void> {
    this.model.writeSysfs()
    const host = this.model.host(`simulated USB host ${this.hostName}`)
    this.detach = attachSimulatedHost(this.hostName, host)
    if (this.common.listen) {
      this.bridge = new UsbBridge(host)
      await this.bridge.start(this.common.listen)
    }
  }

  info(): Record<string, unknown> {
    return {
      usb: this.spec.usb,
      switching: this.spec.switching,
      location: this.spec.location,
      ...(this.spec.usb === 3 ? { companion: this.spec.companion } : {}),
      sysfsRoot: this.model.sysfsRoot,
      simulated: this.simulated,
    }
  }

  async stop(): Promise<void> {
    this.detach?.()
    this.detach = undefined
    await this.bridge?.stop()
    this.sim.close()
    this.model.removeSysfs()
  }
}
