import { type Option, Opt } from '../../src/config/options.js'
import { sleep } from '../../src/core/deadline.js'
import { FenceError } from '../../src/core/errors.js'
import type { DeviceAction, PowerState } from '../../src/core/types.js'
import type { Call, DriverContext, PlugInfo, PowerDriver, SecretRef } from '../driver.js'
import type { ByteStream } from '../transport/byte-stream.js'
import { TelnetStream } from '../transport/telnet-stream.js'
import type { Script, ScriptResult } from './expect.js'
import { ExpectLine } from './expect-line.js'

/**
 * What the network-console drivers (apc-menu, wti-nps, baytech) share: their common options,
 * the password read at start, the one-session-per-call {@link ConsoleSession}, and
 * {@link ConsoleSwitchDriver}, the whole driver of a console with a plug table and one command
 * per action (WTI NPS, BayTech RPC), each model given as data.
 */

export type Run = (script: Script, params: Record<string, string>) => Promise<ScriptResult>

/** Connections turned away while the unit frees its session, waited out within one call. */
const BUSY_RETRIES = 4

/**
 * One login session per call to a network console that takes one session at a time (APC
 * MasterSwitch, WTI NPS, BayTech RPC): login (the handshake, user and password given at run
 * time, never kept in a script), the caller's scripts, logout (the `release` script, also after
 * a refusal) and hang-up. A unit that turns the connection away at once is still closing a
 * session (ours or another client's): waited out a few times within the call's deadline, as
 * cluster-glue's plugins retry their login. The password never leaves in an error.
 */
export class ConsoleSession {
  private readonly line: ExpectLine

  constructor(
    private readonly opts: {
      stream: ByteStream
      device: string
      login: Script
      scripts: readonly Script[]
      /** The logout for the console found at login. */
      release: () => Script
      credentials: () => { user: string; password: string }
      onLogin?: (r: ScriptResult) => void
      log?: DriverContext['log']
    },
  ) {
    this.line = new ExpectLine({
      stream: opts.stream,
      device: opts.device,
      handshake: opts.login,
      handshakeParams: () => opts.credentials(),
      onHandshake: opts.onLogin,
      scripts: opts.scripts,
      commandGapMs: 0,
      // no line backoff: a busy unit is paced here, and a refused login is permanent
      backoffMs: { initial: 0, max: 0 },
      log: opts.log,
    })
  }

  get label(): string {
    return this.line.label
  }

  async run<T>(signal: AbortSignal, fn: (run: Run) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.line.dialogue(signal, fn, this.opts.release)
      } catch (e) {
        const err = this.redact(e)
        if (
          !(err instanceof FenceError) ||
          err.code !== 'DEVICE_BUSY' ||
          attempt >= BUSY_RETRIES ||
          signal.aborted
        )
          throw err
        await sleep(100 * 2 ** attempt, signal)
      }
    }
  }

  private redact(e: unknown): unknown {
    const { password } = this.opts.credentials()
    if (!(e instanceof FenceError) || !password) return e
    if (!e.message.includes(password) && !JSON.stringify(e.details ?? {}).includes(password)) return e
    const scrub = (s: string) => s.split(password).join('***')
    const details = e.details
      ? (JSON.parse(scrub(JSON.stringify(e.details))) as Record<string, unknown>)
      : undefined
    return new FenceError(e.code, scrub(e.message), details)
  }

  close(): Promise<void> {
    return this.line.close()
  }
}

/**
 * The options every console driver has, declared once and spread into each family's options:
 * the family gives its `user` option and what one reply is (`reply`, the replyTimeout's
 * description); `portDefault` for docs where the port's default depends on another field.
 */
export function consoleOptions<U extends Option<string> | Option<string | undefined>>(o: {
  user: U
  reply: string
  portDefault?: string
}) {
  return {
    host: Opt.string("the unit's address"),
    port: Opt.int("the console's TCP port", {
      default: 23,
      min: 1,
      max: 65535,
      ...(o.portDefault ? { defaultText: o.portDefault } : {}),
    }),
    user: o.user,
    password: Opt.secret('the password, from a file (0600) or an environment variable; never in the config', {
      required: true,
    }),
    connectTimeout: Opt.duration('TCP connect', { default: 5000, min: 1, max: 60_000 }),
    loginTimeout: Opt.duration('from connect to the first prompt after login', {
      default: 10_000,
      min: 100,
      max: 120_000,
    }),
    replyTimeout: Opt.duration(o.reply, { default: 5000, min: 50, max: 60_000 }),
  }
}

/** `commandTimeout` of a console that gives its prompt back only when the unit is done. */
export function commandTimeoutOption(description: string, defaultMs: number) {
  return Opt.duration(description, { default: defaultMs, min: 100, max: 300_000 })
}

/** The console password, read when the driver is created: a trailing newline dropped, empty refused. */
export function consolePassword(ref: SecretRef, ctx: DriverContext): string {
  const password = ctx.readSecret(ref, 'password').replace(/\r?\n$/, '')
  if (!password) throw new FenceError('CONFIG_INVALID', `${ctx.deviceId}: password: the secret is empty`)
  return password
}

/**
 * After logout, wait for the unit to close the connection (the wait ends in CONNECTION_LOST, or
 * times out): the next session is only taken once this one is gone.
 */
export const UNIT_HANGS_UP = { expect: /(?!)/, name: 'the unit closing the session', optional: true }

/** What a console-switch driver is given besides its config: a stream (tests), the log. */
export interface ConsoleDriverOptions {
  stream?: ByteStream
  log?: DriverContext['log']
}

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
