import { ConsoleMock } from '../console-mock.js'
import type { CommonLabSpec } from '../mock.js'
import { SessionSlots } from '../prompt-server.js'
import { SshPromptServer } from '../ssh-server.js'
import { ApcMenuFirmware, type ApcFirmwareSpec } from './firmware.js'

export interface ApcMenuMockSpec extends ApcFirmwareSpec {
  /** Also an SSH console (the same firmware, password checked by SSH). */
  ssh?: { listen: { host: string; port: number } }
}

/**
 * An APC MasterSwitch / Switched Rack PDU console on a telnet port: the menu firmware of the
 * AP9211, the AP79xx v2/v3 (and a v3 with its menus moved: "menu drift"), or the AOS v5–7 CLI;
 * with `ssh`, the same console on an SSH port too. One session at a time for both, as on the unit.
 */
export class ApcMenuMock extends ConsoleMock<ApcMenuMockSpec> {
  readonly ssh: SshPromptServer | undefined

  constructor(id: string, common: CommonLabSpec, spec: ApcMenuMockSpec) {
    const slots = new SessionSlots(1)
    super('apc-menu', id, common, spec, {
      firmware: (sim, t, note) => new ApcMenuFirmware(sim, spec, t, note),
      sessions: slots,
    })
    this.ssh = spec.ssh
      ? new SshPromptServer(
          spec.ssh.listen,
          this.sim,
          { user: spec.user, password: spec.password },
          slots,
          (t) => new ApcMenuFirmware(this.sim, spec, t, this.note, true),
        )
      : undefined
  }

  override async start(): Promise<void> {
    await super.start()
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

  override async stop(): Promise<void> {
    await Promise.all([super.stop(), this.ssh?.stop()])
  }

  /** A unit with SSH is reached over SSH, its host key pinned. */
  override driverSection(secretsDir: string): Record<string, unknown> {
    const telnet = super.driverSection(secretsDir)
    if (!this.ssh) return telnet
    const { host, port } = this.ssh.address
    return { ...telnet, transport: 'ssh', host, port, hostKey: this.ssh.fingerprint }
  }
}
