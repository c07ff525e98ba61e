/**
 * A real SNMP agent (net-snmp's) on a UDP port, with the shared fault model in front of it.
 * Both PDU mocks (apc-pdu, wti-pdu) run on it; they only register their MIB providers.
 *
 * Faults, per received datagram (`sim.faults.decide()`), as they show on UDP:
 * - drop: the request is swallowed, no answer (a lost datagram).
 * - delay: the answer leaves `ms` later (a slow agent; retransmissions may overtake it).
 * - garble: the answer's bytes are corrupted (bits flipped in a third of the bytes).
 * - stall: the agent stops answering that client address:port for good — UDP's hung
 *   connection; a client that opens a new session (new source port) is served again.
 * - disconnect: no answer, as a host that vanished from the network (UDP has no connection
 *   to close, and the kernel sends no port-unreachable while the agent's port stays open).
 * - lie: the command is acknowledged and ignored; the state objects keep telling the truth
 *   (handled by the simulator).
 * Real agents' own behaviour is kept: a wrong community, or a v3 key that does not
 * authenticate, gets no answer at all.
 */
import dgram from 'node:dgram'
import snmp from 'net-snmp'
import type { DeviceSimulator, FaultDecision } from '../simulator.js'
import { garbleBytes } from '../simulator.js'
import type { AgentMib } from './mib-tables.js'

export type AgentSecurityLevel = 'noAuthNoPriv' | 'authNoPriv' | 'authPriv'

export interface AgentUser {
  name: string
  level: AgentSecurityLevel
  authProtocol: 'md5' | 'sha' | 'sha224' | 'sha256' | 'sha384' | 'sha512'
  authKey?: string
  privProtocol: 'aes' | 'aes256b' | 'aes256r'
  privKey?: string
  access: 'rw' | 'ro'
}

export interface AgentAccess {
  /** Read-write community (v1/v2c). */
  community: string
  /** Read-only community; SET gets noAccess (v2c) / noSuchName (v1). */
  readCommunity?: string
  users: AgentUser[]
  /** SNMPv3 engine id (hex); default: random per start. */
  engineID?: string
}

export interface SnmpAgentOptions {
  host: string
  /** 0 = any free port. */
  port: number
  sim: DeviceSimulator
  access: AgentAccess
  /** Register the unit's MIB (providers and initial values) on the agent's Mib. */
  build: (mib: AgentMib) => void
}

/** Answer-side fault decisions older than this are stale (their request got no answer). */
const DECISION_TTL_MS = 5000

export class SnmpAgentHost {
  // net-snmp's Agent (untyped in @types/net-snmp)
  private agent: ReturnType<typeof snmp.createAgent>
  private socket: dgram.Socket | undefined
  private readonly stalled = new Set<string>()
  private readonly decisions = new Map<string, { d: FaultDecision; at: number }[]>()
  private readonly timers = new Set<NodeJS.Timeout>()
  /** Datagrams received (each retransmission counts). */
  received = 0
  port = 0

  constructor(private readonly opts: SnmpAgentOptions) {}

  async start(): Promise<void> {
    const host = this
    // net-snmp's Listener takes a dgram-like module: ours hands out a real socket whose
    // 'message' listener passes through the fault model and whose send() applies garble/delay
    const dgramModule = {
      createSocket(type: dgram.SocketType) {
        const s = dgram.createSocket(type)
        const on = s.on.bind(s) as (event: string, fn: (...a: unknown[]) => void) => dgram.Socket
        type Deliver = (buf: Buffer, rinfo: dgram.RemoteInfo) => void
        s.on = ((event: string, fn: (...a: unknown[]) => void) =>
          event === 'message'
            ? on('message', (buf, rinfo) =>
                host.onDatagram(buf as Buffer, rinfo as dgram.RemoteInfo, fn as Deliver),
              )
            : on(event, fn)) as typeof s.on
        const bind = s.bind.bind(s)
        // the Listener turns port 0 into 161: bind where we were asked to
        s.bind = ((..._args: unknown[]) => bind(host.opts.port, host.opts.host)) as typeof s.bind
        const send = s.send.bind(s) as (...args: unknown[]) => void
        s.send = ((
          buf: Buffer,
          offset: number,
          length: number,
          port: number,
          address: string,
          cb?: (err: Error | null, bytes: number) => void,
        ) => host.onSend(buf.subarray(offset, offset + length), port, address, cb, send)) as typeof s.send
        host.socket = s
        return s
      },
    }
    const listening = new Promise<void>((resolve, reject) => {
      this.pendingStart = { resolve, reject }
    })
    this.agent = snmp.createAgent(
      {
        port: this.opts.port || 161,
        address: this.opts.host,
        accessControlModelType: snmp.AccessControlModelType.Simple,
        dgramModule,
        ...(this.opts.access.engineID ? { engineID: this.opts.access.engineID } : {}),
      },
      // per-request errors (unknown community, undecodable datagram…): real agents stay silent too
      () => {},
    )
    const s = this.socket!
    s.once('listening', () => this.pendingStart?.resolve())
    s.once('error', (e) => this.pendingStart?.reject(e))
    await listening
    this.port = s.address().port
    this.configureAccess()
    this.opts.build(this.agent.getMib())
  }

  private pendingStart: { resolve: () => void; reject: (e: Error) => void } | undefined

  private configureAccess(): void {
    const auth = this.agent.getAuthorizer()
    const acm = auth.getAccessControlModel()
    const { community, readCommunity, users } = this.opts.access
    auth.addCommunity(community)
    acm.setCommunityAccess(community, snmp.AccessLevel.ReadWrite)
    if (readCommunity) {
      auth.addCommunity(readCommunity)
      acm.setCommunityAccess(readCommunity, snmp.AccessLevel.ReadOnly)
    }
    for (const u of users) {
      auth.addUser({
        name: u.name,
        level: snmp.SecurityLevel[u.level],
        ...(u.authKey ? { authProtocol: snmp.AuthProtocols[u.authProtocol], authKey: u.authKey } : {}),
        ...(u.privKey ? { privProtocol: snmp.PrivProtocols[u.privProtocol], privKey: u.privKey } : {}),
      })
      acm.setUserAccess(u.name, u.access === 'rw' ? snmp.AccessLevel.ReadWrite : snmp.AccessLevel.ReadOnly)
    }
  }

  private onDatagram(
    buf: Buffer,
    rinfo: dgram.RemoteInfo,
    deliver: (buf: Buffer, rinfo: dgram.RemoteInfo) => void,
  ) {
    const key = `${rinfo.address}:${rinfo.port}`
    if (this.stalled.has(key)) return
    this.received++
    const d = this.opts.sim.faults.decide()
    if (d.stall) {
      this.stalled.add(key)
      return
    }
    if (d.drop || d.disconnect) return
    if (d.garble || d.delayMs > 0) {
      const now = Date.now()
      const q = (this.decisions.get(key) ?? []).filter((x) => now - x.at < DECISION_TTL_MS)
      q.push({ d, at: now })
      this.decisions.set(key, q)
    }
    try {
      deliver(buf, rinfo)
    } catch {
      // a request the agent cannot handle gets no answer, as on a real unit
    }
  }

  private onSend(
    buf: Buffer,
    port: number,
    address: string,
    cb: ((err: Error | null, bytes: number) => void) | undefined,
    send: (...args: unknown[]) => void,
  ): void {
    const key = `${address}:${port}`
    const q = this.decisions.get(key)
    const entry = q?.shift()
    if (q && q.length === 0) this.decisions.delete(key)
    const out = entry?.d.garble ? garbleBytes(buf) : buf
    const go = () => {
      if (this.socket) send(out, 0, out.length, port, address, cb)
    }
    if (entry && entry.d.delayMs > 0) {
      const t = setTimeout(() => {
        this.timers.delete(t)
        go()
      }, entry.d.delayMs)
      this.timers.add(t)
    } else go()
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearTimeout(t)
    this.timers.clear()
    const agent = this.agent
    this.agent = undefined
    this.socket = undefined
    if (!agent) return
    await new Promise<void>((resolve) => {
      try {
        agent.close(() => resolve())
      } catch {
        resolve()
      }
    })
  }
}
