import dgram from 'node:dgram'
import { isIPv6 } from 'node:net'
import {
  AsfType,
  IpmiCodecError,
  type IpmiRequest,
  type IpmiResponse,
  RmcpClass,
  decodeAsf,
  decodeRmcpHeader,
  encodeAsfPong,
  parseV2,
  responseTo,
  sessionFormat,
} from '../../protocols/ipmi/index.js'
import type { CommonLabSpec, MockDevice } from '../mock.js'
import { DeviceSimulator, type FaultDecision, garbleBytes } from '../simulator.js'
import { type ControlRecord, PLUG, execute } from './commands.js'
import { type BmcSession, SessionTable } from './sessions.js'
import type { BmcSpec } from './spec.js'
import { handlePreSession, handleV15 } from './handshake.js'
import type { BmcPackets, BmcRecord, Outgoing } from './packets.js'
import { handleSession } from './session-packets.js'

export type { BmcRecord, Outgoing } from './packets.js'

const MAX_RECORDS = 2000

/**
 * A BMC on a UDP port speaking IPMI v2.0 / RMCP+ (cipher suites 3 and 17), with one plug,
 * `chassis`. Faults map onto datagrams: drop (the request is lost), delay (the answer is late),
 * garble (the answer's bytes are corrupted), stall (the BMC stops answering that client
 * address), disconnect (the BMC resets: port closed, every session lost, back after
 * `resetTime`), lie (a Chassis Control is acknowledged and not carried out).
 */
export class BmcMock implements MockDevice, BmcPackets {
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
    this.sessions = new SessionTable(spec, undefined, this.sim.sessions)
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
      /** Entries of the RMCP+ session table, half-open ones too (the counts are `sessions`). */
      sessionTable: this.sessions.size,
      down: !this.socket,
    }
  }

  record(r: Omit<BmcRecord, 'at'>): BmcRecord {
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
    if (sessionFormat(msg) === 'v15') return handleV15(this, msg, peer)
    const p = parseV2(msg)
    if (p.sessionId === 0) return handlePreSession(this, p, peer)
    return handleSession(this, p, peer)
  }

  answer(rq: IpmiRequest, session: BmcSession | undefined): IpmiResponse {
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
