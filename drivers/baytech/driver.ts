import { FenceError } from '../../src/core/errors.js'
import type { DeviceAction, PowerState } from '../../src/core/types.js'
import type { Call, DriverContext, PlugInfo, PowerDriver } from '../driver.js'
import type { ByteStream } from '../transport/byte-stream.js'
import { ConsoleSession } from '../expect/console-session.js'
import { TelnetStream } from '../transport/telnet-stream.js'
import type { BaytechConfig } from './config.js'
import { commandScript, loginScript, logoutScript, statusScript } from './scripts.js'

/**
 * BayTech RPC power controllers over their telnet console: one session per call (login, Outlet
 * Control, `STATUS` or `ON n` / `OFF n` / `REBOOT n`, `MENU`, `6`). Plug ids are outlet numbers.
 */
export class BaytechDriver implements PowerDriver {
  readonly kind = 'baytech'
  private readonly console: ConsoleSession
  private readonly s

  constructor(
    private readonly cfg: BaytechConfig,
    private readonly deviceId: string,
    password: string,
    opts: { stream?: ByteStream; log?: DriverContext['log'] } = {},
  ) {
    this.s = {
      status: statusScript(cfg.replyTimeoutMs * 2),
      on: commandScript('on', 'ON', cfg.commandTimeoutMs),
      off: commandScript('off', 'OFF', cfg.commandTimeoutMs),
      cycle: commandScript('cycle', 'REBOOT', cfg.commandTimeoutMs),
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
      credentials: () => ({ user: cfg.user, password }),
      log: opts.log,
    })
  }

  private get label(): string {
    return `${this.deviceId} (${this.console.label})`
  }

  private async table(call: Call): Promise<{ n: string; name: string; state: 'on' | 'off' }[]> {
    const r = await this.console.run(call.signal, (run) => run(this.s.status, {}))
    return (r.lists.outlets ?? []).map((p) => ({
      n: String(Number(p.n)),
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
    // `0` is every outlet on a BayTech: refused, as is anything but an outlet number
    if (!/^[1-9]\d{0,2}$/.test(plug))
      throw new FenceError('NO_SUCH_PLUG', `${this.label}: no outlet '${plug}' (outlets are numbers from 1)`)
    if (action === 'cycle' && !this.cfg.deviceCycle)
      throw new FenceError(
        'UNSUPPORTED_ACTION',
        `${this.label}: the unit's REBOOT is not enabled (deviceCycle: true); the engine cycles as off, wait, on`,
      )
    await this.console.run(call.signal, (run) => run(this.s[action], { plug }))
  }

  async close(): Promise<void> {
    await this.console.close()
  }
}
