import { readFileSync } from 'node:fs'
import { performance } from 'node:perf_hooks'
import { type AuthKeys, Authenticator, readAuthKeys } from './auth.js'
import { DecodeError, type HaMsg, decode, encodeClassic, encodeNetstring } from './codec.js'
import type { HeartbeatConfig } from './config.js'
import { FencePolicy, type FenceResult } from './fence-policy.js'
import { type Frames, type Link, UcastHub, createLink } from './links.js'
import { Membership } from './membership.js'
import {
  type Control,
  type Sender,
  nakRexmitMsg,
  readControl,
  resourcesHeldMsg,
  shutdoneMsg,
  statusMsg,
} from './message.js'
import { Pinger } from './ping.js'
import type { DropCounts, FromWorker, HeartbeatSnapshot, ToWorker } from './protocol.js'
import { PeerGenerations, bumpGeneration } from './state.js'

/**
 * One cluster member's heartbeat: links, the send timer, the receive pipeline (decode,
 * authenticate, membership), the death timers and the fence policy. It runs in the membership
 * worker (worker.ts) and talks to the gateway only through `out` messages, so nothing the main
 * thread does (GC, a journal fsync, a long JSON parse) can delay a heartbeat or a timer here.
 */
const HISTORY = 200
const REXMIT_MAX = 50
const REXMIT_MIN_GAP_MS = 240

export class HeartbeatMember {
  private readonly auth: Authenticator
  private readonly sender: Sender
  private readonly membership: Membership
  private readonly policy: FencePolicy
  private readonly links: Link[]
  private readonly peerGens: PeerGenerations
  /** Ping nodes (heartbeat's ping / ping_group), when configured. */
  private readonly pinger: Pinger | undefined
  private readonly startedWall = new Date()
  private readonly drops = new Map<string, DropCounts>()
  private readonly history = new Map<number, { frames: Frames; resentAt?: number }>()
  private readonly pendingFences = new Map<number, (r: FenceResult) => void>()
  private seq = 0
  private sent = 0
  private maxTimerLagMs = 0
  private sendTimer: NodeJS.Timeout | undefined
  private nextSendAt = 0
  private checkTimer: NodeJS.Timeout | undefined
  private checkAt = Number.POSITIVE_INFINITY
  private fenceIds = 0
  private stopped = false
  private readonly savedGens = new Map<string, number>()
  private loadavg = { at: -1, text: 'n/a' }

  constructor(
    private readonly config: HeartbeatConfig,
    private readonly out: (m: FromWorker) => void,
    keys: AuthKeys = readAuthKeys(config.authKeyFile),
    opts: { replicas?: boolean } = {},
  ) {
    this.auth = new Authenticator(keys, { allowCrc: config.allowCrc })
    const state = bumpGeneration(config.stateDir)
    this.peerGens = new PeerGenerations(config.stateDir)
    this.sender = {
      node: config.node,
      uuid: state.uuid,
      generation: state.generation,
      nodeCount: config.nodes.length,
    }
    const now = performance.now()
    const ping = config.ping?.nodes.length ? config.ping : undefined
    this.pinger = ping
      ? new Pinger({
          settings: ping,
          now: () => performance.now(),
          log: (level, msg) => this.out({ type: 'log', level, msg }),
          onChange: (p) => {
            this.out({
              type: 'event',
              at: new Date().toISOString(),
              event: { kind: p.state === 'up' ? 'ping-up' : 'ping-dead', ping: p.name },
            })
            this.policy.evaluateAll()
          },
        })
      : undefined
    this.membership = new Membership({
      self: config.node,
      nodes: config.nodes,
      links: config.links.map((l) => l.name),
      keepaliveMs: config.keepaliveMs,
      warntimeMs: config.warntimeMs,
      deadtimeMs: config.deadtimeMs,
      initdeadMs: config.initdeadMs,
      startedAt: now,
      knownGenerations: state.peers,
    })
    this.policy = new FencePolicy({
      self: config.node,
      nodes: config.nodes,
      settings: config.fence,
      deadtimeMs: config.deadtimeMs,
      settleMs: 2 * config.keepaliveMs,
      clock: {
        now: () => performance.now(),
        setTimeout: (fn, ms) => {
          const t = setTimeout(fn, ms)
          return () => clearTimeout(t)
        },
      },
      view: () => this.membership.nodes(),
      ...(ping
        ? {
            ping: { nodes: ping.nodes.map((n) => n.name), deadMs: ping.deadMs },
            pings: () => this.pinger?.views() ?? [],
          }
        : {}),
      ...(opts.replicas ? { replicas: true } : {}),
      fence: (node, action, generation) =>
        new Promise((resolve) => {
          const id = ++this.fenceIds
          this.pendingFences.set(id, resolve)
          this.out({ type: 'fence', id, node, action, ...(generation !== undefined ? { generation } : {}) })
        }),
    })
    this.membership.onEvent((event) => {
      this.out({ type: 'event', at: new Date().toISOString(), event })
      this.policy.onMembership(event)
    })
    this.policy.onDecision((event) => this.out({ type: 'event', at: new Date().toISOString(), event }))
    const hub = new UcastHub()
    this.links = config.links.map((l) =>
      createLink(
        l,
        (link, pkt) => this.receive(link, pkt),
        (level, msg) => this.out({ type: 'log', level, msg }),
        hub,
      ),
    )
  }

  get generation(): number {
    return this.sender.generation
  }

  get uuid(): Buffer {
    return this.sender.uuid
  }

  start(): void {
    for (const l of this.links) l.open()
    this.pinger?.start()
    this.nextSendAt = performance.now()
    this.sendTick()
    this.scheduleCheck()
  }

  handle(m: ToWorker): void {
    switch (m.type) {
      case 'reach':
        this.policy.setReach(m.nodes)
        break
      case 'blocked':
        this.policy.setBlocked(m.why)
        break
      case 'fence-result': {
        const done = this.pendingFences.get(m.id)
        this.pendingFences.delete(m.id)
        done?.({ ok: m.ok, ...(m.error ? { error: m.error } : {}), ...(m.by ? { by: m.by } : {}) })
        break
      }
      case 'snapshot':
        this.out({ type: 'snapshot', id: m.id, snapshot: this.snapshot() })
        break
      case 'stop':
        void this.stop().then(() => this.out({ type: 'stopped' }))
        break
    }
  }

  private sign = (data: Buffer): string => this.auth.sign(data)

  private frames(msg: HaMsg): Frames {
    return { netstring: encodeNetstring(msg, this.sign), classic: encodeClassic(msg, this.sign) }
  }

  private load(): string {
    const now = performance.now()
    if (now - this.loadavg.at > 1000) {
      try {
        this.loadavg = { at: now, text: readFileSync('/proc/loadavg', 'utf8').trim() || 'n/a' }
      } catch {
        this.loadavg = { at: now, text: 'n/a' }
      }
    }
    return this.loadavg.text
  }

  /** Drift-free keepalive: the next send is due one keepalive after the previous due time. */
  private sendTick = (): void => {
    if (this.stopped) return
    const now = performance.now()
    this.maxTimerLagMs = Math.max(this.maxTimerLagMs, now - this.nextSendAt)
    const seq = ++this.seq
    const msg = statusMsg(this.sender, seq, {
      st: 'active',
      dtMs: this.config.deadtimeMs,
      fence: this.policy.advertisedReach(),
      fenced: this.policy.advertisedFenced(),
      ...(this.pinger ? { ping: this.pinger.reached() } : {}),
      loadavg: this.load(),
    })
    this.broadcast(seq, this.frames(msg))
    this.nextSendAt += this.config.keepaliveMs
    // after a long stall, do not burst the missed heartbeats: start counting from now
    if (this.nextSendAt < now) this.nextSendAt = now + this.config.keepaliveMs
    this.sendTimer = setTimeout(this.sendTick, Math.max(0, this.nextSendAt - performance.now()))
  }

  private broadcast(seq: number | undefined, frames: Frames): void {
    if (seq !== undefined) {
      this.history.set(seq, { frames })
      if (this.history.size > HISTORY) this.history.delete(this.history.keys().next().value!)
    }
    for (const l of this.links) l.send(frames)
    this.sent++
  }

  private drop(link: string, reason: string): void {
    let d = this.drops.get(link)
    if (!d) {
      d = {}
      this.drops.set(link, d)
    }
    d[reason] = (d[reason] ?? 0) + 1
  }

  /** Every packet from every link comes through here; nothing in it may throw. */
  private receive(link: string, packet: Buffer): void {
    if (this.stopped) return
    let ctrl: Control | undefined
    let reason: string | undefined
    try {
      const msg = decode(packet)
      const verdict = this.auth.verify(msg.auth, msg.signed)
      if (verdict !== 'ok') reason = `auth-${verdict}`
      else ctrl = readControl(msg.fields)
    } catch (e) {
      reason = e instanceof DecodeError ? e.reason : 'malformed'
    }
    if (!ctrl) {
      this.drop(link, reason ?? 'missing-fields')
      return
    }
    const v = this.membership.receive(link, ctrl, performance.now())
    if (!v.accepted) {
      if (v.reason !== 'own') this.drop(link, v.reason)
      return
    }
    if (ctrl.type === 'NS_rexmit' && ctrl.dest === this.config.node) this.rexmit(ctrl)
    if (ctrl.type === 'starting' && v.fresh) {
      const seq = ++this.seq
      this.broadcast(seq, this.frames(resourcesHeldMsg(this.sender, seq, this.load())))
    }
    this.persistGeneration(ctrl.src, ctrl.generation)
    this.scheduleCheck()
  }

  /** A heartbeat peer lost some of our packets: resend what we still hold, NAK the rest. */
  private rexmit(c: Control): void {
    if (c.firstseq === undefined) return
    const last = Math.min(c.lastseq ?? c.firstseq, c.firstseq + REXMIT_MAX - 1)
    const now = performance.now()
    for (let s = c.firstseq; s <= last; s++) {
      const h = this.history.get(s)
      if (!h) {
        this.broadcast(undefined, this.frames(nakRexmitMsg(this.sender, c.src, s)))
        continue
      }
      if (h.resentAt !== undefined && now - h.resentAt < REXMIT_MIN_GAP_MS) continue
      h.resentAt = now
      for (const l of this.links) l.send(h.frames)
    }
  }

  /** An accepted packet: the membership now holds `generation` for `node`. Saved when it changes. */
  private persistGeneration(node: string, generation: number): void {
    if (this.savedGens.get(node) === generation) return
    this.savedGens.set(node, generation)
    this.peerGens.save(this.membership.generations())
  }

  private scheduleCheck(): void {
    const next = this.membership.nextDeadline()
    if (next === undefined || next >= this.checkAt) return
    if (this.checkTimer) clearTimeout(this.checkTimer)
    this.checkAt = next
    // +1: the deadline is "more than deadtime"; a timer never fires early but may fire on the dot
    this.checkTimer = setTimeout(this.onCheck, Math.max(0, next - performance.now()) + 1)
  }

  private onCheck = (): void => {
    this.checkTimer = undefined
    this.checkAt = Number.POSITIVE_INFINITY
    if (this.stopped) return
    // judge after this loop turn's I/O: libuv runs timers before it polls sockets, so after a
    // stall of our own (descheduled, paused) the peers' packets waiting in the socket buffers
    // must be read first, or we would declare dead a peer whose heartbeat we already hold
    setImmediate(() => {
      if (this.stopped) return
      this.membership.check(performance.now())
      this.scheduleCheck()
    })
  }

  snapshot(): HeartbeatSnapshot {
    const now = performance.now()
    const wall = Date.now()
    // a monotonic time as wall clock and as "ms ago" (the other process has its own clock origin)
    const heard = (t: number | undefined) =>
      t === undefined
        ? {}
        : { lastHeard: new Date(wall - (now - t)).toISOString(), lastHeardAgoMs: Math.round(now - t) }
    const pol = this.policy.snapshot()
    return {
      node: this.config.node,
      generation: this.sender.generation,
      uuid: this.sender.uuid.toString('hex'),
      startedAt: this.startedWall.toISOString(),
      keepaliveMs: this.config.keepaliveMs,
      warntimeMs: this.config.warntimeMs,
      deadtimeMs: this.config.deadtimeMs,
      initdeadMs: this.config.initdeadMs,
      authMethod: this.auth.method,
      nodes: this.membership
        .nodes()
        .map(({ lastHeardAt, since, fgfence, fgfenced: _, fgping, links, ...n }) => ({
          ...n,
          ...(n.self && this.pinger ? { pingNodes: this.pinger.reached() } : {}),
          ...(fgping ? { pingNodes: [...fgping] } : {}),
          ...(n.self ? { generation: this.generation, canFence: this.policy.advertisedReach() } : {}),
          ...(fgfence ? { canFence: [...fgfence] } : {}),
          ...heard(lastHeardAt),
          sinceAgoMs: Math.round(now - since),
          links: links.map(({ lastHeardAt, ...l }) => ({ ...l, ...heard(lastHeardAt) })),
        })),
      links: this.links.map((l) => ({ ...l.stats(), dropped: { ...(this.drops.get(l.name) ?? {}) } })),
      quorum: {
        members: pol.members,
        live: pol.live,
        needed: pol.needed,
        quorate: pol.quorate,
        twoNode: pol.twoNode,
        ...(pol.ping ? { ping: pol.ping } : {}),
      },
      ...(this.pinger
        ? {
            ping: this.pinger.views().map(({ lastReplyAt, replies, ...p }) => ({
              ...p,
              ...(lastReplyAt !== undefined ? heard(lastReplyAt) : {}),
            })),
          }
        : {}),
      fencing: {
        enabled: pol.enabled,
        ...(pol.blockedBy ? { blockedBy: pol.blockedBy } : {}),
        action: pol.action,
        ...(this.config.fence.preferred ? { preferred: this.config.fence.preferred } : {}),
        canFence: this.policy.advertisedReach(),
        victims: pol.victims.map(({ since, ...v }) => ({ ...v, sinceAgoMs: Math.round(now - since) })),
      },
      sent: { packets: this.sent, maxTimerLagMs: Math.round(this.maxTimerLagMs) },
    }
  }

  /** Say goodbye (peers must not fence a member that stopped cleanly), then close everything. */
  async stop(): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    if (this.sendTimer) clearTimeout(this.sendTimer)
    if (this.checkTimer) clearTimeout(this.checkTimer)
    this.policy.close()
    this.pinger?.stop()
    const seq = ++this.seq
    const bye = this.frames(shutdoneMsg(this.sender, seq, this.load()))
    for (const l of this.links) l.send(bye)
    // let the datagrams and the serial write leave before the sockets close
    await new Promise((r) => setTimeout(r, 50))
    await Promise.all(this.links.map((l) => l.close()))
    await this.peerGens.idle()
    for (const done of this.pendingFences.values()) done({ ok: false, error: 'heartbeat stopped' })
  }
}
