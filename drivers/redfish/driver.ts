import { inspect } from 'node:util'
import {
  RESET_ACTION,
  RESET_FOR,
  SERVICE_ROOT,
  SESSIONS_PATH,
  type ResetType,
  powerStateOf,
  redfishErrorText,
} from '../../protocols/redfish.js'
import { FenceError, throwIfAborted } from '../../core/errors.js'
import type { DeviceAction, PowerState } from '../../core/types.js'
import type { Call, DriverContext, PlugInfo, PowerDriver } from '../driver.js'
import { type HttpAnswer, RedfishHttp } from './http.js'
import type { RedfishConfig } from './options.js'

/** The one plug of a Redfish ComputerSystem. */
export const SYSTEM = 'system'

/** User name and password, kept out of every message, log line and inspection. */
export class RedfishCredentials {
  constructor(
    readonly user: string,
    readonly password: string,
  ) {}
  [inspect.custom](): string {
    return `RedfishCredentials { user: ${this.user}, password: [redacted] }`
  }
  toJSON(): Record<string, string> {
    return { user: this.user, password: '[redacted]' }
  }
  basic(): string {
    return `Basic ${Buffer.from(`${this.user}:${this.password}`).toString('base64')}`
  }
}

type Obj = Record<string, unknown>
const isObj = (v: unknown): v is Obj => !!v && typeof v === 'object' && !Array.isArray(v)

/**
 * A ComputerSystem behind a Redfish service (DSP0266) over HTTPS: one plug, `system`.
 * Logs in with a session (X-Auth-Token) kept across calls on one keep-alive connection, logs
 * in again on a 401, deletes the session on close; basic auth only where the service has no
 * session service and the config allows it. Power: `PowerState`; `ComputerSystem.Reset` with
 * ForceOff / On (never GracefulShutdown), chosen among the reset types the system advertises.
 */
export class RedfishDriver implements PowerDriver {
  readonly kind = 'redfish'
  private readonly label: string
  private readonly http: RedfishHttp
  private token: string | undefined
  private sessionPath: string | undefined
  private basic = false
  private sessionsPath: string | undefined
  private systemPath: string | undefined
  private closed = false

  constructor(
    private readonly cfg: RedfishConfig,
    private readonly creds: RedfishCredentials,
    private readonly ctx: DriverContext,
  ) {
    this.label = `${ctx.deviceId} (${cfg.host}:${cfg.port})`
    if (cfg.insecure)
      ctx.log(
        'warn',
        'redfish: insecure: true: the BMC certificate is not verified; pin it with fingerprint',
        {
          device: ctx.deviceId,
        },
      )
    this.http = new RedfishHttp({
      host: cfg.host,
      port: cfg.port,
      label: this.label,
      tls: {
        insecure: cfg.insecure,
        ...(cfg.caFile ? { caFile: cfg.caFile } : {}),
        ...(cfg.fingerprint ? { fingerprint: cfg.fingerprint } : {}),
      },
      unreachableTimeoutMs: cfg.unreachableTimeoutMs,
      requestTimeoutMs: cfg.requestTimeoutMs,
      maxBodyBytes: cfg.maxBodyBytes,
    })
    if (cfg.systemPath) this.systemPath = cfg.systemPath
  }

  private local(link: string, _label?: string): string {
    return localPath(link, this.label, this.cfg.host, this.cfg.port)
  }

  private check(call: Call): void {
    if (this.closed) throw new FenceError('ENGINE_CLOSED', `${this.label}: driver closed`)
    throwIfAborted(call.signal)
  }

  /** An HTTP status other than success, as a typed error. */
  private statusError(a: HttpAnswer, what: string): FenceError {
    const text = redfishErrorText(a.json)
    const msg = `${this.label}: ${what}: HTTP ${a.status}${text ? `: ${text}` : ''}`
    if (a.status === 401) return new FenceError('AUTH_REFUSED', `${msg} (user ${this.creds.user})`)
    if (a.status === 403)
      return new FenceError('AUTH_REFUSED', `${msg} (user ${this.creds.user} lacks the privilege)`)
    if (a.status === 404) return new FenceError('DEVICE_ERROR', msg)
    if (a.status === 400 || a.status === 405 || a.status === 501)
      return new FenceError('UNSUPPORTED_ACTION', msg)
    if (a.status === 409 || a.status === 429 || a.status >= 500) return new FenceError('DEVICE_BUSY', msg)
    return new FenceError('PROTOCOL_ERROR', msg)
  }

  private async serviceRoot(signal: AbortSignal): Promise<Obj> {
    const a = await this.http.request('GET', SERVICE_ROOT, {}, undefined, signal)
    if (a.status !== 200) throw this.statusError(a, `GET ${SERVICE_ROOT}`)
    if (!isObj(a.json))
      throw new FenceError('PROTOCOL_ERROR', `${this.label}: the service root is not a JSON object`)
    return a.json
  }

  private async login(signal: AbortSignal): Promise<void> {
    if (!this.sessionsPath) {
      const root = await this.serviceRoot(signal)
      const links = isObj(root.Links) ? root.Links : {}
      const sessions = isObj(links.Sessions) ? links.Sessions['@odata.id'] : undefined
      this.sessionsPath = typeof sessions === 'string' ? this.local(sessions, this.label) : SESSIONS_PATH
    }
    const a = await this.http.request(
      'POST',
      this.sessionsPath,
      {},
      { UserName: this.creds.user, Password: this.creds.password },
      signal,
    )
    if (a.status === 200 || a.status === 201) {
      const token = header(a.headers['x-auth-token'])
      if (!token)
        throw new FenceError(
          'PROTOCOL_ERROR',
          `${this.label}: session created without an X-Auth-Token header`,
        )
      this.token = token
      const loc = header(a.headers.location)
      const id = isObj(a.json) ? a.json['@odata.id'] : undefined
      this.sessionPath = loc ? this.local(loc, this.label) : typeof id === 'string' ? id : undefined
      return
    }
    if ((a.status === 404 || a.status === 405 || a.status === 501) && this.cfg.basicAuth === 'fallback') {
      this.ctx.log('info', 'redfish: no session service; using basic authentication', {
        device: this.ctx.deviceId,
      })
      this.basic = true
      return
    }
    if (a.status === 404 || a.status === 405 || a.status === 501)
      throw new FenceError(
        'AUTH_REFUSED',
        `${this.label}: the service has no session service (HTTP ${a.status}) and basicAuth is never`,
      )
    throw this.statusError(a, 'session login')
  }

  /** An authenticated request; a 401 on a session logs in again once. */
  private async authed(
    method: 'GET' | 'POST',
    path: string,
    body: unknown,
    signal: AbortSignal,
  ): Promise<HttpAnswer> {
    for (let attempt = 0; ; attempt++) {
      if (!this.token && !this.basic) await this.login(signal)
      const auth: Record<string, string> = this.basic
        ? { authorization: this.creds.basic() }
        : { 'x-auth-token': this.token! }
      const a = await this.http.request(method, path, auth, body, signal)
      if (a.status === 401 && !this.basic && attempt === 0) {
        // the session expired or the BMC restarted: one new login
        this.token = undefined
        this.sessionPath = undefined
        continue
      }
      return a
    }
  }

  private async getObject(path: string, signal: AbortSignal): Promise<Obj> {
    const a = await this.authed('GET', path, undefined, signal)
    if (a.status !== 200) throw this.statusError(a, `GET ${path}`)
    if (!isObj(a.json))
      throw new FenceError('PROTOCOL_ERROR', `${this.label}: GET ${path}: not a JSON object`)
    return a.json
  }

  private async discover(signal: AbortSignal): Promise<{ path: string; system: Obj }> {
    if (this.systemPath)
      return { path: this.systemPath, system: await this.getObject(this.systemPath, signal) }
    const root = await this.serviceRoot(signal)
    const systems = isObj(root.Systems) ? root.Systems['@odata.id'] : undefined
    if (typeof systems !== 'string')
      throw new FenceError(
        'UNSUPPORTED_ACTION',
        `${this.label}: the service root lists no Systems collection`,
      )
    const coll = await this.getObject(this.local(systems, this.label), signal)
    const members = Array.isArray(coll.Members)
      ? coll.Members.map((m) => (isObj(m) ? m['@odata.id'] : undefined)).filter((m) => typeof m === 'string')
      : undefined
    if (!members) throw new FenceError('PROTOCOL_ERROR', `${this.label}: ${systems}: no Members list`)
    if (members.length === 0) throw new FenceError('DEVICE_ERROR', `${this.label}: ${systems} has no members`)
    if (members.length > 1)
      throw new FenceError(
        'CONFIG_INVALID',
        `${this.label}: ${members.length} systems (${members.slice(0, 4).join(', ')}${members.length > 4 ? ', …' : ''}): choose one with systemPath`,
      )
    const path = this.local(members[0]!, this.label)
    const system = await this.getObject(path, signal)
    this.systemPath = path
    return { path, system }
  }

  private async system(signal: AbortSignal): Promise<Obj> {
    return (await this.discover(signal)).system
  }

  private checkPlug(plug: string): void {
    if (plug !== SYSTEM)
      throw new FenceError(
        'NO_SUCH_PLUG',
        `${this.label}: a Redfish system has one plug, ${SYSTEM}; no plug '${plug}'`,
      )
  }

  private readPower(system: Obj): PowerState {
    const v = system.PowerState
    if (typeof v !== 'string')
      throw new FenceError(
        'PROTOCOL_ERROR',
        `${this.label}: ${this.systemPath}: PowerState is ${v === undefined ? 'missing' : `a ${typeof v}`}, not a string`,
      )
    const s = powerStateOf(v)
    if (!s)
      throw new FenceError(
        'PROTOCOL_ERROR',
        `${this.label}: ${this.systemPath}: unknown PowerState '${v.slice(0, 40)}'`,
      )
    return s
  }

  async plugs(call: Call): Promise<PlugInfo[]> {
    this.check(call)
    if (!this.cfg.systemPath) this.systemPath = undefined
    const { path, system } = await this.discover(call.signal)
    const name = [system.Model, system.Name].find((x) => typeof x === 'string') as string | undefined
    return [{ id: SYSTEM, name: name ? `${name} (${path})` : path }]
  }

  async status(plugs: readonly string[], call: Call): Promise<Map<string, PowerState>> {
    for (const p of plugs) this.checkPlug(p)
    this.check(call)
    const state = this.readPower(await this.system(call.signal))
    return new Map(plugs.map((p) => [p, state]))
  }

  async set(plug: string, action: DeviceAction, call: Call): Promise<void> {
    this.checkPlug(plug)
    this.check(call)
    const system = await this.system(call.signal)
    const actions = isObj(system.Actions) ? system.Actions : {}
    const reset = isObj(actions[RESET_ACTION]) ? (actions[RESET_ACTION] as Obj) : undefined
    const target = reset?.target
    if (typeof target !== 'string')
      throw new FenceError(
        'UNSUPPORTED_ACTION',
        `${this.label}: ${this.systemPath} has no ${RESET_ACTION} action with a target`,
      )
    const allowed = reset!['ResetType@Redfish.AllowableValues']
    const offered = Array.isArray(allowed)
      ? allowed.filter((x): x is string => typeof x === 'string')
      : undefined
    const candidates = RESET_FOR[action]
    const type: ResetType | undefined = offered ? candidates.find((c) => offered.includes(c)) : candidates[0]
    if (!type)
      throw new FenceError(
        'UNSUPPORTED_ACTION',
        `${this.label}: the system does not offer ${candidates.join(' or ')} (it offers ${offered!.join(', ') || 'nothing'}); a graceful reset is never used`,
      )
    throwIfAborted(call.signal)
    const path = this.local(target, this.label)
    const a = await this.authed('POST', path, { ResetType: type }, call.signal)
    if (a.status >= 200 && a.status < 300) return
    // iDRAC answers 409 when the system is already in the requested state; the engine reads back
    if (a.status === 409 && action !== 'cycle') {
      this.ctx.log('debug', 'redfish: reset refused as already in that state (409); reading back', {
        device: this.ctx.deviceId,
        resetType: type,
      })
      return
    }
    throw this.statusError(a, `${type}`)
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    if (this.token && this.sessionPath) {
      const signal = AbortSignal.timeout(2000)
      await this.http
        .request('DELETE', this.sessionPath, { 'x-auth-token': this.token }, undefined, signal)
        .catch(() => {})
    }
    this.token = undefined
    await this.http.close()
  }
}

function header(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v
}

/** A link from the service, as a path on the same service; another host is refused. */
export function localPath(link: string, label: string, host: string, port: number): string {
  if (link.startsWith('/') && !link.startsWith('//')) return link
  try {
    const u = new URL(link)
    const same = u.hostname.replace(/^\[|\]$/g, '') === host && Number(u.port || 443) === port
    if (u.protocol === 'https:' && same) return u.pathname + u.search
  } catch {}
  throw new FenceError(
    'PROTOCOL_ERROR',
    `${label}: a link that is not a path on this service: '${link.slice(0, 80)}'`,
  )
}
