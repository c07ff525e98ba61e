import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { type Socket, createSocket } from 'node:dgram'
import type { PingSettings } from './config.js'

/**
 * heartbeat's ping nodes: every address is probed once per `intervalMs`, at most one probe in
 * flight per address, each bounded by `timeoutMs`. A ping node (an address, or a group of them)
 * is `up` while one of its addresses answered within `deadMs` (heartbeat's deadping), `dead`
 * after, `init` before its first answer.
 *
 * Two methods:
 * - `icmp`: ICMP echo through the system `ping` binary (iputils or GNU inetutils), one bounded
 *   child process per probe (`ping -n -c 1 -w S ADDR`, killed at `timeoutMs`). Node has no raw
 *   sockets; the binary has the privilege for them (setuid or cap_net_raw) or uses the kernel's
 *   unprivileged ICMP sockets, so the gateway needs none. Only an echo reply from the address
 *   itself counts (not "Destination Unreachable" from a router).
 * - `udp`: an echo datagram (RFC 862, port 7 by default) with a random token; only the same bytes
 *   back from that address and port count.
 *
 * An answer is stamped with the time its probe was *sent*: "answered after T" then means the
 * address was reachable after T, which is what the fence policy asks.
 */
export type PingState = 'init' | 'up' | 'dead'

export interface PingView {
  name: string
  addresses: string[]
  group: boolean
  state: PingState
  /** Monotonic ms: when the newest answered probe (of any address of the node) was sent. */
  lastReplyAt?: number
  /** Per address: monotonic send time of its newest answered probe. */
  replies: Record<string, number | undefined>
}

export interface PingerOptions {
  settings: PingSettings
  now: () => number
  /** The ping binary (default `ping`, found in PATH). */
  command?: string
  log?: (level: 'debug' | 'info' | 'warn' | 'error', msg: string) => void
  /** A ping node changed state (up / dead). */
  onChange?: (node: PingView) => void
}

interface AddrTrack {
  lastReplyAt?: number
  inFlight: boolean
  probes: number
  answered: number
}

const MAX_OUTPUT = 4096
/** iputils: `64 bytes from 10.0.0.1: icmp_seq=1 ttl=64 time=…`; inetutils: `… icmp_seq=0 ttl=64 …`. */
const ECHO_REPLY = /\bbytes from ([0-9.]+): icmp_seq=\d+ ttl=\d+/

export class Pinger {
  private readonly addrs = new Map<string, AddrTrack>()
  private readonly states = new Map<string, PingState>()
  private readonly children = new Set<ChildProcess>()
  private readonly pending = new Map<string, { addr: string; sentAt: number; timer: NodeJS.Timeout }>()
  private timer: NodeJS.Timeout | undefined
  private socket: Socket | undefined
  private readonly token = randomBytes(6).toString('hex')
  private seq = 0
  private stopped = false
  private warnedSpawn = false
  private readonly startedAt: number

  constructor(private readonly o: PingerOptions) {
    this.startedAt = o.now()
    for (const n of o.settings.nodes) {
      this.states.set(n.name, 'init')
      for (const a of n.addresses) this.addrs.set(a, { inFlight: false, probes: 0, answered: 0 })
    }
  }

  start(): void {
    if (this.o.settings.method === 'udp') {
      const s = createSocket('udp4')
      s.on('message', (msg, rinfo) => this.onEcho(msg, rinfo.address, rinfo.port))
      s.on('error', (e) => this.o.log?.('warn', `ping (udp echo): ${e.message}`))
      s.bind(0)
      this.socket = s
    }
    this.tick()
    this.timer = setInterval(() => this.tick(), this.o.settings.intervalMs)
  }

  private tick(): void {
    if (this.stopped) return
    for (const [addr, t] of this.addrs) if (!t.inFlight) this.probe(addr, t)
    this.judge()
  }

  private probe(addr: string, t: AddrTrack): void {
    t.inFlight = true
    t.probes++
    const sentAt = this.o.now()
    if (this.o.settings.method === 'udp') this.probeUdp(addr, t, sentAt)
    else this.probeIcmp(addr, t, sentAt)
  }

  private answered(t: AddrTrack, sentAt: number): void {
    t.answered++
    if (t.lastReplyAt === undefined || sentAt > t.lastReplyAt) t.lastReplyAt = sentAt
    this.judge()
  }

  private probeIcmp(addr: string, t: AddrTrack, sentAt: number): void {
    const { timeoutMs } = this.o.settings
    let child: ChildProcess
    try {
      child = spawn(
        this.o.command ?? 'ping',
        ['-n', '-c', '1', '-w', String(Math.max(1, Math.ceil(timeoutMs / 1000))), addr],
        { stdio: ['ignore', 'pipe', 'ignore'] },
      )
    } catch (e) {
      t.inFlight = false
      this.spawnFailed(e as Error)
      return
    }
    this.children.add(child)
    let out = ''
    let late = false
    const kill = setTimeout(() => {
      late = true
      child.kill('SIGKILL')
    }, timeoutMs)
    child.stdout?.on('data', (b: Buffer) => {
      if (out.length < MAX_OUTPUT) out += b.toString('latin1')
    })
    child.on('error', (e) => this.spawnFailed(e))
    child.on('close', (code) => {
      clearTimeout(kill)
      this.children.delete(child)
      t.inFlight = false
      if (this.stopped || late || code !== 0) return
      const m = ECHO_REPLY.exec(out)
      if (m && m[1] === addr) this.answered(t, sentAt)
    })
  }

  private spawnFailed(e: Error): void {
    if (this.warnedSpawn) return
    this.warnedSpawn = true
    this.o.log?.(
      'error',
      `ping nodes: cannot run ${this.o.command ?? 'ping'} (${e.message}): install iputils-ping or use pingMethod: udp`,
    )
  }

  private probeUdp(addr: string, t: AddrTrack, sentAt: number): void {
    const payload = `fencegate-ping ${this.token} ${++this.seq}`
    const timer = setTimeout(() => {
      this.pending.delete(payload)
      t.inFlight = false
    }, this.o.settings.timeoutMs)
    this.pending.set(payload, { addr, sentAt, timer })
    this.socket?.send(payload, this.o.settings.port, addr, (e) => {
      if (e) this.o.log?.('debug', `ping ${addr}: ${e.message}`)
    })
  }

  private onEcho(msg: Buffer, from: string, port: number): void {
    const p = this.pending.get(msg.toString('latin1'))
    if (!p || p.addr !== from || port !== this.o.settings.port) return
    clearTimeout(p.timer)
    this.pending.delete(msg.toString('latin1'))
    const t = this.addrs.get(from)!
    t.inFlight = false
    this.answered(t, p.sentAt)
  }

  /** Recompute the states; tell about changes. */
  private judge(): void {
    if (this.stopped) return
    for (const v of this.views()) {
      if (this.states.get(v.name) === v.state) continue
      const was = this.states.get(v.name)
      this.states.set(v.name, v.state)
      if (!(was === 'init' && v.state === 'dead')) this.o.onChange?.(v)
    }
  }

  /** Every ping node as of now. */
  views(): PingView[] {
    const now = this.o.now()
    return this.o.settings.nodes.map((n) => {
      const replies: Record<string, number | undefined> = {}
      let last: number | undefined
      for (const a of n.addresses) {
        const r = this.addrs.get(a)?.lastReplyAt
        replies[a] = r
        if (r !== undefined && (last === undefined || r > last)) last = r
      }
      // never answered: not known yet during the first deadping, dead after
      const state: PingState =
        last !== undefined
          ? now - last <= this.o.settings.deadMs
            ? 'up'
            : 'dead'
          : now - this.startedAt > this.o.settings.deadMs
            ? 'dead'
            : 'init'
      return {
        name: n.name,
        addresses: [...n.addresses],
        group: n.group,
        state,
        ...(last !== undefined ? { lastReplyAt: last } : {}),
        replies,
      }
    })
  }

  /** Names of the ping nodes up now (what we advertise). */
  reached(): string[] {
    return this.views()
      .filter((v) => v.state === 'up')
      .map((v) => v.name)
  }

  stop(): void {
    this.stopped = true
    if (this.timer) clearInterval(this.timer)
    for (const c of this.children) c.kill('SIGKILL')
    this.children.clear()
    for (const p of this.pending.values()) clearTimeout(p.timer)
    this.pending.clear()
    this.socket?.close()
    this.socket = undefined
  }
}
