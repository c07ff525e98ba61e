import { FenceError } from '../../src/core/errors.js'
import type { DeviceAction, PowerState } from '../../src/core/types.js'
import type { Call, DriverContext, PlugInfo, PowerDriver } from '../driver.js'
import type { ByteStream } from '../transport/byte-stream.js'
import { ConsoleSession } from '../expect/console-session.js'
import { TelnetStream } from '../transport/telnet-stream.js'
import type { WtiNpsConfig } from './config.js'
import { commandScript, loginScript, logoutScript, statusScript } from './scripts.js'

/**
 * WTI NPS / IPS / TPS network power switches over their telnet console: one session per call
 * (login, `/S` or `/ON n,Y` / `/OFF n,Y` / `/BOOT n,Y`, `/X,Y`). Plug ids are plug numbers.
 */
export class WtiNpsDriver implements PowerDriver {
  readonly kind = 'wti-nps'
  private readonly console: ConsoleSession
  private readonly s

  constructor(
    private readonly cfg: WtiNpsConfig,
    private readonly deviceId: string,
    password: string,
    opts: { stream?: ByteStream; log?: DriverContext['log'] } = {},
  ) {
    this.s = {
      status: statusScript(cfg.replyTimeoutMs * 2),
      on: commandScript('on', 'ON', cfg.commandTimeoutMs),
      off: commandScript('off', 'OFF', cfg.commandTimeoutMs),
      cycle: commandScript('cycle', 'BOOT', cfg.commandTimeoutMs),
      logout: logoutScript(Math.min(cfg.replyTimeoutMs, 1000)),
    }
    this.console = new ConsoleSession({
      stream:
        opts.stream ??
        new TelnetStream({ host: cfg.host, port: cfg.port, connectTimeoutMs: cfg.connectTimeoutMs }),
      device: deviceId,
      login: loginScript(cfg.loginTimeoutMs),
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
    return (r.lists.plugs ?? []).map((p) => ({
      n: p.n!,
      name: p.name ?? '',
      state: p.state === 'ON' ? 'on' : 'off',
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
    // a number only: the unit also takes names, groups and `*`, which could switch more than one plug
    if (!/^\d{1,3}$/.test(plug))
      throw new FenceError('NO_SUCH_PLUG', `${this.label}: no plug '${plug}' (plugs are numbers)`)
    if (action === 'cycle' && !this.cfg.deviceCycle)
      throw new FenceError(
        'UNSUPPORTED_ACTION',
        `${this.label}: the unit's /BOOT is not enabled (deviceCycle: true); the engine cycles as off, wait, on`,
      )
    await this.console.run(call.signal, (run) => run(this.s[action], { plug }))
  }

  async close(): Promise<void> {
    await this.console.close()
  }
}
