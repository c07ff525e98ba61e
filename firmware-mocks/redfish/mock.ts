import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import https from 'node:https'
import net from 'node:net'
import { RESET_ACTION, type ResetType, redfishError } from '../../protocols/redfish.js'
import type { CommonLabSpec, MockDevice } from '../mock.js'
import { type SelfSigned, selfSigned } from '../self-signed.js'
import { DeviceSimulator, garbleBytes } from '../simulator.js'
import type { RedfishSpec, RedfishUser } from './spec.js'

/** One request the service received, for tests. */
export interface RedfishRecord {
  at: number
  method: string
  path: string
  auth: 'token' | 'basic' | 'none' | 'bad'
  status: number
  resetType?: string
  note?: string
}

interface Session {
  id: string
  token: string
  user: RedfishUser
  /** Ends its count in DeviceSimulator.sessions (at DELETE, or when the mock stops). */
  end: () => void
}

interface Answer {
  status: number
  body?: unknown
  headers?: Record<string, string>
}

const MAX_RECORDS = 5000
const MAX_BODY = 64 * 1024
const ROOT = '/redfish/v1'

/**
 * An iDRAC-flavoured Redfish service over HTTPS with a self-signed certificate made at start.
 * ComputerSystems `System.Embedded.1…N` (sim plug `system` when there is one, else the system
 * ids), a session service (X-Auth-Token) and basic auth, ComputerSystem.Reset answering 204,
 * 400 (bad or unadvertised ResetType), 401 (no or bad credentials), 403 (ReadOnly role) and
 * 409 (already in that state) as iDRAC does. Transitions go through PoweringOff / PoweringOn.
 *
 * Faults, per request: drop = 503 Service Unavailable (busy, nothing done), delay, garble (the
 * JSON body's bytes corrupted), stall (no answer; new connections stall in the TLS handshake),
 * disconnect (the connection is reset), lie (Reset answered 204 and not carried out).
 */
export class RedfishMock implements MockDevice {
  readonly kind = 'redfish'
  readonly sim: DeviceSimulator
  readonly records: RedfishRecord[] = []
  readonly sessions = new Map<string, Session>()
  private readonly systemIds: string[]
  private server: net.Server | undefined
  private https: https.Server | undefined
  private readonly sockets = new Set<net.Socket>()
  private readonly timers = new Set<NodeJS.Timeout>()
  private tls: SelfSigned | undefined
  private port = 0
  private nextSession = 1
  private readonly uuid = randomUUID()
  private readonly serviceTag = randomBytes(4).toString('hex').toUpperCase().slice(0, 7)

  constructor(
    readonly id: string,
    private readonly common: CommonLabSpec,
    readonly spec: RedfishSpec,
  ) {
    this.systemIds = Array.from({ length: spec.systems }, (_, i) => `System.Embedded.${i + 1}`)
    this.sim = new DeviceSimulator({
      plugs: this.systemIds.map((s) => ({ id: this.plugOf(s), name: s, state: common.initial })),
      transitionDelayMs: common.transitionDelayMs,
    })
  }

  /** The simulator plug of a system id. */
  plugOf(systemId: string): string {
    return this.spec.systems === 1 ? 'system' : systemId
  }

  systemPath(n = 1): string {
    return `${ROOT}/Systems/${this.systemIds[n - 1]}`
  }

  get host(): string {
    return this.common.listen?.host ?? '127.0.0.1'
  }

  get address(): { host: string; port: number } {
    return { host: this.host, port: this.port }
  }

  get endpoint(): string {
    return `https://${net.isIPv6(this.host) ? `[${this.host}]` : this.host}:${this.port}`
  }

  /** The certificate's SHA-256 fingerprint (AB:CD:…), valid after start(). */
  get fingerprint(): string {
    return this.tls?.fingerprint ?? ''
  }

  /** The certificate (PEM), for clients that trust it as a CA. */
  get certificate(): Buffer {
    return this.tls!.cert
  }

  async start(): Promise<void> {
    this.tls ??= await selfSigned(`idrac-${this.id}`)
    const h = https.createServer(
      { key: this.tls.key, cert: this.tls.cert, keepAliveTimeout: 30_000 },
      (req, res) => this.receive(req, res),
    )
    h.on('tlsClientError', () => {})
    this.https = h
    // the TCP side is ours: a stall fault holds new connections before the TLS handshake
    const server = net.createServer((s) => {
      this.sockets.add(s)
      s.on('close', () => this.sockets.delete(s))
      s.on('error', () => {})
      if (this.sim.faults.list().some((f) => f.type === 'stall')) return
      h.emit('connection', s)
    })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.common.listen?.port ?? 0, this.host, () => resolve())
    })
    this.port = (server.address() as net.AddressInfo).port
    this.server = server
  }

  info(): Record<string, unknown> {
    return {
      fingerprint: this.fingerprint,
      systems: this.systemIds.map((s) => `${ROOT}/Systems/${s}`),
      users: this.spec.users.map((u) => ({ name: u.name, role: u.role })),
      /** X-Auth-Token sessions open now (the counts, basic-auth requests too, are `sessions`). */
      tokenSessions: this.sessions.size,
    }
  }

  private record(r: Omit<RedfishRecord, 'at'>): void {
    this.records.push({ at: Date.now(), ...r })
    if (this.records.length > MAX_RECORDS) this.records.splice(0, this.records.length - MAX_RECORDS)
  }

  private receive(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (c: Buffer) => {
      size += c.length
      if (size <= MAX_BODY) chunks.push(c)
    })
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8')
      const path = (req.url ?? '/').split('?')[0]!.replace(/\/+$/, '') || '/'
      const method = req.method ?? 'GET'
      const d = this.sim.faults.decide()
      if (d.disconnect) {
        this.record({ method, path, auth: 'none', status: 0, note: 'disconnect fault' })
        req.socket.destroy()
        return
      }
      if (d.stall) {
        this.record({ method, path, auth: 'none', status: 0, note: 'stall fault: no answer' })
        return
      }
      if (d.drop) {
        this.record({ method, path, auth: 'none', status: 503, note: 'drop fault: 503' })
        return this.send(
          res,
          {
            status: 503,
            headers: { 'retry-after': '1' },
            body: redfishError(
              'Base.1.12.ServiceTemporarilyUnavailable',
              'The service is temporarily unavailable.',
              'Retry later.',
            ),
          },
          false,
          0,
        )
      }
      let auth: RedfishRecord['auth'] = 'none'
      let answer: Answer
      let resetType: string | undefined
      try {
        const who = this.authenticate(req)
        auth = who.auth
        // a request with basic auth is a session of its own, from its arrival to its answer
        if (auth === 'basic') res.once('close', this.sim.sessions.begin())
        const r = this.route(method, path, body, who.user, who.session)
        answer = r
        resetType = r.resetType
      } catch (e) {
        answer = { status: 500, body: redfishError('Base.1.12.InternalError', (e as Error).message) }
      }
      const rec: Omit<RedfishRecord, 'at'> = { method, path, auth, status: answer.status }
      if (resetType) rec.resetType = resetType
      this.record(rec)
      this.send(res, answer, d.garble, d.delayMs)
    })
  }

  private send(res: ServerResponse, a: Answer, garble: boolean, delayMs: number): void {
    const go = () => {
      if (res.destroyed) return
      let buf: Buffer = a.body === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(a.body))
      if (garble && buf.length) buf = garbleBytes(buf)
      const headers: Record<string, string | number> = {
        'odata-version': '4.0',
        server: 'Appweb/4.5',
        'cache-control': 'no-cache',
        ...a.headers,
      }
      if (buf.length) {
        headers['content-type'] = 'application/json;odata.metadata=minimal;charset=utf-8'
        headers['content-length'] = buf.length
      }
      res.writeHead(a.status, headers)
      res.end(buf)
    }
    if (delayMs > 0) {
      const t = setTimeout(() => {
        this.timers.delete(t)
        go()
      }, delayMs)
      this.timers.add(t)
    } else go()
  }

  private authenticate(req: IncomingMessage): {
    auth: RedfishRecord['auth']
    user?: RedfishUser
    session?: Session
  } {
    const token = req.headers['x-auth-token']
    if (typeof token === 'string') {
      for (const s of this.sessions.values())
        if (safeEqual(s.token, token)) return { auth: 'token', user: s.user, session: s }
      return { auth: 'bad' }
    }
    const h = req.headers.authorization
    if (typeof h === 'string' && /^basic /i.test(h)) {
      const dec = Buffer.from(h.slice(6).trim(), 'base64').toString('utf8')
      const colon = dec.indexOf(':')
      const user = this.checkUser(dec.slice(0, colon), dec.slice(colon + 1))
      return user ? { auth: 'basic', user } : { auth: 'bad' }
    }
    return { auth: 'none' }
  }

  private checkUser(name: string, password: string): RedfishUser | undefined {
    const u = this.spec.users.find((x) => x.name === name)
    return u && safeEqual(u.password, password) ? u : undefined
  }

  private route(
    method: string,
    path: string,
    body: string,
    user: RedfishUser | undefined,
    session: Session | undefined,
  ): Answer & { resetType?: string } {
    const unauthorized: Answer = {
      status: 401,
      headers: { 'www-authenticate': 'Basic realm="RedfishService"' },
      body: redfishError(
        'Base.1.12.NoValidSession',
        'There is no valid session established with the implementation.',
        'Establish a session before attempting any operations.',
      ),
    }
    const notFound: Answer = {
      status: 404,
      body: redfishError('Base.1.12.ResourceMissingAtURI', `The resource at the URI ${path} was not found.`),
    }
    const notAllowed: Answer = {
      status: 405,
      body: redfishError(
        'Base.1.12.OperationNotAllowed',
        `The operation ${method} is not allowed on ${path}.`,
      ),
    }
    // unauthenticated: the service root and the login
    if (path === ROOT || path === '/redfish') {
      if (method !== 'GET') return notAllowed
      return path === ROOT
        ? { status: 200, body: this.serviceRoot() }
        : { status: 200, body: { v1: `${ROOT}/` } }
    }
    const sessionsPath = `${ROOT}/SessionService/Sessions`
    if (path === sessionsPath && method === 'POST') {
      if (!this.spec.sessionService) return notFound
      const creds = parseJson(body)
      const u =
        creds && typeof creds.UserName === 'string' && typeof creds.Password === 'string'
          ? this.checkUser(creds.UserName, creds.Password)
          : undefined
      if (!creds)
        return {
          status: 400,
          body: redfishError('Base.1.12.MalformedJSON', 'The request body submitted was malformed JSON.'),
        }
      if (!u) return unauthorized
      const s: Session = {
        id: String(this.nextSession++),
        token: randomBytes(16).toString('hex'),
        user: u,
        end: this.sim.sessions.begin(),
      }
      this.sessions.set(s.id, s)
      return {
        status: 201,
        headers: { 'x-auth-token': s.token, location: `${sessionsPath}/${s.id}` },
        body: this.sessionBody(s),
      }
    }
    if (!user) return unauthorized
    if (path === `${ROOT}/SessionService` && this.spec.sessionService)
      return method === 'GET'
        ? {
            status: 200,
            body: {
              '@odata.id': `${ROOT}/SessionService`,
              '@odata.type': '#SessionService.v1_1_8.SessionService',
              Id: 'SessionService',
              Name: 'Session Service',
              ServiceEnabled: true,
              SessionTimeout: 1800,
              Sessions: { '@odata.id': sessionsPath },
            },
          }
        : notAllowed
    if (path === sessionsPath && this.spec.sessionService)
      return method === 'GET'
        ? {
            status: 200,
            body: collection(
              sessionsPath,
              'SessionCollection',
              [...this.sessions.keys()].map((k) => `${sessionsPath}/${k}`),
            ),
          }
        : notAllowed
    if (path.startsWith(`${sessionsPath}/`) && this.spec.sessionService) {
      const s = this.sessions.get(path.slice(sessionsPath.length + 1))
      if (!s) return notFound
      if (method === 'GET') return { status: 200, body: this.sessionBody(s) }
      if (method === 'DELETE') {
        if (session && session !== s && user.role !== 'Administrator') return forbidden()
        this.sessions.delete(s.id)
        s.end()
        return { status: 200, body: redfishError('Base.1.12.Success', 'Successfully Completed Request') }
      }
      return notAllowed
    }
    if (path === `${ROOT}/Systems`)
      return method === 'GET'
        ? {
            status: 200,
            body: collection(
              path,
              'ComputerSystemCollection',
              this.systemIds.map((s) => `${path}/${s}`),
            ),
          }
        : notAllowed
    const sys = /^\/redfish\/v1\/Systems\/([^/]+)(\/Actions\/ComputerSystem\.Reset)?$/.exec(path)
    if (sys && this.systemIds.includes(sys[1]!)) {
      const id = sys[1]!
      if (!sys[2]) return method === 'GET' ? { status: 200, body: this.system(id) } : notAllowed
      if (method !== 'POST') return notAllowed
      return this.reset(id, body, user)
    }
    if (path === `${ROOT}/Managers`)
      return method === 'GET'
        ? { status: 200, body: collection(path, 'ManagerCollection', [`${path}/iDRAC.Embedded.1`]) }
        : notAllowed
    if (path === `${ROOT}/Managers/iDRAC.Embedded.1` && method === 'GET')
      return {
        status: 200,
        body: {
          '@odata.id': path,
          '@odata.type': '#Manager.v1_12_0.Manager',
          Id: 'iDRAC.Embedded.1',
          Name: 'Manager',
          ManagerType: 'BMC',
          Model: '15G Monolithic',
          FirmwareVersion: '6.10.30.00',
          Status: { State: 'Enabled', Health: 'OK' },
        },
      }
    if (path === `${ROOT}/Chassis` && method === 'GET')
      return { status: 200, body: collection(path, 'ChassisCollection', []) }
    return notFound
  }

  private reset(id: string, body: string, user: RedfishUser): Answer & { resetType?: string } {
    const req = parseJson(body)
    if (!req)
      return {
        status: 400,
        body: redfishError('Base.1.12.MalformedJSON', 'The request body submitted was malformed JSON.'),
      }
    const type = req.ResetType
    if (typeof type !== 'string')
      return {
        status: 400,
        body: redfishError(
          'Base.1.12.ActionParameterMissing',
          `The action ${RESET_ACTION} requires the parameter ResetType to be present in the request body.`,
        ),
      }
    if (!(this.spec.resetTypes as string[]).includes(type))
      return {
        status: 400,
        resetType: type,
        body: redfishError(
          'Base.1.12.ActionParameterValueNotInList',
          `The value ${type} for the parameter ResetType is not in the list of acceptable values.`,
        ),
      }
    if (user.role === 'ReadOnly') return { ...forbidden(), resetType: type }
    const plug = this.plugOf(id)
    const o = this.sim.outlet(plug)
    const on = o.state === 'on'
    const conflict = (what: string): Answer & { resetType: string } => ({
      status: 409,
      resetType: type,
      body: redfishError(
        'Mock.1.0.AlreadyInState',
        `Unable to perform the operation because the server is already powered ${what}.`,
      ),
    })
    switch (type as ResetType) {
      case 'On':
      case 'ForceOn':
        if (on && o.pending?.action !== 'off') return conflict('ON')
        this.sim.command(plug, 'on')
        break
      case 'ForceOff':
        if (!on && o.pending?.action !== 'on') return conflict('OFF')
        this.sim.command(plug, 'off')
        break
      case 'GracefulShutdown':
        if (!on) return conflict('OFF')
        this.sim.command(plug, 'off', this.spec.gracefulShutdownMs)
        break
      case 'ForceRestart':
      case 'GracefulRestart':
      case 'PowerCycle':
        if (!on) return conflict('OFF')
        this.sim.command(plug, 'cycle')
        break
      case 'PushPowerButton':
        this.sim.command(plug, on ? 'off' : 'on')
        break
      case 'Nmi':
        break
    }
    return { status: 204, resetType: type }
  }

  private powerState(id: string): string {
    const o = this.sim.outlet(this.plugOf(id))
    if (o.pending?.action === 'off' && o.state === 'on') return 'PoweringOff'
    if (o.pending?.action === 'on' && o.state === 'off') return 'PoweringOn'
    return o.state === 'on' ? 'On' : 'Off'
  }

  private serviceRoot(): Record<string, unknown> {
    return {
      '@odata.context': '/redfish/v1/$metadata#ServiceRoot.ServiceRoot',
      '@odata.id': ROOT,
      '@odata.type': '#ServiceRoot.v1_11_0.ServiceRoot',
      Id: 'RootService',
      Name: 'Root Service',
      Product: 'Integrated Dell Remote Access Controller',
      Vendor: 'Dell',
      RedfishVersion: '1.15.0',
      UUID: this.uuid,
      Systems: { '@odata.id': `${ROOT}/Systems` },
      Chassis: { '@odata.id': `${ROOT}/Chassis` },
      Managers: { '@odata.id': `${ROOT}/Managers` },
      ...(this.spec.sessionService
        ? {
            SessionService: { '@odata.id': `${ROOT}/SessionService` },
            Links: { Sessions: { '@odata.id': `${ROOT}/SessionService/Sessions` } },
          }
        : { Links: {} }),
    }
  }

  private system(id: string): Record<string, unknown> {
    const path = `${ROOT}/Systems/${id}`
    return {
      '@odata.context': '/redfish/v1/$metadata#ComputerSystem.ComputerSystem',
      '@odata.id': path,
      '@odata.type': '#ComputerSystem.v1_16_0.ComputerSystem',
      Id: id,
      Name: 'System',
      SystemType: 'Physical',
      Manufacturer: 'Dell Inc.',
      Model: this.spec.model,
      SKU: this.serviceTag,
      SerialNumber: `CN${this.serviceTag}`,
      HostName: '',
      UUID: this.uuid,
      PowerState: this.powerState(id),
      Status: { State: 'Enabled', Health: 'OK' },
      BiosVersion: '1.10.2',
      Boot: {
        BootSourceOverrideEnabled: 'Disabled',
        BootSourceOverrideMode: 'UEFI',
        BootSourceOverrideTarget: 'None',
        'BootSourceOverrideTarget@Redfish.AllowableValues': [
          'None',
          'Pxe',
          'Cd',
          'Hdd',
          'BiosSetup',
          'UefiTarget',
        ],
      },
      ProcessorSummary: { Count: 2, Model: 'Intel(R) Xeon(R) Silver 4314 CPU @ 2.40GHz' },
      MemorySummary: { TotalSystemMemoryGiB: 128 },
      Links: { ManagedBy: [{ '@odata.id': `${ROOT}/Managers/iDRAC.Embedded.1` }] },
      Actions: {
        [RESET_ACTION]: {
          target: `${path}/Actions/ComputerSystem.Reset`,
          'ResetType@Redfish.AllowableValues': this.spec.resetTypes,
        },
      },
    }
  }

  private sessionBody(s: Session): Record<string, unknown> {
    return {
      '@odata.id': `${ROOT}/SessionService/Sessions/${s.id}`,
      '@odata.type': '#Session.v1_3_0.Session',
      Id: s.id,
      Name: `User Session ${s.id}`,
      UserName: s.user.name,
    }
  }

  async stop(): Promise<void> {
    for (const s of this.sessions.values()) s.end()
    this.sessions.clear()
    for (const t of this.timers) clearTimeout(t)
    this.timers.clear()
    for (const s of this.sockets) s.destroy()
    this.sim.close()
    this.https?.close()
    const server = this.server
    this.server = undefined
    if (server) await new Promise<void>((r) => server.close(() => r()))
  }
}

function forbidden(): Answer {
  return {
    status: 403,
    body: redfishError(
      'Base.1.12.InsufficientPrivilege',
      'There are insufficient privileges for the account or credentials associated with the current session to perform the requested operation.',
    ),
  }
}

function collection(path: string, type: string, members: string[]): Record<string, unknown> {
  return {
    '@odata.id': path,
    '@odata.type': `#${type}.${type}`,
    Name: type.replace(/([a-z])([A-Z])/g, '$1 $2'),
    Members: members.map((m) => ({ '@odata.id': m })),
    'Members@odata.count': members.length,
  }
}

function parseJson(body: string): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(body)
    return v && typeof v === 'object' && !Array.isArray(v) ? v : undefined
  } catch {
    return undefined
  }
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}
