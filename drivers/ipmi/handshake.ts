import {
  type CipherProfile,
  type CipherSuiteRecord,
  Cmd,
  IpmiCodecError,
  NetFn,
  PayloadType,
  ROLE_NAME_ONLY_LOOKUP,
  RakpStatus,
  type RakpExchange,
  type SessionKeys,
  STANDARD_SUITES,
  authCapsRequest,
  cipherSuitesRequest,
  CIPHER_SUITE_CHUNK,
  constantTimeEqual,
  decodeAuthCaps,
  decodeCipherSuiteRecords,
  decodeOpenSessionResponse,
  decodeRakp2,
  decodeRakp4,
  encodeOpenSessionRequest,
  encodeRakp1,
  encodeRakp3,
  encodeV2Plain,
  parseV2,
  privilegeName,
  rakp2AuthCode,
  rakp3AuthCode,
  rakp4Icv,
  randomSessionId,
  secureRandom,
  sessionKeys,
  suiteIdOf,
  weakness,
} from '../../protocols/ipmi/index.js'
import { FenceError } from '../../core/errors.js'
import { completionError, rakpError } from './errors.js'
import type { BmcExchange, SessionOptions } from './exchange.js'

/** What a finished handshake gives the session: both session ids and the keys. */
export interface Established {
  consoleSid: number
  bmcSid: number
  keys: SessionKeys
}

/**
 * The RMCP+ set-up, before any command in a session: Get Channel Authentication Capabilities,
 * Get Channel Cipher Suites (weak suites refused), Open Session, RAKP 1–4. Every answer must
 * name our random console session id; the BMC proves it knows the password (RAKP 2 HMAC) and
 * the key (RAKP 4 ICV), both compared in constant time.
 */
export class Handshake {
  private readonly consoleSid = randomSessionId()
  private bmcSid = 0
  private readonly o: SessionOptions

  constructor(private readonly link: BmcExchange) {
    this.o = link.o
  }

  /** Run the set-up; Set Session Privilege Level follows inside the session. */
  async run(signal: AbortSignal): Promise<Established> {
    await this.capabilities(signal)
    await this.checkCipherSuites(signal)
    await this.openSession(signal)
    const keys = await this.rakp(signal)
    return { consoleSid: this.consoleSid, bmcSid: this.bmcSid, keys }
  }

  private async capabilities(signal: AbortSignal): Promise<void> {
    const { label, privilege } = this.o
    const caps = await this.link.sessionless(
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
  }

  private async checkCipherSuites(signal: AbortSignal): Promise<void> {
    const { label, profile } = this.o
    const chunks: Buffer[] = []
    for (let index = 0; index < 0x40; index++) {
      const rs = await this.link.sessionless(
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
    const tag = this.link.nextTag()
    const bytes = encodeV2Plain(
      { payloadType: PayloadType.OPEN_SESSION_REQUEST, sessionId: 0, seq: 0 },
      encodeOpenSessionRequest({
        tag,
        maxPriv: privilege,
        consoleSid: this.consoleSid,
        ...algorithms(profile),
      }),
    )
    const rs = await this.link.exchange(
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

  private async rakp(signal: AbortSignal): Promise<SessionKeys> {
    const { label, profile, privilege, user, password, kg } = this.o
    const role = privilege | ROLE_NAME_ONLY_LOOKUP
    const rm = secureRandom(16)
    const tag1 = this.link.nextTag()
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
    const r2 = await this.link.exchange(
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
      const tag3 = this.link.nextTag()
      this.link.channel.send(
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
    const tag3 = this.link.nextTag()
    const rakp3 = encodeV2Plain(
      { payloadType: PayloadType.RAKP3, sessionId: 0, seq: 0 },
      encodeRakp3({
        tag: tag3,
        status: 0,
        bmcSid: this.bmcSid,
        authCode: rakp3AuthCode(profile, password, x),
      }),
    )
    const r4 = await this.link.exchange(
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
    return keys
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
}

function algorithms(p: CipherProfile) {
  return { auth: p.auth, integrity: p.integrity, confidentiality: p.confidentiality }
}
