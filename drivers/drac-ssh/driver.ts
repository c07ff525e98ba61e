import { inspect } from 'node:util'
import {
  type DracModel,
  type RacadmPowerOp,
  errorLine,
  parseModules,
  parseStatus,
  serverAction,
} from '../../protocols/racadm.js'
import { FenceError, throwIfAborted } from '../../core/errors.js'
import type { DeviceAction, PowerState } from '../../core/types.js'
import type { Call, DriverContext, PlugInfo, PowerDriver } from '../driver.js'
import type { DracSshConfig } from './options.js'
import { DracSession, type SessionOptions } from './session.js'

/** The one plug of a DRAC 5 (or an iDRAC's racadm). */
export const SYSTEM = 'system'

/** Password or private key, kept out of every message, log line and inspection. */
export class DracCredentials {
  constructor(
    readonly password: string | undefined,
    readonly privateKey: string | undefined,
    readonly passphrase: string | undefined,
  ) {}
  [inspect.custom](): string {
    return `DracCredentials { ${this.password !== undefined ? 'password: [redacted]' : 'key: [redacted]'} }`
  }
  toJSON(): Record<string, string> {
    return { secret: '[redacted]' }
  }
}

const OPS: Record<DeviceAction, RacadmPowerOp> = { on: 'powerup', off: 'powerdown', cycle: 'powercycle' }

/**
 * A Dell DRAC 5 or chassis CMC through racadm over SSH: `racadm serveraction
 * powerstatus|powerup|powerdown [-m server-N]` (powerdown is a hard off). One SSH session per
 * device, kept open across calls, opened again after any failure. DRAC 5: one plug, `system`;
 * CMC: one plug per slot, `server-N`.
 */
export class DracSshDriver implements PowerDriver {
  readonly kind = 'drac-ssh'
  private readonly label: string
  private session: DracSession | undefined
  private model: DracModel | undefined
  private closed = false

  constructor(
    private readonly cfg: DracSshConfig,
    private readonly creds: DracCredentials,
    ctx: DriverContext,
  ) {
    this.label = `${ctx.deviceId} (${cfg.host}:${cfg.port})`
    if (cfg.model !== 'auto') this.model = cfg.model
    if (cfg.hostKey === 'any')
      ctx.log('warn', 'drac-ssh: hostKey: any: the DRAC host key is not checked; pin it (SHA256:…)', {
        device: ctx.deviceId,
      })
  }

  private options(): SessionOptions {
    const o: SessionOptions = {
      host: this.cfg.host,
      port: this.cfg.port,
      label: this.label,
      user: this.cfg.user,
      hostKey: this.cfg.hostKey,
      prompt: new RegExp(this.cfg.prompt),
      loginTimeoutMs: this.cfg.loginTimeoutMs,
    }
    if (this.creds.password !== undefined) o.password = this.creds.password
    if (this.creds.privateKey !== undefined) o.privateKey = this.creds.privateKey
    if (this.creds.passphrase !== undefined) o.passphrase = this.creds.passphrase
    return o
  }

  /** The open session, or a new one; a failed session is dropped so the next call opens another. */
  private async withSession<T>(call: Call, fn: (s: DracSession) => Promise<T>): Promise<T> {
    if (this.closed) throw new FenceError('ENGINE_CLOSED', `${this.label}: driver closed`)
    throwIfAborted(call.signal)
    if (!this.session || this.session.dead) {
      this.session?.destroy()
      this.session = undefined
      const s = await DracSession.open(this.options(), call.signal)
      if (this.closed) {
        s.destroy()
        throw new FenceError('ENGINE_CLOSED', `${this.label}: driver closed`)
      }
      this.session = s
      if (!this.model) this.model = /CMC/.test(s.banner) ? 'cmc' : 'drac5'
    }
    const s = this.session
    try {
      return await fn(s)
    } finally {
      if (s.dead && this.session === s) this.session = undefined
    }
  }

  private module(plug: string): string | undefined {
    if (this.model === 'cmc') {
      if (!/^server-\d{1,2}$/.test(plug))
        throw new FenceError(
          'NO_SUCH_PLUG',
          `${this.label}: a CMC's plugs are its slots, server-N; no plug '${plug}'`,
        )
      return plug
    }
    if (plug !== SYSTEM)
      throw new FenceError(
        'NO_SUCH_PLUG',
        `${this.label}: a DRAC 5 has one plug, ${SYSTEM}; no plug '${plug}'`,
      )
    return undefined
  }

  private async racadm(s: DracSession, op: RacadmPowerOp, plug: string, call: Call): Promise<string> {
    const cmd = serverAction(op, this.module(plug))
    throwIfAborted(call.signal)
    return s.run(cmd, call.signal, this.cfg.commandTimeoutMs)
  }

  private refusal(out: string, what: string, plug: string): FenceError {
    const line = errorLine(out)!
    if (/invalid module|not present|no such module|invalid slot/i.test(line))
      return new FenceError('NO_SUCH_PLUG', `${this.label}: ${what} ${plug}: ${line}`)
    if (/privilege|not authorized|permission/i.test(line))
      return new FenceError('AUTH_REFUSED', `${this.label}: ${what} ${plug}: ${line}`)
    return new FenceError('DEVICE_ERROR', `${this.label}: ${what} ${plug}: ${line}`)
  }

  async plugs(call: Call): Promise<PlugInfo[]> {
    return this.withSession(call, async (s) => {
      if (this.model !== 'cmc') return [{ id: SYSTEM, name: 'server' }]
      const out = await s.run('getmodinfo', call.signal, this.cfg.commandTimeoutMs)
      if (errorLine(out)) throw this.refusal(out, 'getmodinfo', '')
      return parseModules(out).map((m) => ({ id: m.module, name: m.module }))
    })
  }

  async status(plugs: readonly string[], call: Call): Promise<Map<string, PowerState>> {
    return this.withSession(call, async (s) => {
      const out = new Map<string, PowerState>()
      for (const p of plugs) {
        const text = await this.racadm(s, 'powerstatus', p, call)
        if (errorLine(text)) throw this.refusal(text, 'powerstatus', p)
        const st = parseStatus(text)
        if (!st)
          throw new FenceError(
            'PROTOCOL_ERROR',
            `${this.label}: powerstatus ${p}: no power state in the answer '${printable(text)}'`,
          )
        out.set(p, st)
      }
      return out
    })
  }

  async set(plug: string, action: DeviceAction, call: Call): Promise<void> {
    await this.withSession(call, async (s) => {
      const op = OPS[action]
      const text = await this.racadm(s, op, plug, call)
      if (/successful/i.test(text) && !errorLine(text)) return
      // "Server is already powered OFF/ON": nothing to do; the engine reads the state back
      if (action !== 'cycle' && new RegExp(`already powered ${action}`, 'i').test(text)) return
      if (errorLine(text)) throw this.refusal(text, op, plug)
      throw new FenceError(
        'PROTOCOL_ERROR',
        `${this.label}: ${op} ${plug}: unexpected answer '${printable(text)}'`,
      )
    })
  }

  async close(): Promise<void> {
    this.closed = true
    this.session?.destroy()
    this.session = undefined
  }
}

function printable(s: string): string {
  const t = s.replace(/[^\x20-\x7e]/g, '.').slice(0, 80)
  return s.length > 80 ? `${t}…` : t
}
