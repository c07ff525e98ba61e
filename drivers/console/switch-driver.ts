import { FenceError } from '../../core/errors.js'
import type { DeviceAction, PowerState } from '../../core/types.js'
import type { Call, PlugInfo, PowerDriver } from '../driver.js'
import type { Script } from '../expect/expect.js'
import { TelnetStream } from '../transport/telnet-stream.js'
import { type ConsoleDriverOptions, ConsoleSession } from './session.js'

/**
 * One model of plug-table console (WTI NPS, BayTech RPC) as data: its scripts (drivers/<kind>/
 * scripts.ts), the list its status script collects (rows `n`, `name`, `state`), and which plug
 * ids it takes — one plug exactly, never a name, group or all-plugs id.
 */
export interface ConsoleSwitchModel {
  kind: string
  login(timeoutMs: number): Script
  /** Collects the rows into `rows`. */
  status(timeoutMs: number): Script
  rows: string
  /** on / off / cycle (the unit's own), param `plug`; back when the unit gave its prompt again. */
  command(action: DeviceAction, timeoutMs: number): Script
  logout(timeoutMs: number): Script
  plug: { pattern: RegExp; noun: string; hint: string }
  /** The plug id of a row's number (BayTech: `03` is `3`); the number as it stands otherwise. */
  plugId?(n: string): string
}

export interface ConsoleSwitchConfig {
  host: string
  port: number
  /** Only asked by some units (newer WTI); empty when absent. */
  user?: string
  connectTimeoutMs: number
  loginTimeoutMs: number
  replyTimeoutMs: number
  /** A command until the prompt returns. */
  commandTimeoutMs: number
}

/**
 * A plug-table console over telnet: one session per call (login, the status table or one
 * command, logout). Plug ids are plug numbers.
 */
export class ConsoleSwitchDriver implements PowerDriver {
  readonly kind: string
  private readonly console: ConsoleSession
  private readonly s: Record<'status' | DeviceAction | 'logout', Script>

  constructor(
    private readonly model: ConsoleSwitchModel,
    cfg: ConsoleSwitchConfig,
    private readonly deviceId: string,
    password: string,
    opts: ConsoleDriverOptions = {},
  ) {
    this.kind = model.kind
    this.s = {
      status: model.status(cfg.replyTimeoutMs * 2),
      on: model.command('on', cfg.commandTimeoutMs),
      off: model.command('off', cfg.commandTimeoutMs),
      cycle: model.command('cycle', cfg.commandTimeoutMs),
      logout: model.logout(Math.min(cfg.replyTimeoutMs, 1000)),
    }
    this.console = new ConsoleSession({
      stream:
        opts.stream ??
        new TelnetStream({ host: cfg.host, port: cfg.port, connectTimeoutMs: cfg.connectTimeoutMs }),
      device: deviceId,
      login: model.login(cfg.loginTimeoutMs),
      scripts: Object.values(this.s),
      release: () => this.s.logout,
      credentials: () => ({ user: cfg.user ?? '', password }),
      log: opts.log,
    })
  }

  private get label(): string {
    return `${this.deviceId} (${this.console.label})`
  }

  private async table(call: Call): Promise<{ n: string; name: string; state: 'on' | 'off' }[]> {
    const r = await this.console.run(call.signal, (run) => run(this.s.status, {}))
    const id = this.model.plugId ?? ((n: string) => n)
    return (r.lists[this.model.rows] ?? []).map((p) => ({
      n: id(p.n!),
      name: p.name ?? '',
      state: p.state!.toLowerCase() === 'on' ? 'on' : 'off',
    }))
  }

  async plugs(call: Call): Promise<PlugInfo[]> {
    return (await this.table(call)).map((p) => ({ id: p.n, name: p.name }))
  }

  async status(plugs: readonly string[], call: Call): Promise<Map<string, PowerState>> {
    const out = new Map<string, PowerState>()
    if (plugs.length === 0) return out
    const rows = new Map((await this.table(call)).map((p) => [p.n, p.state]))
    for (const p of plugs) out.set(p, rows.get(p) ?? 'unknown')
    return out
  }

  async set(plug: string, action: DeviceAction, call: Call): Promise<void> {
    const { pattern, noun, hint } = this.model.plug
    if (!pattern.test(plug))
      throw new FenceError('NO_SUCH_PLUG', `${this.label}: no ${noun} '${plug}' (${hint})`)
    await this.console.run(call.signal, (run) => run(this.s[action], { plug }))
  }

  async close(): Promise<void> {
    await this.console.close()
  }
}
