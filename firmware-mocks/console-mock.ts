import { chmodSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { type Option, Opt } from '../core/options.js'
import type { CommonLabSpec, MockDevice } from './mock.js'
import { type PromptFirmware, type SessionSlots, TelnetPromptServer, type Terminal } from './prompt-server.js'
import { DeviceSimulator } from './simulator.js'

/**
 * What the console mocks (apc-menu, wti-nps, baytech) share: their login lab fields, and
 * {@link ConsoleMock}, a unit whose firmware (a PromptFirmware) answers on a telnet port.
 */

/**
 * The login fields of a console mock's lab section, declared once: the family gives its `user`
 * option, the default password and what `confirm` asks.
 */
export function consoleLabOptions<U extends Option<string> | Option<string | undefined>>(o: {
  user: U
  password: string
  confirm: string
}) {
  return {
    user: o.user,
    password: Opt.string("the user's password (the driver section gets it in a 0600 file)", {
      default: o.password,
    }),
    confirm: Opt.bool(o.confirm, { default: true }),
    maxLoginAttempts: Opt.int('failed logins before the unit hangs up', { default: 3, min: 1, max: 100 }),
  }
}

/** The login of a console mock's spec. */
export interface ConsoleLogin {
  /** Undefined: the unit asks a password only (older WTI). */
  user?: string
  password: string
}

/**
 * A console unit on a telnet port: the simulator, a firmware session per connection, at most
 * `sessions` at once (APC and WTI units: one), and a trace of console events (`login apc`,
 * `Immediate Off 3`, `logout`), oldest first.
 */
export class ConsoleMock<S extends ConsoleLogin> implements MockDevice {
  readonly sim: DeviceSimulator
  readonly telnet: TelnetPromptServer
  readonly trace: string[] = []
  /** Record a console event (the last 200 are kept). */
  protected readonly note = (e: string): void => {
    this.trace.push(e)
    if (this.trace.length > 200) this.trace.shift()
  }

  constructor(
    readonly kind: string,
    readonly id: string,
    common: CommonLabSpec,
    readonly spec: S,
    o: {
      firmware: (sim: DeviceSimulator, t: Terminal, note: (e: string) => void) => PromptFirmware
      /** The unit's own cycle: how long it keeps a plug off. */
      cycleOffMs?: number
      /** Sessions at once, or slots shared with another server of the unit (SSH). */
      sessions?: number | SessionSlots
    },
  ) {
    this.sim = new DeviceSimulator({
      plugs: common.plugs,
      transitionDelayMs: common.transitionDelayMs,
      initial: common.initial,
      cycleOffMs: o.cycleOffMs,
    })
    this.telnet = new TelnetPromptServer(
      common.listen ?? { host: '127.0.0.1', port: 0 },
      this.sim,
      (t) => o.firmware(this.sim, t, this.note),
      o.sessions,
    )
  }

  get address(): { host: string; port: number } {
    return this.telnet.address
  }

  get endpoint(): string {
    return `telnet://${this.address.host}:${this.address.port}`
  }

  start(): Promise<void> {
    return this.telnet.start()
  }

  async stop(): Promise<void> {
    this.sim.close()
    await this.telnet.stop()
  }

  /** The driver section that reaches the unit: its address, the user, the password in a 0600 file. */
  driverSection(secretsDir: string): Record<string, unknown> {
    const passwordFile = path.join(secretsDir, `${this.id}.${this.kind}-password`)
    writeFileSync(passwordFile, this.spec.password, { mode: 0o600 })
    chmodSync(passwordFile, 0o600)
    return {
      driver: this.kind,
      host: this.address.host,
      port: this.address.port,
      ...(this.spec.user !== undefined ? { user: this.spec.user } : {}),
      passwordFile,
    }
  }
}
