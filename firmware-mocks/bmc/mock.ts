import dgram from 'node:dgram'
import { isIPv6 } from 'node:net'
import {
  AsfType,
  AuthType,
  IpmiCodecError,
  type IpmiRequest,
  type IpmiResponse,
  PayloadType,
  RmcpClass,
  type V2Packet,
  BMC_ADDR,
  decodeAsf,
  decodeOpenSessionRequest,
  decodeRakp1,
  decodeRakp3,
  decodeRequest,
  decodeRmcpHeader,
  decodeV15,
  encodeAsfPong,
  encodeOpenSessionResponse,
  encodeRakp2,
  encodeRakp4,
  encodeResponse,
  encodeV15,
  encodeV2Plain,
  encodeV2Protected,
  openV2,
  parseV2,
  responseTo,
  sessionFormat,
  suiteIdOf,
} from '../../protocols/ipmi/index.js'
import type { CommonLabSpec, MockDevice } from '../mock.js'
import { DeviceSimulator, type FaultDecision, garbleBytes } from '../simulator.js'
import { type ControlRecord, PLUG, execute, isSessionless } from './commands.js'
import { type BmcSession, SessionTable } from './sessions.js'
import type { BmcSpec } from './spec.js'

/** One datagram the BMC received, and what it did with it: for tests and the control API. */
export interface BmcRecord {
  at: number
  peer: string
  framing: 'asf' | 'v15' | 'v20'
  /** `command` (an IPMI message), `open`, `rakp1`, `rakp3`, `ping`, or `invalid`. */
  kind: 'command' | 'open' | 'rakp1' | 'rakp3' | 'ping' | 'invalid'
  sessionId?: number
  netFn?: number
  cmd?: number
  rqSeq?: number
  /** Open Session: the cipher suite the client proposed (when it is one of ours). */
  suite?: number
  /** Completion code, or RAKP/Open Session status, of the answer. */
  status?: number
  answered: boolean
  /** Why it got no answer, or which fault touched it. */
  note?: string
}

/** What the BMC is about to send, for the rogue-BMC tests' `tamper` hook. */
export interface Outgoing {
  kind: 'pong' | 'sessionless' | 'open' | 'rakp2' | 'rakp4' | 'session'
  bytes: Buffer
  peer: string
  session?: BmcSession
  request?: IpmiRequest
  response?: IpmiResponse
}

const MAX_RECORDS = 2000

/**
 * A BMC on a UDP port speaking IPMI v2.0 / RMCP+ (cipher suites 3 and 17), with one plug,
 * `chassis`. Faults map onto datagrams: drop (the request is lost), delay (the answer is late),
 * garble (the answer's bytes are corrupted), stall (the BMC stops answering that client
 * address), disconnect (the BMC resets: port closed, every session lost, back after
 * `resetTime`), lie (a Chassis Control is acknowledged and not carried out).
 */
export class BmcMock implements MockDevice {
  readonly kind = 'bmc'
  readonly sim: DeviceSimulator
  readonly sessions: SessionTable
  readonly records: BmcRecord[] = []
  readonly controls: ControlRecord[] = []
  /** Test hook: replace (or with [] suppress) what the BMC sends. Rogue-BMC tests only. */
  tamper: ((out: Outgoing) => Buffer[] | undefined) | undefined
  private socket: dgram.Socket | undefined
  private port = 0
  private readonly stalled = new Set<string>()
  private sweeper: NodeJS.Timeout | undefined
  private resetTimer: NodeJS.Timeout | undefined
  private readonly timers = new Set<NodeJS.Timeout>()
  private stopped = false

  constructor(
    readonly id: string,
    private readonly common: CommonLabSpec,
    readonly spec: BmcSpec,
  ) {
    this.sim = new DeviceSimulator({
      plugs: [{ id: PLUG, name: 'chassis', state: common.initial }],
      transitionDelayMs: common.transitionDelayMs,
    })
    this.sessions = new SessionTable(spec)
  }

  get host(): string {
    return this.common.listen?.host ?? '127.0.0.1'
  }

  get address(): { host: string; port: number } {
    return { host: this.host, port: this.port }
  }

  get endpoint(): string {
    return `udp://${isIPv6(this.host) ? `[${this.host}]` : this.host}:${this.port}`
  }

  async start(): Promise<void> {
    this.stopped = false
    await this.bind(this.common.listen?.port ?? 0)
    this.sweeper = setInterval(() => this.sessions.expire(), Math.min(1000, this.spec.idleTimeoutMs))
    this.sweeper.unref()
  }

  private async bind(port: number): Promise<void> {
    const socket = dgram.createSocket({ type: isIPv6(this.host) ? 'udp6' : 'udp4' })
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject)
      socket.bind(port, this.host, () => {
        socket.off('error', reject)
        resolve()
      })
    })
    socket.on('error', () => {})
    socket.on('message', (msg, rinfo) => this.receive(msg, rinfo))
    this.port = socket.address().port
    this.socket = socket
  }

  info(): Record<string, unknown> {
    return {
      users: this.spec.users.map((u) => ({ name: u.name, privilege: u.privilege })),
      cipherSuites: this.spec.cipherSuites,
      kg: this.spec.kg !== undefined,
      sessions: this.sessions.size,
      down: !this.socket,
    }
  }

  private record(r: Omit<BmcRecord, 'at'>): BmcRecord {
    const full = { at: Date.now(), ...r }
    this.records.push(full)
    if (this.records.length > MAX_RECORDS) this.records.splice(0, this.records.length - MAX_RECORDS)
    return full
  }

  private receive(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const peer = `${rinfo.address}:${rinfo.port}`
    if (this.stalled.has(peer)) return
    const fault = this.sim.faults.decide()
    if (fault.disconnect) {
      this.record({
        peer,
        framing: 'v20',
        kind: 'invalid',
        answered: false,
        note: 'disconnect fault: BMC reset',
      })
      this.reset()
      return
    }
    if (fault.stall) {
      this.stalled.add(peer)
      this.record({
        peer,
        framing: 'v20',
        kind: 'invalid',
        answered: false,
        note: 'stall fault: client ignored from now on',
      })
      return
    }
    if (fault.drop) {
      this.record({ peer, framing: 'v20', kind: 'invalid', answered: false, note: 'drop fault' })
      return
    }
    let out: Outgoing[] = []
    try {
      out = this.handle(msg, peer)
    } catch (e) {
      // a real BMC drops what it cannot read; a lab must not die of one odd datagram either
      const note =
        e instanceof IpmiCodecError ? `${e.reason}: ${e.message}` : `internal error: ${(e as Error).message}`
      this.record({ peer, framing: 'v20', kind: 'invalid', answered: false, note })
      return
    }
    for (const o of out) this.send(o, rinfo, fault)
  }

  private send(o: Outgoing, rinfo: dgram.RemoteInfo, fault: FaultDecision): void {
    const packets = this.tamper?.(o) ?? [o.bytes]
    for (let bytes of packets) {
      if (fault.garble) bytes = garbleBytes(bytes)
      const go = () => this.socket?.send(bytes, rinfo.port, rinfo.address)
      if (fault.delayMs > 0) {
        const t = setTimeout(() => {
          this.timers.delete(t)
          go()
        }, fault.delayMs)
        this.timers.add(t)
      } else go()
    }
  }

  private handle(msg: Buffer, peer: string): Outgoing[] {
    const h = decodeRmcpHeader(msg)
    if (h.cls === RmcpClass.ASF && !h.ack) {
      const asf = decodeAsf(msg)
      if (asf.type !== AsfType.PING) {
        this.record({
          peer,
          framing: 'asf',
          kind: 'invalid',
          answered: false,
          note: `ASF type 0x${asf.type.toString(16)}`,
        })
        return []
      }
      this.record({ peer, framing: 'asf', kind: 'ping', answered: true })
      return [{ kind: 'pong', bytes: encodeAsfPong(asf.tag), peer }]
    }
    if (sessionFormat(msg) === 'v15') return this.handleV15(msg, peer)
    const p = parseV2(msg)
    if (p.sessionId === 0) return this.handlePreSession(p, peer)
    return this.handleSession(p, peer)
  }

  /** IPMI v1.5 framing: session-less commands only; there are no v1.5 sessions on this BMC. */
  private handleV15(msg: Buffer, peer: string): Outgoing[] {
    const p = decodeV15(msg)
    const rq = decodeRequest(p.message)
    const base = {
      peer,
      framing: 'v15' as const,
      kind: 'command' as const,
      netFn: rq.netFn,
      cmd: rq.cmd,
      rqSeq: rq.rqSeq,
    }
    if (
      p.authType !== AuthType.NONE ||
      p.sessionId !== 0 ||
      !isSessionless(rq.netFn, rq.cmd) ||
      rq.rsAddr !== BMC_ADDR
    ) {
      this.record({ ...base, answered: false, note: 'IPMI v1.5 sessions are not supported' })
      return []
    }
    const rs = this.answer(rq, undefined)
    this.record({ ...base, status: rs.cc, answered: true })
    const bytes = encodeV15({ authType: AuthType.NONE, seq: 0, sessionId: 0, message: encodeResponse(rs) })
    return [{ kind: 'sessionless', bytes, peer, request: rq, response: rs }]
  }

  private handlePreSession(p: V2Packet, peer: string): Outgoing[] {
    // OpenIPMI drops session-id-0 packets that claim encryption or authentication; so do we
    if (p.authenticated || p.encrypted) {
      this.record({
        peer,
        framing: 'v20',
        kind: 'invalid',
        answered: false,
        note: 'flags on a session-less packet',
      })
      return []
    }
    const plain = (payloadType: number, payload: Buffer) =>
      encodeV2Plain({ payloadType, sessionId: 0, seq: 0 }, payload)
    switch (p.payloadType) {
      case PayloadType.IPMI: {
        const rq = decodeRequest(p.payload)
        const base = {
          peer,
          framing: 'v20' as const,
          kind: 'command' as const,
          netFn: rq.netFn,
          cmd: rq.cmd,
          rqSeq: rq.rqSeq,
        }
        if (!isSessionless(rq.netFn, rq.cmd) || rq.rsAddr !== BMC_ADDR) {
          this.record({ ...base, answered: false, note: 'needs a session' })
          return []
        }
        const rs = this.answer(rq, undefined)
        this.record({ ...base, status: rs.cc, answered: true })
        return [
          {
            kind: 'sessionless',
            bytes: plain(PayloadType.IPMI, encodeResponse(rs)),
            peer,
            request: rq,
            response: rs,
          },
        ]
      }
      case PayloadType.OPEN_SESSION_REQUEST: {
        const rq = decodeOpenSessionRequest(p.payload)
        const rs = this.sessions.open(rq, peer)
        this.record({
          peer,
          framing: 'v20',
          kind: 'open',
          suite: suiteIdOf(rq),
          status: rs.status,
          answered: true,
        })
        const bytes = plain(PayloadType.OPEN_SESSION_RESPONSE, encodeOpenSessionResponse(rs))
        return [{ kind: 'open', bytes, peer, session: rs.bmcSid ? this.sessions.get(rs.bmcSid) : undefined }]
      }
      case PayloadType.RAKP1: {
        const m = decodeRakp1(p.payload)
        const rs = this.sessions.rakp1(m, peer)
        this.record({
          peer,
          framing: 'v20',
          kind: 'rakp1',
          sessionId: m.bmcSid,
          status: rs?.status,
          answered: !!rs,
        })
        if (!rs) return []
        return [
          {
            kind: 'rakp2',
            bytes: plain(PayloadType.RAKP2, encodeRakp2(rs)),
            peer,
            session: this.sessions.get(m.bmcSid),
          },
        ]
      }
      case PayloadType.RAKP3: {
        const m = decodeRakp3(p.payload)
        const rs = this.sessions.rakp3(m, peer)
        this.record({
          peer,
          framing: 'v20',
          kind: 'rakp3',
          sessionId: m.bmcSid,
          status: rs?.status,
          answered: !!rs,
        })
        if (!rs) return []
        return [
          {
            kind: 'rakp4',
            bytes: plain(PayloadType.RAKP4, encodeRakp4(rs)),
            peer,
            session: this.sessions.get(m.bmcSid),
          },
        ]
      }
      default:
        this.record({
          peer,
          framing: 'v20',
          kind: 'invalid',
          answered: false,
          note: `payload type 0x${p.payloadType.toString(16)}`,
        })
        return []
    }
  }

  private handleSession(p: V2Packet, peer: string): Outgoing[] {
    const s = this.sessions.get(p.sessionId)
    const drop = (note: string): Outgoing[] => {
      this.record({ peer, framing: 'v20', kind: 'invalid', sessionId: p.sessionId, answered: false, note })
      return []
    }
    if (s?.state !== 'active' || !s.keys) return drop('no such active session')
    if (s.peer !== peer) return drop('session belongs to another address')
    if (p.payloadType !== PayloadType.IPMI) return drop(`payload type 0x${p.payloadType.toString(16)}`)
    const verdict = s.window.check(p.seq)
    if (verdict) return drop(`sequence number ${p.seq}: ${verdict}`)
    const plain = openV2(s.keys, p) // throws on a bad AuthCode or unencrypted packet: dropped
    s.window.accept(p.seq)
    this.sessions.touch(s)
    const rq = decodeRequest(plain)
    if (rq.rsAddr !== BMC_ADDR) return drop('not addressed to the BMC')
    const rs = this.answer(rq, s)
    this.record({
      peer,
      framing: 'v20',
      kind: 'command',
      sessionId: p.sessionId,
      netFn: rq.netFn,
      cmd: rq.cmd,
      rqSeq: rq.rqSeq,
      status: rs.cc,
      answered: true,
    })
    const bytes = encodeV2Protected(
      s.keys,
      { payloadType: PayloadType.IPMI, sessionId: s.consoleSid, seq: this.sessions.nextOut(s) },
      encodeResponse(rs),
    )
    // Close Session is answered under the session's keys, then the session is gone
    if (
      rq.netFn === 0x06 &&
      rq.cmd === 0x3c &&
      rs.cc === 0 &&
      rq.data.length >= 4 &&
      rq.data.readUInt32LE(0) === s.bmcSid
    )
      this.sessions.remove(s.bmcSid)
    return [{ kind: 'session', bytes, peer, session: s, request: rq, response: rs }]
  }

  private answer(rq: IpmiRequest, session: BmcSession | undefined): IpmiResponse {
    if (rq.netFn & 1) return responseTo(rq, 0xc1)
    const a = execute(rq.netFn, rq.cmd, rq.data, {
      spec: this.spec,
      sim: this.sim,
      sessions: this.sessions,
      session,
      controls: this.controls,
    })
    return responseTo(rq, a.cc, a.data ?? [])
  }

  /** The `disconnect` fault: the BMC resets. Port closed (clients get ICMP unreachable), sessions lost. */
  private reset(): void {
    const s = this.socket
    this.socket = undefined
    this.sessions.clear()
    this.stalled.clear()
    s?.close()
    this.resetTimer = setTimeout(() => {
      this.resetTimer = undefined
      if (!this.stopped) void this.bind(this.port).catch(() => {})
    }, this.spec.resetTimeMs)
  }

  async stop(): Promise<void> {
    this.stopped = true
    if (this.sweeper) clearInterval(this.sweeper)
    if (this.resetTimer) clearTimeout(this.resetTimer)
    for (const t of this.timers) clearTimeout(t)
    this.timers.clear()
    this.sim.close()
    this.sessions.clear()
    const s = this.socket
    this.socket = undefined
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()))
  }
}
