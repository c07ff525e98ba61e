import type { CommonLabSpec, MockDevice } from '../mock.js'
import { SessionSlots, TelnetPromptServer } from '../prompt-server.js'
import { SshPromptServer } from '../ssh-server.js'
import { DeviceSimulator } from '../simulator.js'
import { ApcMenuFirmware, type ApcFirmwareSpec } from './firmware.js'

export interface ApcMenuMockSpec extends ApcFirmwareSpec {
  /** Also an SSH console (the same firmware, password checked by SSH). */
  ssh?: { listen: { host: string; port: number } }
}

/**
 * An APC MasterSwitch / Switched Rack PDU console on a telnet port: the menu firmware of the
 * AP9211, the AP79xx v2/v3 (and a v3 with its menus moved: "menu drift"), or the AOS v5–7 CLI.
 * One session at a time, as the units allow.
 */
export class ApcMenuMock implements MockDevice {
  readonly kind = 'apc-menu'
  readonly sim: DeviceSimulator
  readonly telnet: TelnetPromptServer
  readonly ssh: SshPromptServer | undefined
  /** Console events (`login apc`, `Immediate Off 3`, `logout`), oldest first. */
  readonly trace: string[] = []

  constructor(
    readonly id: string,
    common: CommonLabSpec,
    readonly spec: ApcMenuMockSpec,
  ) {
    this.sim = new DeviceSimulator({
      plugs: common.plugs,
      transitionDelayMs: common.transitionDelayMs,
      initial: common.initial,
    })
    const note = (e: string) => {
      this.trace.push(e)
      if (this.trace.length > 200) this.trace.shift()
    }
    // one console session for telnet and SSH together, as on the unit
    const slots = new SessionSlots(1)
    this.telnet = new TelnetPromptServer(
      common.listen ?? { host: '127.0.0.1', port: 0 },
      this.sim,
      (t) => new ApcMenuFirmware(this.sim, this.spec, t, note),
      slots,
    )
    this.ssh = spec.ssh
      ? new SshPromptServer(
          spec.ssh.listen,
          this.sim,
          { user: spec.user, password: spec.password },
          slots,
          (t) => new ApcMenuFirmware(this.sim, this.spec, t, note, true),
        )
      : undefined
  }

  get address(): { host: string; port: number } {
    return this.telnet.address
  }

  get endpoint(): string {
    return `telnet://${this.address.host}:${this.address.port}`
  }

  async start(): Promise<void> {
    await this.telnet.start()
    await this.ssh?.start()
  }

  info(): Record<string, unknown> {
    return {
      firmware: this.spec.firmware,
      user: this.spec.user,
      confirm: this.spec.confirm,
      sessionOpen: this.telnet.busy,
    }
  }

  async stop(): Promise<void> {
    this.sim.close()
    await Promise.all([this.telnet.stop(), this.ssh?.stop()])
  }
}
