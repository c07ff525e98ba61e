import { performance } from 'node:perf_hooks'
import {
  BMC_ADDR,
  type CipherProfile,
  type CipherSuiteRecord,
  Cmd,
  IpmiCodecError,
  type IpmiResponse,
  NetFn,
  PayloadType,
  REMOTE_CONSOLE_ADDR,
  ROLE_NAME_ONLY_LOOKUP,
  RakpStatus,
  type RakpExchange,
  type SessionKeys,
  SequenceWindow,
  STANDARD_SUITES,
  authCapsRequest,
  cipherSuitesRequest,
  CIPHER_SUITE_CHUNK,
  closeSessionRequest,
  constantTimeEqual,
  decodeAuthCaps,
  decodeCipherSuiteRecords,
  decodeOpenSessionResponse,
  decodeRakp2,
  decodeRakp4,
  decodeResponse,
  decodeV15,
  encodeOpenSessionRequest,
  encodeRakp1,
  encodeRakp3,
  encodeRequest,
  encodeV15,
  encodeV2Plain,
  encodeV2Protected,
  nextSeq,
  openV2,
  parseV2,
  privilegeName,
  rakp2AuthCode,
  rakp3AuthCode,
  rakp4Icv,
  randomSessionId,
  request,
  secureRandom,
  sessionFormat,
  sessionKeys,
  suiteIdOf,
  weakness,
} from '../../protocols/ipmi/index.js'
import { FenceError } from '../../src/core/errors.js'
import type { DriverContext } from '../driver.js'
import { completionError, rakpError } from './errors.js'
import { UdpChannel } from './udp.js'

/** What a session needs; the secrets stay in memory and never reach a message. */
export interface SessionOptions {
  host: string
  port: number
  /** `bmc3 (10.0.1.3:623)`, for messages. */
  label: string
  user: Buffer
  password: Buffer
  kg?: Buffer
  profile: CipherProfile
  privilege: number
  unreachableTimeoutMs: number
  requestTimeoutMs: number
  retransmitMs: number
  log: DriverContext['log']
  /** Warn about the BMC's set-up once per driver, not once per session. */
  warnOnce(key: string, msg: string): void
}

/** Close Session is a courtesy: it never holds a result back for long. */
const CLOSE_BUDGET_MS = 1000
const MAX_RETRANSMIT_MS = 1000

/**
 * One RMCP+ session with a BMC, for one driver call: Get Channel Authentication Capabilities,
 * Get Channel Cipher Suites, Open Session, RAKP 1–4, Set Session Privilege Level, commands,
 * Close Session. After RAKP4 only packets that are authenticated and encrypted, for our
 * session id, with a fresh sequence number in the window are accepted; anything else is
 * ignored (and counted for the error, should no valid answer come).
 */
export class IpmiSession {
  private readonly consoleSid = randomSessionId()
  private bmcSid = 0
  private keys: SessionKeys | undefined
  private readonly window = new SequenceWindow(8, 32, false)
  private outSeq = 0
  private rqSeq = secureRandom(1).readUInt8(0) & 0x3f
  private tag = secureRandom(1).readUInt8(0)
  /** Has the BMC sent us anything at all in this session? Until then, silence means unreachable. */
  private heard = false

  private constructor(
    private readonly o: SessionOptions,
    private readonly channel: UdpChannel,
  ) {}

  static async open(o: SessionOptions, signal: AbortSignal): Promise<IpmiSession> {
    const channel = await UdpChannel.open(o.host, o.port, o.label, signal)
    const s = new IpmiSession(o, channel)
    try {
      await s.establish(signal)
      return s
    } catch (e) {
      s.abandon()
      throw e
    }
  }

  get active(): boolean {
    return this.keys !== undefined
  }

  private nextRqSeq(): number {
    this.rqSeq = (this.rqSeq + 1) & 0x3f
    return this.rqSeq
  }

  private nextTag(): number {
    this.tag = (this.tag + 1) & 0xff
    return this.tag
  }

  /**
   * Send (and resend with backoff) until `match` accepts an answer. `match` returns undefined
   * for a packet that is not the answer (late answers to earlier requests), throws a
   * FenceError for an answer that refuses, and an IpmiCodecError for garbage or forgeries.
   */
  private async exchange<T>(
    what: string,
    build: () => Buffer,
    match: (pkt: Buffer) => T | undefined,
    signal: AbortSignal,
    budgetMs?: number,
  ): Promise<T> {
    const start = performance.now()
    const rejected = new Map<string, number>()
    let rto = this.o.retransmitMs
    let tries = 0
    const budget = () => budgetMs ?? (this.heard ? this.o.requestTimeoutMs : this.o.unreachableTimeoutMs)
    while (performance.now() - start < budget()) {
      this.channel.send(build())
      tries++
      const until = performance.now() + rto
      rto = Math.min(rto * 2, MAX_RETRANSMIT_MS)
      for (;;) {
        const left = Math.min(until, start + budget()) - performance.now()
        if (left <= 0) break
        let pkt: Buffer | undefined
        try {
          pkt = await this.channel.receive(left, signal)
        } catch (e) {
          if (e instanceof FenceError && e.code === 'CONNECTION_LOST' && !this.heard)
            throw new FenceError('DEVICE_UNREACHABLE', e.message)
          throw e
        }
        if (!pkt) break
        this.heard = true
        try {
          const r = match(pkt)
          if (r !== undefined) return r
        } catch (e) {
          if (!(e instanceof IpmiCodecError)) throw e
          rejected.set(e.reason, (rejected.get(e.reason) ?? 0) + 1)
          this.o.log('debug', 'ignored a packet from the BMC', {
            device: this.o.label,
            what,
            reason: e.message,
          })
        }
      }
    }
    const ms = Math.round(performance.now() - start)
    if (!this.heard)
      throw new FenceError(
        'DEVICE_UNREACHABLE',
        `${this.o.label}: no answer at all within ${ms}ms (${tries} tries)`,
      )
    if (rejected.size > 0) {
      const why = [...rejected].map(([r, n]) => `${n} ${r}`).join(', ')
      throw new FenceError(
        'PROTOCOL_ERROR',
        `${this.o.label}: no valid answer to ${what} within ${ms}ms; packets refused: ${why}`,
      )
    }
    throw new FenceError(
      'DEVICE_TIMEOUT',
      `${this.o.label}: no answer to ${what} within ${ms}ms (${tries} tries)`,
    )
  }

  /**
   * A set-up answer (Open Session Response, RAKP 2, RAKP 4) counts only when it carries our
   * console session id: random and 32 bits, unlike the one-byte message tag a spoofer can guess.
   * Anything else — an error status included, however it would end the session — is dropped and
   * counted (IpmiCodecError 'session'), and the exchange keeps waiting for the BMC's own answer.
   * An error status is honoured only from a packet that passed this check.
   */
  private mustBeOurs(consoleSid: number, what: string, status: number): void {
    if (consoleSid !== this.consoleSid)
      throw new IpmiCodecError(
        'session',
        `${what}${status !== 0 ? ` with error status 0x${status.toString(16).padStart(2, '0')}` : ''} for another console session id`,
      )
  }

  private isAnswer(rs: IpmiResponse, netFn: number, cmd: number, rqSeq: number): boolean {
    return (
      rs.netFn === netFn + 1 &&
      rs.cmd === cmd &&
      rs.rqSeq === rqSeq &&
      rs.rqAddr === REMOTE_CONSOLE_ADDR &&
      rs.rsAddr === BMC_ADDR
    )
  }

  /** A session-less command in IPMI v1.5 framing (auth type none), as ipmi_sim and real BMCs answer it. */
  private sessionless(netFn: number, cmd: number, data: Buffer, what: string, signal: AbortSignal) {
    const rqSeq = this.nextRqSeq()
    const message = encodeRequest(request(netFn, cmd, rqSeq, data))
    const bytes = encodeV15({ authType: 0, seq: 0, sessionId: 0, message })
    return this.exchange(
      what,
      () => bytes,
      (pkt) => {
        let m: Buffer
        if (sessionFormat(pkt) === 'v15') {
          const p = decodeV15(pkt)
          if (p.sessionId !== 0) return undefined
          m = p.message
        } else {
          const p = parseV2(pkt)
          if (p.sessionId !== 0 || p.payloadType !== PayloadType.IPMI || p.authenticated || p.encrypted)
            return undefined
          m = p.payload
        }
        const rs = decodeResponse(m)
        return this.isAnswer(rs, netFn, cmd, rqSeq) ? rs : undefined
      },
      signal,
    )
  }

  private async establish(signal: AbortSignal): Promise<void> {
    const { label, privilege } = this.o
    const caps = await this.sessionless(
      NetFn.APP,
      Cmd.GET_CHANNEL_AUTH_CAPS,
      authCapsRequest(privilege),
      'Get Channel Authentication Capabilities',
      signal,
    )
    if (caps.cc !== 0) throw completionError(caps.cc, 'Get Channel Authentication Capabilities', label)
    const c = decodeAuthCaps(caps.data)
    if (!c.ipmi20)
      throw new FenceError(
        'INSECURE_DEVICE',
        `${label}: the BMC does not offer IPMI v2.0 (RMCP+); IPMI v1.5 sessions are refused (no confidentiality, weak or clear-text authentication)`,
      )
    if (c.anonymousLogin || c.nullUsers)
      this.o.warnOnce(
        'anonymous',
        `${label}: the BMC allows ${c.anonymousLogin ? 'anonymous login' : 'null user names'}: disable them on the BMC`,
      )
    if (c.kgSet && !this.o.kg)
      throw new FenceError(
        'AUTH_REFUSED',
        `${label}: the BMC has a BMC key (Kg) set: give it with kgFile or kgEnv`,
      )

    await this.checkCipherSuites(signal)
    await this.openSession(signal)
    await this.rakp(signal)

    const rs = await this.command(
      NetFn.APP,
      Cmd.SET_SESSION_PRIVILEGE,
      Buffer.from([privilege]),
      'Set Session Privilege Level',
      signal,
    )
    if (rs.cc !== 0) {
      const e = completionError(rs.cc, `Set Session Privilege Level ${privilegeName(privilege)}`, label)
      throw new FenceError(e.code, `${e.message} for user ${this.o.user.toString('latin1')}`, e.details)
    }
    if (rs.data.length < 1 || (rs.data.readUInt8(0) & 0x0f) !== privilege)
      throw new FenceError('PROTOCOL_ERROR', `${label}: Set Session Privilege Level answered another level`)
  }

  private async checkCipherSuites(signal: AbortSignal): Promise<void> {
    const { label, profile } = this.o
    const chunks: Buffer[] = []
    for (let index = 0; index < 0x40; index++) {
      const rs = await this.sessionless(
        NetFn.APP,
        Cmd.GET_CHANNEL_CIPHER_SUITES,
        cipherSuitesRequest(index),
        'Get Channel Cipher Suites',
        signal,
      )
      if (rs.cc !== 0) {
        // an old BMC without the command: the Open Session answer is checked just as strictly
        this.o.log('debug', 'Get Channel Cipher Suites not answered', { device: label, cc: rs.cc })
        return
      }
      const chunk = rs.data.subarray(1)
      chunks.push(chunk)
      if (chunk.length < CIPHER_SUITE_CHUNK) break
    }
    const records = decodeCipherSuiteRecords(Buffer.concat(chunks))
    const offers = (r: CipherSuiteRecord, id: number) => {
      const s = STANDARD_SUITES.get(id)!
      return (
        r.oemIana === undefined &&
        r.id === id &&
        r.auth.includes(s.auth) &&
        r.integrity.includes(s.integrity) &&
        r.confidentiality.includes(s.confidentiality)
      )
    }
    const weak = records.filter((r) => r.oemIana === undefined && r.id !== 3 && r.id !== 17).map((r) => r.id)
    if (weak.includes(0))
      this.o.warnOnce(
        'suite0',
        `${label}: the BMC enables cipher suite 0 (no authentication: anyone can log in): disable it`,
      )
    else if (weak.length)
      this.o.warnOnce(
        'weak',
        `${label}: the BMC also enables weak cipher suites ${weak.join(', ')}: disable them`,
      )
    if (records.some((r) => offers(r, profile.suite))) return
    const good = [3, 17].filter((id) => records.some((r) => offers(r, id)))
    if (good.length === 0) {
      const list = records.map((r) => {
        const s = STANDARD_SUITES.get(r.id)
        const w = s ? weakness(s) : undefined
        return r.oemIana !== undefined ? `OEM ${r.id}` : w ? `${r.id} (${w})` : String(r.id)
      })
      throw new FenceError(
        'INSECURE_DEVICE',
        `${label}: the BMC offers only cipher suites ${list.join(', ') || 'none'}; fencegate speaks only 17 and 3`,
      )
    }
    throw new FenceError(
      'DEVICE_ERROR',
      `${label}: the BMC does not offer cipher suite ${profile.suite}; it offers ${good.join(' and ')}: set cipherSuite: ${good.at(-1)}`,
    )
  }

  private async openSession(signal: AbortSignal): Promise<void> {
    const { label, profile, privilege } = this.o
    const tag = this.nextTag()
    const bytes = encodeV2Plain(
      { payloadType: PayloadType.OPEN_SESSION_REQUEST, sessionId: 0, seq: 0 },
      encodeOpenSessionRequest({
        tag,
        maxPriv: privilege,
        consoleSid: this.consoleSid,
        ...algorithms(profile),
      }),
    )
    const rs = await this.exchange(
      'Open Session',
      () => bytes,
      (pkt) => {
        const p = parseV2(pkt)
        if (p.payloadType !== PayloadType.OPEN_SESSION_RESPONSE || p.sessionId !== 0) return undefined
        const r = decodeOpenSessionResponse(p.payload)
        if (r.tag !== tag) return undefined
        // ours only when it names our (random) console session id: a spoofer can guess the tag
        this.mustBeOurs(r.consoleSid, 'Open Session Response', r.status)
        if (r.status !== 0)
          throw rakpError(r.status, `Open Session with cipher suite ${profile.suite}`, label)
        return r
      },
      signal,
    )
    const a = rs.algorithms!
    if (
      a.auth !== profile.auth ||
      a.integrity !== profile.integrity ||
      a.confidentiality !== profile.confidentiality
    ) {
      const id = suiteIdOf(a)
      const w = weakness(a)
      throw new FenceError(
        'INSECURE_DEVICE',
        `${label}: asked for cipher suite ${profile.suite}, the BMC answered with other algorithms (${id !== undefined ? `suite ${id}` : `${a.auth}/${a.integrity}/${a.confidentiality}`}${w ? `: ${w}` : ''}); refused`,
      )
    }
    if (!rs.bmcSid) throw new FenceError('PROTOCOL_ERROR', `${label}: Open Session answered session id 0`)
    if (rs.maxPriv !== 0 && rs.maxPriv < privilege)
      throw new FenceError(
        'AUTH_REFUSED',
        `${label}: the BMC allows at most ${privilegeName(rs.maxPriv)} on this channel, ${privilegeName(privilege)} is needed`,
      )
    this.bmcSid = rs.bmcSid
  }

  private async rakp(signal: AbortSignal): Promise<void> {
    const { label, profile, privilege, user, password, kg } = this.o
    const role = privilege | ROLE_NAME_ONLY_LOOKUP
    const rm = secureRandom(16)
    const tag1 = this.nextTag()
    const rakp1 = encodeV2Plain(
      { payloadType: PayloadType.RAKP1, sessionId: 0, seq: 0 },
      encodeRakp1({ tag: tag1, bmcSid: this.bmcSid, rm, role, username: user }),
    )
    const who = `user ${user.toString('latin1')}`
    const hints: Record<number, string> = {
      [RakpStatus.UNAUTHORIZED_NAME]: `: the BMC does not know ${who}`,
      [RakpStatus.UNAUTHORIZED_ROLE]: `: ${who} may not have ${privilegeName(privilege)} privilege`,
      [RakpStatus.INVALID_ROLE]: `: ${who} may not have ${privilegeName(privilege)} privilege`,
    }
    const r2 = await this.exchange(
      'RAKP Message 1',
      () => rakp1,
      (pkt) => {
        const p = parseV2(pkt)
        if (p.payloadType !== PayloadType.RAKP2 || p.sessionId !== 0) return undefined
        const m = decodeRakp2(p.payload)
        if (m.tag !== tag1) return undefined
        this.mustBeOurs(m.consoleSid, 'RAKP Message 2', m.status)
        if (m.status !== 0) throw rakpError(m.status, 'RAKP Message 1', label, hints[m.status] ?? '')
        return m
      },
      signal,
    )
    const x: RakpExchange = {
      consoleSid: this.consoleSid,
      bmcSid: this.bmcSid,
      rm,
      rc: r2.rc!,
      guid: r2.guid!,
      role,
      username: user,
    }
    // the full-length HMAC, compared in constant time: it proves the BMC knows the password
    if (!constantTimeEqual(rakp2AuthCode(profile, password, x), r2.authCode!)) {
      const tag3 = this.nextTag()
      this.channel.send(
        encodeV2Plain(
          { payloadType: PayloadType.RAKP3, sessionId: 0, seq: 0 },
          encodeRakp3({
            tag: tag3,
            status: RakpStatus.INVALID_INTEGRITY_CHECK,
            bmcSid: this.bmcSid,
            authCode: Buffer.alloc(0),
          }),
        ),
      )
      throw new FenceError(
        'AUTH_REFUSED',
        `${label}: RAKP2 HMAC is invalid: wrong password for ${who} (or not the BMC it claims to be)`,
      )
    }
    const keys = sessionKeys(profile, password, kg, x)
    const tag3 = this.nextTag()
    const rakp3 = encodeV2Plain(
      { payloadType: PayloadType.RAKP3, sessionId: 0, seq: 0 },
      encodeRakp3({
        tag: tag3,
        status: 0,
        bmcSid: this.bmcSid,
        authCode: rakp3AuthCode(profile, password, x),
      }),
    )
    const r4 = await this.exchange(
      'RAKP Message 3',
      () => rakp3,
      (pkt) => {
        const p = parseV2(pkt)
        if (p.payloadType !== PayloadType.RAKP4 || p.sessionId !== 0) return undefined
        const m = decodeRakp4(p.payload)
        if (m.tag !== tag3) return undefined
        this.mustBeOurs(m.consoleSid, 'RAKP Message 4', m.status)
        if (m.status !== 0) throw rakpError(m.status, 'RAKP Message 3', label)
        return m
      },
      signal,
    )
    if (!constantTimeEqual(rakp4Icv(keys, x), r4.icv))
      throw new FenceError(
        'AUTH_REFUSED',
        `${label}: RAKP4 integrity check value is invalid${kg ? ': wrong BMC key (Kg)?' : ': the BMC may have a key (Kg) set'}`,
      )
    this.keys = keys
  }

  /** A command inside the session. Resolves with any completion code: the caller decides. */
  command(
    netFn: number,
    cmd: number,
    data: Buffer,
    what: string,
    signal: AbortSignal,
    budgetMs?: number,
  ): Promise<IpmiResponse> {
    const keys = this.keys
    if (!keys) return Promise.reject(new FenceError('INTERNAL', `${this.o.label}: no session`))
    const rqSeq = this.nextRqSeq()
    const message = encodeRequest(request(netFn, cmd, rqSeq, data))
    return this.exchange(
      what,
      () => {
        this.outSeq = nextSeq(this.outSeq)
        return encodeV2Protected(
          keys,
          { payloadType: PayloadType.IPMI, sessionId: this.bmcSid, seq: this.outSeq },
          message,
        )
      },
      (pkt) => {
        const p = parseV2(pkt)
        if (p.payloadType !== PayloadType.IPMI)
          throw new IpmiCodecError(
            'payload-type',
            `payload type 0x${p.payloadType.toString(16)} inside the session`,
          )
        if (p.sessionId !== this.consoleSid)
          throw new IpmiCodecError('session', `packet for session ${p.sessionId}, not ours`)
        if (!p.authenticated || !p.encrypted)
          throw new IpmiCodecError('integrity', 'unauthenticated or unencrypted packet inside the session')
        const verdict = this.window.check(p.seq)
        if (verdict) throw new IpmiCodecError('sequence', `sequence number ${p.seq}: ${verdict}`)
        const plain = openV2(keys, p)
        this.window.accept(p.seq) // only now: a forged packet must not move the window
        const rs = decodeResponse(plain)
        if (!this.isAnswer(rs, netFn, cmd, rqSeq)) return undefined
        if (rs.cc === 0xcf) return undefined // "duplicate request": the answer to the first copy counts
        return rs
      },
      signal,
      budgetMs,
    )
  }

  /** Close the session (best effort, briefly) and the socket. Never throws. */
  async close(signal: AbortSignal): Promise<void> {
    if (this.keys && !signal.aborted) {
      try {
        const rs = await this.command(
          NetFn.APP,
          Cmd.CLOSE_SESSION,
          closeSessionRequest(this.bmcSid),
          'Close Session',
          signal,
          Math.min(CLOSE_BUDGET_MS, this.o.requestTimeoutMs),
        )
        if (rs.cc !== 0) this.o.log('debug', 'Close Session refused', { device: this.o.label, cc: rs.cc })
      } catch (e) {
        this.o.log('debug', 'Close Session not answered', {
          device: this.o.label,
          error: (e as Error).message,
        })
      }
      this.keys = undefined
    }
    this.abandon()
  }

  /** Give up at once (an aborted call): one Close Session datagram without waiting, then the socket. */
  abandon(): void {
    if (this.keys) {
      const keys = this.keys
      this.keys = undefined
      this.outSeq = nextSeq(this.outSeq)
      const message = encodeRequest(
        request(NetFn.APP, Cmd.CLOSE_SESSION, this.nextRqSeq(), closeSessionRequest(this.bmcSid)),
      )
      this.channel.send(
        encodeV2Protected(
          keys,
          { payloadType: PayloadType.IPMI, sessionId: this.bmcSid, seq: this.outSeq },
          message,
        ),
      )
    }
    this.channel.close()
  }
}

function algorithms(p: CipherProfile) {
  return { auth: p.auth, integrity: p.integrity, confidentiality: p.confidentiality }
}
