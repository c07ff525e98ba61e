/**
 * The mock BMC's RMCP+ session table and session establishment (Open Session, RAKP 1–4).
 * Sessions are bound to the source address that opened them, time out when idle, and the
 * table has a size limit (half-open sessions count), as on real BMCs.
 */
import {
  type CipherProfile,
  type OpenSessionRequest,
  type OpenSessionResponse,
  Privilege,
  type Rakp1,
  type Rakp2,
  type Rakp3,
  type Rakp4,
  type RakpExchange,
  RakpStatus,
  ROLE_NAME_ONLY_LOOKUP,
  type SessionKeys,
  SequenceWindow,
  constantTimeEqual,
  nextSeq,
  profileForAlgorithms,
  rakp2AuthCode,
  rakp3AuthCode,
  rakp4Icv,
  randomSessionId,
  secureRandom,
  sessionKeys,
} from '../../protocols/ipmi/index.js'
import type { SessionCounter } from '../simulator.js'
import type { BmcSpec, BmcUser } from './spec.js'

/** The channel's privilege limit (this mock's LAN channel allows administrator). */
export const CHANNEL_PRIVILEGE_LIMIT = Privilege.ADMINISTRATOR

export interface BmcSession {
  bmcSid: number
  consoleSid: number
  /** `address:port` it was opened from; packets from elsewhere are ignored. */
  peer: string
  state: 'opened' | 'rakp2-sent' | 'active'
  profile: CipherProfile
  /** From the Open Session Request (0 = highest matching). */
  requestedMaxPriv: number
  openTag: number
  exchange?: RakpExchange
  user?: BmcUser
  keys?: SessionKeys
  /** Highest privilege this session may take (RAKP1 role, within the user's limit). */
  maxPriv: number
  /** Current privilege (USER after activation, raised by Set Session Privilege Level). */
  privilege: number
  /** Outbound sequence number of the last packet sent. */
  outSeq: number
  /** Inbound window: OpenIPMI's −16/+15, duplicates allowed (clients resend the same bytes). */
  window: SequenceWindow
  lastActivity: number
}

export class SessionTable {
  private readonly sessions = new Map<number, BmcSession>()
  /** The counted end of each active session (see `counter`). */
  private readonly ends = new Map<number, () => void>()

  constructor(
    private readonly spec: BmcSpec,
    private readonly now: () => number = () => performance.now(),
    /**
     * Where client sessions are counted (the BMC's DeviceSimulator.sessions): one session runs
     * from its activation (RAKP 4 sent) to its close, idle timeout or the BMC's reset. Half-open
     * handshakes are not counted: a console that gives up mid-handshake never held the BMC.
     */
    private readonly counter?: SessionCounter,
  ) {}

  /** Forget a session, ending its count if it was active. */
  private drop(bmcSid: number): void {
    this.sessions.delete(bmcSid)
    this.ends.get(bmcSid)?.()
    this.ends.delete(bmcSid)
  }

  get size(): number {
    return this.sessions.size
  }

  get(bmcSid: number): BmcSession | undefined {
    return this.sessions.get(bmcSid)
  }

  all(): BmcSession[] {
    return [...this.sessions.values()]
  }

  remove(bmcSid: number): void {
    this.drop(bmcSid)
  }

  clear(): void {
    for (const id of [...this.sessions.keys()]) this.drop(id)
  }

  /** Drop sessions idle for longer than the timeout. Returns how many went. */
  expire(): number {
    const limit = this.now() - this.spec.idleTimeoutMs
    let n = 0
    for (const [id, s] of this.sessions)
      if (s.lastActivity < limit) {
        this.drop(id)
        n++
      }
    return n
  }

  touch(s: BmcSession): void {
    s.lastActivity = this.now()
  }

  /** The next outbound sequence number of a session. */
  nextOut(s: BmcSession): number {
    s.outSeq = nextSeq(s.outSeq)
    return s.outSeq
  }

  open(rq: OpenSessionRequest, peer: string): OpenSessionResponse {
    const fail = (status: number): OpenSessionResponse => ({
      tag: rq.tag,
      status,
      maxPriv: 0,
      consoleSid: rq.consoleSid,
    })
    // a retransmitted request (its answer was lost) gets the same session again
    const again = this.all().find(
      (s) => s.peer === peer && s.consoleSid === rq.consoleSid && s.state === 'opened',
    )
    if (again) return this.openAnswer(again, rq)
    if (rq.maxPriv > CHANNEL_PRIVILEGE_LIMIT) return fail(RakpStatus.INVALID_ROLE)
    if (rq.consoleSid === 0) return fail(RakpStatus.ILLEGAL_PARAMETER)
    const profile = profileForAlgorithms(rq)
    if (!profile || !this.spec.cipherSuites.includes(profile.suite))
      return fail(RakpStatus.NO_CIPHER_SUITE_MATCH)
    this.expire()
    if (this.sessions.size >= this.spec.maxSessions) return fail(RakpStatus.INSUFFICIENT_RESOURCES)
    let bmcSid = randomSessionId()
    while (this.sessions.has(bmcSid)) bmcSid = randomSessionId()
    const s: BmcSession = {
      bmcSid,
      consoleSid: rq.consoleSid,
      peer,
      state: 'opened',
      profile,
      requestedMaxPriv: rq.maxPriv,
      openTag: rq.tag,
      maxPriv: 0,
      privilege: 0,
      outSeq: 0,
      window: new SequenceWindow(16, 15, true),
      lastActivity: this.now(),
    }
    this.sessions.set(bmcSid, s)
    return this.openAnswer(s, rq)
  }

  private openAnswer(s: BmcSession, rq: OpenSessionRequest): OpenSessionResponse {
    return {
      tag: rq.tag,
      status: 0,
      // the real maximum: FreeIPMI refuses a session whose answer is below what it asks for
      maxPriv: rq.maxPriv === 0 ? CHANNEL_PRIVILEGE_LIMIT : rq.maxPriv,
      consoleSid: s.consoleSid,
      bmcSid: s.bmcSid,
      algorithms: {
        auth: s.profile.auth,
        integrity: s.profile.integrity,
        confidentiality: s.profile.confidentiality,
      },
    }
  }

  /** RAKP1 → RAKP2. Undefined: not for a session of this peer (ignored, as real BMCs do). */
  rakp1(m: Rakp1, peer: string): Rakp2 | undefined {
    const s = this.sessions.get(m.bmcSid)
    if (!s) return { tag: m.tag, status: RakpStatus.INVALID_SESSION_ID, consoleSid: 0 }
    if (s.peer !== peer) return undefined
    const fail = (status: number): Rakp2 => {
      this.drop(s.bmcSid)
      return { tag: m.tag, status, consoleSid: s.consoleSid }
    }
    if (s.state === 'rakp2-sent' && s.exchange?.rm.equals(m.rm)) return this.rakp2Answer(s, m.tag) // retransmission
    if (s.state !== 'opened') return fail(RakpStatus.INVALID_SESSION_ID)
    const priv = m.role & 0x0f
    if (
      priv < Privilege.CALLBACK ||
      priv > CHANNEL_PRIVILEGE_LIMIT ||
      (m.role & ~(0x0f | ROLE_NAME_ONLY_LOOKUP)) !== 0
    )
      return fail(RakpStatus.INVALID_ROLE)
    // no null or anonymous users on this BMC: an empty name is refused like an unknown one
    const user = this.spec.users.find((u) => u.name === m.username.toString('latin1'))
    if (!user || m.username.length === 0) return fail(RakpStatus.UNAUTHORIZED_NAME)
    if (priv > user.privilege || (s.requestedMaxPriv !== 0 && priv > s.requestedMaxPriv))
      return fail(RakpStatus.UNAUTHORIZED_ROLE)
    s.user = user
    s.maxPriv = priv
    s.exchange = {
      consoleSid: s.consoleSid,
      bmcSid: s.bmcSid,
      rm: m.rm,
      rc: secureRandom(16),
      guid: this.spec.guid,
      role: m.role,
      username: m.username,
    }
    s.state = 'rakp2-sent'
    this.touch(s)
    return this.rakp2Answer(s, m.tag)
  }

  private rakp2Answer(s: BmcSession, tag: number): Rakp2 {
    const x = s.exchange!
    return {
      tag,
      status: 0,
      consoleSid: s.consoleSid,
      rc: x.rc,
      guid: x.guid,
      authCode: rakp2AuthCode(s.profile, Buffer.from(s.user!.password, 'utf8'), x),
    }
  }

  /** RAKP3 → RAKP4, activating the session. Undefined: nothing to answer. */
  rakp3(m: Rakp3, peer: string): Rakp4 | undefined {
    const s = this.sessions.get(m.bmcSid)
    if (!s) return { tag: m.tag, status: RakpStatus.INVALID_SESSION_ID, consoleSid: 0, icv: Buffer.alloc(0) }
    if (s.peer !== peer) return undefined
    if (s.state === 'active' && s.keys) {
      // RAKP4 lost and RAKP3 resent: answer again, only if it is the same proof
      const ok = constantTimeEqual(
        rakp3AuthCode(s.profile, Buffer.from(s.user!.password, 'utf8'), s.exchange!),
        m.authCode,
      )
      return ok
        ? { tag: m.tag, status: 0, consoleSid: s.consoleSid, icv: rakp4Icv(s.keys, s.exchange!) }
        : undefined
    }
    if (s.state !== 'rakp2-sent' || !s.exchange || !s.user) {
      this.drop(s.bmcSid)
      return {
        tag: m.tag,
        status: RakpStatus.INVALID_SESSION_ID,
        consoleSid: s.consoleSid,
        icv: Buffer.alloc(0),
      }
    }
    if (m.status !== 0) {
      // the console refused our RAKP2 (it thinks the password is wrong): forget the session
      this.drop(s.bmcSid)
      return undefined
    }
    const kuid = Buffer.from(s.user.password, 'utf8')
    if (!constantTimeEqual(rakp3AuthCode(s.profile, kuid, s.exchange), m.authCode)) {
      this.drop(s.bmcSid)
      return {
        tag: m.tag,
        status: RakpStatus.INVALID_INTEGRITY_CHECK,
        consoleSid: s.consoleSid,
        icv: Buffer.alloc(0),
      }
    }
    s.keys = sessionKeys(s.profile, kuid, this.spec.kg, s.exchange)
    s.state = 'active'
    if (this.counter && !this.ends.has(s.bmcSid)) this.ends.set(s.bmcSid, this.counter.begin())
    s.privilege = Math.min(Privilege.USER, s.maxPriv)
    this.touch(s)
    return { tag: m.tag, status: 0, consoleSid: s.consoleSid, icv: rakp4Icv(s.keys, s.exchange) }
  }
}
