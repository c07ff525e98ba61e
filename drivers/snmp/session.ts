/**
 * An SNMP session to one agent (net-snmp), shared by the SNMP drivers: GET, GETNEXT,
 * GETBULK, SET and column walks as promises bound to the caller's AbortSignal, every
 * failure a FenceError.
 *
 * - Timeouts: one try waits `timeoutMs`, `retries` more tries follow; no answer at all is
 *   DEVICE_UNREACHABLE (transient). Defaults give < 2 s (fence_apc_snmp takes ≈ 6 s).
 * - After a timeout, an abort or an unreadable answer the session is dropped and the next
 *   call opens a fresh one (a new UDP source port), so a late answer to an abandoned request
 *   is never read as the answer to a new one, and an agent that hung on our old port
 *   (a stall) is left behind.
 * - Secrets never appear in messages: everything net-snmp says is scrubbed first.
 */
import snmp from 'net-snmp'
import { FenceError, abortError, throwIfAborted } from '../../core/errors.js'
import type { Call } from '../driver.js'
import type { SnmpCredentials, SnmpTargetConfig } from './config.js'
import { secretValues } from './config.js'
import { type RawVarbind, SNMP_TYPE, compareOids, normalizeOid, oidSuffix } from './varbind.js'

export interface SetVarbind {
  oid: string
  type: 'int' | 'str'
  value: number | string
}

export interface SnmpClientOptions {
  target: Pick<SnmpTargetConfig, 'host' | 'port' | 'version' | 'timeoutMs' | 'retries'>
  /** Called when a session is opened: reads the secrets now. */
  credentials: () => SnmpCredentials
  /** For messages: `pdu1 (10.0.0.5:161)`. */
  label: string
}

const AUTH: Record<string, number> = {
  md5: snmp.AuthProtocols.md5,
  sha: snmp.AuthProtocols.sha,
  sha224: snmp.AuthProtocols.sha224,
  sha256: snmp.AuthProtocols.sha256,
  sha384: snmp.AuthProtocols.sha384,
  sha512: snmp.AuthProtocols.sha512,
}
const PRIV: Record<string, number> = {
  aes: snmp.PrivProtocols.aes,
  aes256b: snmp.PrivProtocols.aes256b,
  aes256r: snmp.PrivProtocols.aes256r,
}
const LEVEL: Record<string, number> = {
  noAuthNoPriv: snmp.SecurityLevel.noAuthNoPriv,
  authNoPriv: snmp.SecurityLevel.authNoPriv,
  authPriv: snmp.SecurityLevel.authPriv,
}

/** Thrown into requests cut short because the session was dropped under them. */
class SessionDropped extends Error {
  override name = 'SessionDropped'
}

/** Longest column a walk follows: a device that never ends its table is broken, not big. */
const MAX_WALK_ROWS = 4096
/** Rows asked per GETBULK. */
const BULK_REPETITIONS = 48

export class SnmpClient {
  private session: snmp.Session | undefined
  private secrets: string[] = []
  private closed = false
  /** Requests issued (not counting retransmissions): benches and tests count device rounds. */
  requests = 0
  /** Datagrams net-snmp could not decode (a garbled line); they are dropped, the request times out. */
  undecodable = 0

  constructor(private readonly opts: SnmpClientOptions) {}

  get label(): string {
    return this.opts.label
  }

  get version(): SnmpTargetConfig['version'] {
    return this.opts.target.version
  }

  private open(): snmp.Session {
    if (this.closed) throw new FenceError('ENGINE_CLOSED', `${this.label}: driver closed`)
    if (this.session) return this.session
    const { host, port, version, timeoutMs, retries } = this.opts.target
    const creds = this.opts.credentials()
    this.secrets = secretValues(creds)
    const options = { port, timeout: timeoutMs, retries, backoff: 1, transport: 'udp4' as const }
    let s: snmp.Session
    if (version === '3') {
      const u = creds.user!
      s = snmp.createV3Session(
        host,
        {
          name: u.name,
          level: LEVEL[u.level]!,
          ...(u.authKey ? { authProtocol: AUTH[u.authProtocol ?? 'sha'], authKey: u.authKey } : {}),
          ...(u.privKey ? { privProtocol: PRIV[u.privProtocol ?? 'aes'], privKey: u.privKey } : {}),
        },
        { ...options, version: snmp.Version3 },
      )
    } else {
      s = snmp.createSession(host, creds.community!, {
        ...options,
        version: version === '1' ? snmp.Version1 : snmp.Version2c,
      })
    }
    // a datagram net-snmp cannot parse is emitted as 'error': without a listener it would
    // crash the process; the request it answered times out instead
    s.on('error', () => {
      this.undecodable++
    })
    this.session = s
    return s
  }

  /** Drop the session: pending requests fail, the next call opens a new socket. */
  reset(): void {
    const s = this.session
    this.session = undefined
    if (!s) return
    try {
      s.cancelRequests(new SessionDropped('session dropped'))
      s.close()
    } catch {
      // already closed
    }
  }

  async close(): Promise<void> {
    this.closed = true
    this.reset()
  }

  private scrub(text: string): string {
    let out = text
    for (const s of this.secrets) if (s) out = out.split(s).join('***')
    return out
  }

  private run<T>(
    what: string,
    call: Call,
    start: (s: snmp.Session, cb: (err: unknown, res?: T) => void) => void,
  ) {
    throwIfAborted(call.signal)
    const session = this.open()
    this.requests++
    return new Promise<T>((resolve, reject) => {
      let settled = false
      const settle = (err: FenceError | undefined, res?: T) => {
        if (settled) return
        settled = true
        call.signal.removeEventListener('abort', onAbort)
        if (err) reject(err)
        else resolve(res as T)
      }
      const onAbort = () => {
        settle(abortError(call.signal))
        this.reset()
      }
      call.signal.addEventListener('abort', onAbort, { once: true })
      try {
        start(session, (err, res) => {
          if (!err) return settle(undefined, res)
          const fe = this.toFenceError(err, what)
          if (fe.transient) this.reset()
          settle(fe)
        })
      } catch (e) {
        settle(this.toFenceError(e, what))
      }
    })
  }

  /** Every failure as a FenceError; transient ones drop the session. */
  private toFenceError(err: unknown, what: string): FenceError {
    const e = err as { name?: string; message?: string; status?: number; code?: number }
    const msg = this.scrub(String(e?.message ?? err))
    const at = `${this.label}: ${what}`
    const { timeoutMs, retries } = this.opts.target
    switch (e?.name) {
      case 'RequestTimedOutError':
        return new FenceError(
          'DEVICE_UNREACHABLE',
          `${at}: no answer after ${retries + 1} tries of ${timeoutMs}ms (the PDU is unreachable, or it ignores our community or v3 credentials, as agents do)`,
        )
      case 'SessionDropped':
        return new FenceError('CONNECTION_LOST', `${at}: the SNMP session was reset`)
      case 'RequestFailedError':
        return this.statusError(e.status ?? 5, msg, at)
      case 'ResponseInvalidError': {
        const C = snmp.ResponseInvalidCode as unknown as Record<string, number>
        if (e.code === C.EAuthFailure)
          return new FenceError('AUTH_REFUSED', `${at}: the agent refused our v3 credentials: ${msg}`)
        if (e.code === C.ECouldNotDecrypt)
          return new FenceError(
            'AUTH_REFUSED',
            `${at}: cannot decrypt the answer (wrong privKey or privProtocol?)`,
          )
        return new FenceError('PROTOCOL_ERROR', `${at}: invalid answer: ${msg}`)
      }
      case 'RequestInvalidError':
        return new FenceError('INTERNAL', `${at}: request not sent: ${msg}`)
      default:
        return new FenceError('DEVICE_UNREACHABLE', `${at}: ${msg}`)
    }
  }

  private statusError(status: number, msg: string, at: string): FenceError {
    const S = snmp.ErrorStatus as unknown as Record<string, number>
    const oid = /:\s*([\d.]+)\s*$/.exec(msg)?.[1]
    const details = oid ? { oid, status } : { status }
    switch (status) {
      case S.NoSuchName:
        return new FenceError(
          'NO_SUCH_PLUG',
          `${at}: noSuchName${oid ? ` at ${oid}` : ''} (no such object, or — SNMPv1 says the same — the community may not write it)`,
          details,
        )
      case S.NoCreation:
      case S.NotWritable:
      case S.InconsistentName:
        return new FenceError('NO_SUCH_PLUG', `${at}: ${msg} (no such object to write)`, details)
      case S.NoAccess:
      case S.AuthorizationError:
      case S.ReadOnly:
        return new FenceError(
          'AUTH_REFUSED',
          `${at}: ${msg} (the community or user has no write access)`,
          details,
        )
      case S.TooBig:
        return new FenceError('PROTOCOL_ERROR', `${at}: the answer would be too big`, details)
      case S.ResourceUnavailable:
        return new FenceError('DEVICE_BUSY', `${at}: ${msg}`, details)
      case S.BadValue:
      case S.WrongType:
      case S.WrongLength:
      case S.WrongEncoding:
      case S.WrongValue:
      case S.InconsistentValue:
        return new FenceError('DEVICE_ERROR', `${at}: the agent refused the value: ${msg}`, details)
      default:
        return new FenceError('DEVICE_ERROR', `${at}: ${msg}`, details)
    }
  }

  /** GET several OIDs in one request; the answer is aligned with `oids`. */
  get(oids: readonly string[], call: Call): Promise<RawVarbind[]> {
    return this.run<RawVarbind[]>(
      `GET ${oids.length === 1 ? oids[0] : `${oids.length} objects`}`,
      call,
      (s, cb) => s.get([...oids], (err, vbs) => cb(err, this.aligned(vbs, oids.length))),
    )
  }

  getNext(oids: readonly string[], call: Call): Promise<RawVarbind[]> {
    return this.run<RawVarbind[]>(`GETNEXT ${oids.join(' ')}`, call, (s, cb) =>
      s.getNext([...oids], (err, vbs) => cb(err, this.aligned(vbs, oids.length))),
    )
  }

  /** GETBULK of one column from `oid` (no non-repeaters): the rows in order. */
  private getBulkColumn(oid: string, call: Call): Promise<RawVarbind[]> {
    return this.run<RawVarbind[]>(`GETBULK ${oid}`, call, (s, cb) =>
      s.getBulk([oid], 0, BULK_REPETITIONS, (err, vbs) => {
        if (err) return cb(err)
        const first = vbs?.[0]
        cb(null, Array.isArray(first) ? (first as RawVarbind[]) : first ? [first as RawVarbind] : [])
      }),
    )
  }

  private aligned(vbs: unknown, n: number): RawVarbind[] {
    // a short answer must not shift values onto the wrong OIDs: pad with nothing
    const arr = Array.isArray(vbs) ? (vbs as RawVarbind[]) : []
    return Array.from({ length: n }, (_, i) => arr[i] ?? {})
  }

  /**
   * Every row of a column: GETBULK on v2c/v3, GETNEXT on v1. Stops at the column's end; a device
   * that answers out of order or without end is a PROTOCOL_ERROR, not an endless loop.
   */
  async walk(column: string, call: Call): Promise<{ index: string; vb: RawVarbind }[]> {
    const rows: { index: string; vb: RawVarbind }[] = []
    let cursor = normalizeOid(column)
    for (;;) {
      const batch =
        this.version === '1' ? await this.getNext([cursor], call) : await this.getBulkColumn(cursor, call)
      if (batch.length === 0) return rows
      for (const vb of batch) {
        if (vb.type === SNMP_TYPE.EndOfMibView || typeof vb.oid !== 'string') return rows
        const index = oidSuffix(vb.oid, column)
        if (index === undefined) return rows
        if (compareOids(vb.oid, cursor) <= 0)
          throw new FenceError(
            'PROTOCOL_ERROR',
            `${this.label}: walk of ${column} went backwards at ${vb.oid}`,
          )
        rows.push({ index, vb })
        cursor = normalizeOid(vb.oid)
        if (rows.length > MAX_WALK_ROWS)
          throw new FenceError(
            'PROTOCOL_ERROR',
            `${this.label}: ${column} has more than ${MAX_WALK_ROWS} rows`,
          )
      }
    }
  }

  /** SET several objects in one request. An exception in the echoed varbinds is NO_SUCH_PLUG. */
  async set(varbinds: readonly SetVarbind[], call: Call): Promise<void> {
    const vbs = varbinds.map((v) => ({
      oid: v.oid,
      type: v.type === 'int' ? snmp.ObjectType.Integer : snmp.ObjectType.OctetString,
      value: v.value,
    }))
    const what = `SET ${varbinds.map((v) => `${v.oid}=${v.value}`).join(' ')}`
    const echoed = await this.run<RawVarbind[]>(what, call, (s, cb) =>
      s.set(vbs, (err, res) => cb(err, this.aligned(res, vbs.length))),
    )
    echoed.forEach((vb, i) => {
      if (vb.type === SNMP_TYPE.NoSuchObject || vb.type === SNMP_TYPE.NoSuchInstance)
        throw new FenceError('NO_SUCH_PLUG', `${this.label}: ${what}: the agent has no ${varbinds[i]!.oid}`, {
          oid: varbinds[i]!.oid,
        })
    })
  }
}
