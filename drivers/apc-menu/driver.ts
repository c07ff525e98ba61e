import { FenceError } from '../../core/errors.js'
import type { DeviceAction, PowerState } from '../../core/types.js'
import type { Call, PlugInfo, PowerDriver } from '../driver.js'
import { type ConsoleDriverOptions, ConsoleSession, type Run } from '../console/session.js'
import type { Script, ScriptResult } from '../expect/expect.js'
import { SshStream } from '../transport/ssh-stream.js'
import { TelnetStream } from '../transport/telnet-stream.js'
import type { ApcMenuConfig } from './options.js'
import {
  ACTION_LABEL,
  CLI_OK,
  CONTROL_OUTLET,
  MENU_PATH,
  cliCommand,
  cliLogout,
  loginScript,
  menuCommand,
  menuLogout,
  menuStep,
  sshLoginScript,
} from './scripts.js'

type Console = 'menu' | 'cli'
type Outlet = { n: string; name: string; state: 'on' | 'off' }

const ACTION_NAME = { on: 'Immediate On', off: 'Immediate Off', cycle: 'Immediate Reboot' } as const

/** Menus between the Device Manager and the outlet list: a deeper walk is not an APC console. */
const MAX_DEPTH = 4

/**
 * APC MasterSwitch / Switched Rack PDU over its telnet (or SSH) console. One session per call:
 * log in, walk, act, log out — the unit takes one session at a time, and a session held between
 * calls would lock fence_apc and the web UI out. The console is recognised at login by its
 * prompt (`> ` menus, `apc>` AOS v5–7 CLI), and the menu path to the outlets by item labels,
 * not fixed keys (docs/drivers/apc-menu.md).
 */
export class ApcMenuDriver implements PowerDriver {
  readonly kind = 'apc-menu'
  private readonly line: ConsoleSession
  private console: Console = 'menu'
  private banner = ''
  private readonly s: {
    menu: Script
    command: Script
    menuBye: Script
    cliBye: Script
    status: Script
    on: Script
    off: Script
    cycle: Script
    cancel: Script
  }

  constructor(
    cfg: ApcMenuConfig,
    private readonly deviceId: string,
    private readonly password: string,
    opts: ConsoleDriverOptions = {},
  ) {
    const t = cfg.replyTimeoutMs
    this.s = {
      menu: menuStep(t * 3),
      command: menuCommand(t * 2),
      menuBye: menuLogout(Math.min(t, 2000)),
      cliBye: cliLogout(Math.min(t, 1000)),
      status: cliCommand('status', 'olStatus all', t),
      on: cliCommand('on', 'olOn {plug}', t),
      off: cliCommand('off', 'olOff {plug}', t),
      cycle: cliCommand('cycle', 'olReboot {plug}', t),
      cancel: cliCommand('cancel', 'olCancelCmd {plug}', t),
    }
    const stream =
      opts.stream ??
      (cfg.transport === 'ssh'
        ? new SshStream({
            host: cfg.host,
            port: cfg.port,
            user: cfg.user,
            password: () => this.password,
            hostKey: cfg.hostKey ?? '',
            connectTimeoutMs: cfg.connectTimeoutMs,
          })
        : new TelnetStream({ host: cfg.host, port: cfg.port, connectTimeoutMs: cfg.connectTimeoutMs }))
    this.line = new ConsoleSession({
      stream,
      device: deviceId,
      login: cfg.transport === 'ssh' ? sshLoginScript(cfg.loginTimeoutMs) : loginScript(cfg.loginTimeoutMs),
      credentials: () => ({ user: cfg.user, password: this.password }),
      onLogin: (r) => {
        this.console = r.vars.prompt?.includes('apc>') ? 'cli' : 'menu'
        this.banner = r.vars.banner ?? ''
      },
      scripts: Object.values(this.s),
      release: () => (this.console === 'cli' ? this.s.cliBye : this.s.menuBye),
      log: opts.log,
    })
  }

  private get label(): string {
    return `${this.deviceId} (${this.line.label})`
  }

  /** One session: login, `fn`, logout (drivers/console/session.ts). */
  private session<T>(call: Call, fn: (run: Run) => Promise<T>): Promise<T> {
    return this.line.run(call.signal, (run) => {
      if (/MasterSwitch plus/i.test(this.banner))
        throw new FenceError(
          'UNSUPPORTED_ACTION',
          `${this.label}: a MasterSwitch Plus console (switch:outlet menus) is not supported by apc-menu; use apc-snmp (model MSP)`,
        )
      return fn(run)
    })
  }

  /** Menu firmware: from the main menu to the outlet list, choosing items by label. */
  private async toOutlets(run: Run): Promise<{ rows: Outlet[]; result: ScriptResult }> {
    let r = await run(this.s.menu, { key: '1' })
    for (let depth = 0; ; depth++) {
      const rows = outletRows(r)
      if (rows.length > 0) return { rows, result: r }
      const screen = r.vars.screen ?? ''
      const key = MENU_PATH.map((p) => p.exec(screen)?.groups?.key).find((k) => k !== undefined)
      if (!key || depth >= MAX_DEPTH)
        throw new FenceError(
          'PROTOCOL_ERROR',
          `${this.label}: no outlet list and no Outlet Management / Outlet Control item on this menu: ${JSON.stringify(lastLines(screen))}`,
          { phase: 'expect' },
        )
      r = await run(this.s.menu, { key })
    }
  }

  private async readAll(call: Call): Promise<Outlet[]> {
    return this.session(call, async (run) => {
      if (this.console === 'cli')
        return cliRows(this.cliCheck(await run(this.s.status, { plug: 'all' }), 'status'))
      return (await this.toOutlets(run)).rows
    })
  }

  private cliCheck(r: ScriptResult, what: string, plug?: string): ScriptResult {
    const code = r.vars.code ?? ''
    if (CLI_OK.test(code)) return r
    const text = `${code}: ${r.vars.text ?? ''}`.trim()
    if (code === 'E102' && plug)
      throw new FenceError('NO_SUCH_PLUG', `${this.label}: ${what} ${plug}: the unit answered ${text}`)
    throw new FenceError(
      code === 'E104' ? 'AUTH_REFUSED' : 'DEVICE_ERROR',
      `${this.label}: ${what}${plug ? ` ${plug}` : ''}: the unit answered ${text}`,
    )
  }

  async plugs(call: Call): Promise<PlugInfo[]> {
    return (await this.readAll(call)).map((o) => ({ id: o.n, name: o.name }))
  }

  async status(plugs: readonly string[], call: Call): Promise<Map<string, PowerState>> {
    const out = new Map<string, PowerState>()
    if (plugs.length === 0) return out
    const rows = new Map((await this.readAll(call)).map((o) => [o.n, o.state]))
    for (const p of plugs) out.set(p, rows.get(p) ?? 'unknown')
    return out
  }

  async set(plug: string, action: DeviceAction, call: Call): Promise<void> {
    if (!/^\d{1,3}$/.test(plug))
      throw new FenceError('NO_SUCH_PLUG', `${this.label}: no outlet '${plug}' (outlets are numbers)`)
    await this.act(plug, action, call)
  }

  async cancelPending(plugs: readonly string[], call: Call): Promise<void> {
    for (const p of plugs) if (/^\d{1,3}$/.test(p)) await this.act(p, 'cancel', call)
  }

  private async act(plug: string, action: DeviceAction | 'cancel', call: Call): Promise<void> {
    await this.session(call, async (run) => {
      if (this.console === 'cli') {
        this.cliCheck(await run(this.s[action], { plug }), action, plug)
        return
      }
      const { rows } = await this.toOutlets(run)
      if (!rows.some((o) => o.n === plug))
        throw new FenceError(
          'NO_SUCH_PLUG',
          `${this.label}: no outlet ${plug} on this unit (it lists ${rows.map((o) => o.n).join(', ')})`,
        )
      const outletMenu = await run(this.s.menu, { key: plug })
      let screen = outletMenu.vars.screen ?? ''
      // AP79xx: the outlet's menu leads to Control Outlet; the AP9211 shows the commands at once
      const control = CONTROL_OUTLET.exec(screen)?.groups?.key
      if (control) screen = (await run(this.s.menu, { key: control })).vars.screen ?? ''
      const key = ACTION_LABEL[action].exec(screen)?.groups?.key
      if (!key) {
        if (action === 'cancel') return // no delayed commands on this firmware: nothing to cancel
        throw new FenceError(
          'PROTOCOL_ERROR',
          `${this.label}: outlet ${plug}: no '${ACTION_NAME[action]}' item on the control menu: ${JSON.stringify(lastLines(screen))}`,
          { phase: 'expect' },
        )
      }
      await run(this.s.command, { key })
    })
  }

  async close(): Promise<void> {
    await this.line.close()
  }
}

function outletRows(r: ScriptResult): Outlet[] {
  const seen = new Map<string, Outlet>()
  for (const row of r.lists.outlets ?? [])
    seen.set(row.n!, { n: row.n!, name: (row.name ?? '').trim(), state: row.state === 'ON' ? 'on' : 'off' })
  return [...seen.values()]
}

function cliRows(r: ScriptResult): Outlet[] {
  return (r.lists.outlets ?? []).map((row) => ({
    n: row.n!,
    name: (row.name ?? '').trim(),
    state: row.state!.toLowerCase() === 'on' ? 'on' : 'off',
  }))
}

function lastLines(screen: string): string {
  return screen
    .split(/\r?\n/)
    .filter((l) => l.trim())
    .slice(-6)
    .join(' | ')
    .slice(-240)
}
