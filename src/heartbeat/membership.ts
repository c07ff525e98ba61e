import type { Control } from './message.js'

/**
 * Who is alive, decided from authenticated packets and the clock alone. No sockets, no timers of
 * its own: the worker feeds it packets and calls `check(now)` at `nextDeadline()`, and tests feed
 * it a hand-made clock.
 *
 * The rules (heartbeat 3.0.6's, with the changes the issue asks for):
 * - A node is up while a fresh `t=status` arrives within its deadtime (the `dt` it advertises,
 *   else ours; before we ever heard it, initdeadtime from our start).
 * - A link of a node is up while any authenticated copy of one of its packets arrives on it within
 *   the same time. Every copy counts for its own link, even one whose sequence number another
 *   link delivered first (heartbeat drops those, so a slow serial line looks dead beside a fast
 *   LAN); but the same sequence number on the same link twice is a replay and counts for nothing.
 * - A link failure is an event and a metric, never a node death.
 * - Generations: lower than the one we hold = replay, dropped. Higher, on a status = the node
 *   restarted. Same generation after we declared the node dead = it returns after a partition.
 * - `t=shutdone` = the node stopped cleanly: it is dead at once, reason `shutdown`, and packets
 *   of that generation do not bring it back (heartbeat keeps sending status while it winds down).
 */
export type NodeState = 'init' | 'up' | 'dead'
export type LinkState = 'init' | 'up' | 'dead'
export type DeathReason = 'timeout' | 'never-seen' | 'shutdown'
export type UpReason = 'first' | 'restart' | 'return-after-partition'

export type DropReason =
  | 'own'
  | 'unknown-node'
  | 'replay-generation'
  | 'replay-sequence'
  | 'old-sequence'
  | 'future-generation'
  | 'after-shutdown'

export type MembershipEvent =
  | { kind: 'node-up'; node: string; generation: number; reason: UpReason; previousGeneration?: number }
  | { kind: 'node-dead'; node: string; generation?: number; reason: DeathReason; silentMs: number }
  | { kind: 'link-up'; node: string; link: string }
  | { kind: 'link-dead'; node: string; link: string; silentMs: number }
  | { kind: 'late-heartbeat'; node: string; intervalMs: number }
  | { kind: 'lost-packets'; node: string; count: number }
  /** A fencegate peer changed what it advertises (whom it can fence, whom it fenced, its ping nodes). */
  | { kind: 'advert'; node: string }

export interface LinkView {
  name: string
  state: LinkState
  lastHeardAt?: number
  packets: number
  failures: number
}

export interface NodeView {
  name: string
  self: boolean
  state: NodeState
  reason?: DeathReason | UpReason
  generation?: number
  software?: 'fencegate' | 'heartbeat'
  lastHeardAt?: number
  /** Monotonic ms when the state last changed. */
  since: number
  deadtimeMs: number
  lateHeartbeats: number
  lastIntervalMs?: number
  maxIntervalMs?: number
  lostPackets: number
  deaths: number
  /** Seen up together with us since we started (wait-for-all). */
  seenSinceStart: boolean
  fgfence?: readonly string[]
  fgfenced?: ReadonlyMap<string, number>
  /** fencegate peers with ping nodes: the ping nodes it reached when it sent its newest status. */
  fgping?: readonly string[]
  links: LinkView[]
}

/** How far back a sequence number can arrive late and still be told from a replay. */
const SEQ_WINDOW = 256

interface LinkTrack extends LinkView {
  seqs: Set<number>
}

interface Peer {
  name: string
  state: NodeState
  reason?: DeathReason | UpReason
  since: number
  generation?: number
  leftGeneration?: number
  software?: 'fencegate' | 'heartbeat'
  highSeq?: number
  seqs: Set<number>
  lastHeardAt?: number
  dtMs?: number
  lateHeartbeats: number
  lastIntervalMs?: number
  maxIntervalMs?: number
  lostPackets: number
  deaths: number
  seenSinceStart: boolean
  fgfence?: string[]
  fgfenced?: Map<string, number>
  fgping?: string[]
  links: Map<string, LinkTrack>
}

export interface MembershipOptions {
  self: string
  nodes: readonly string[]
  links: readonly string[]
  keepaliveMs: number
  warntimeMs: number
  deadtimeMs: number
  initdeadMs: number
  /** Monotonic ms at start. */
  startedAt: number
  /** Generations remembered from before our restart (replay protection). */
  knownGenerations?: Record<string, number>
}

export type Verdict = { accepted: true; fresh: boolean } | { accepted: false; reason: DropReason }

export class Membership {
  private readonly peers = new Map<string, Peer>()
  private readonly listeners: ((e: MembershipEvent) => void)[] = []

  constructor(private readonly o: MembershipOptions) {
    for (const n of o.nodes) {
      if (n === o.self) continue
      const known = o.knownGenerations?.[n]
      this.peers.set(n, {
        name: n,
        state: 'init',
        since: o.startedAt,
        ...(known !== undefined ? { generation: known } : {}),
        seqs: new Set(),
        lateHeartbeats: 0,
        lostPackets: 0,
        deaths: 0,
        seenSinceStart: false,
        links: new Map(
          o.links.map((l) => [
            l,
            { name: l, state: 'init', packets: 0, failures: 0, seqs: new Set<number>() },
          ]),
        ),
      })
    }
  }

  onEvent(fn: (e: MembershipEvent) => void): void {
    this.listeners.push(fn)
  }

  private emit(e: MembershipEvent): void {
    for (const fn of this.listeners) fn(e)
  }

  /** An authenticated, decoded packet arrived on `link` at monotonic `now`. */
  receive(link: string, c: Control, now: number): Verdict {
    if (c.src === this.o.self) return { accepted: false, reason: 'own' }
    const p = this.peers.get(c.src)
    if (!p) return { accepted: false, reason: 'unknown-node' }

    // generation: replay protection and restarts
    let restarted: number | undefined
    if (p.generation !== undefined && c.generation < p.generation)
      return { accepted: false, reason: 'replay-generation' }
    if (p.leftGeneration !== undefined && c.generation <= p.leftGeneration)
      return { accepted: false, reason: 'after-shutdown' }
    if (p.generation !== undefined && c.generation > p.generation) {
      // heartbeat resets its tracking only on a status; anything else waits for one
      if (c.type !== 'status') return { accepted: false, reason: 'future-generation' }
      restarted = p.generation
      p.highSeq = undefined
      p.seqs.clear()
      for (const l of p.links.values()) l.seqs.clear()
    }
    if (p.generation === undefined || restarted !== undefined) p.generation = c.generation

    // NS_* messages carry no sequence number: nothing to deduplicate, and a replay could not be
    // told from a fresh one, so they never count as a sign of life.
    if (c.seq === undefined) return { accepted: true, fresh: true }

    const lt = p.links.get(link)
    let fresh: boolean
    if (p.highSeq === undefined || c.seq > p.highSeq) {
      if (p.highSeq !== undefined && c.seq > p.highSeq + 1) {
        const lost = c.seq - p.highSeq - 1
        p.lostPackets += lost
        this.emit({ kind: 'lost-packets', node: p.name, count: lost })
      }
      p.highSeq = c.seq
      fresh = true
    } else if (c.seq <= p.highSeq - SEQ_WINDOW) return { accepted: false, reason: 'old-sequence' }
    else fresh = !p.seqs.has(c.seq)
    if (lt) {
      if (lt.seqs.has(c.seq)) return { accepted: false, reason: 'replay-sequence' }
      remember(lt.seqs, c.seq, p.highSeq)
      lt.packets++
      lt.lastHeardAt = now
      if (lt.state !== 'up') {
        lt.state = 'up'
        this.emit({ kind: 'link-up', node: p.name, link })
      }
    }
    if (!fresh) return { accepted: true, fresh: false }
    remember(p.seqs, c.seq, p.highSeq)

    if (c.type === 'shutdone') {
      p.leftGeneration = p.generation
      if (p.state !== 'dead') this.die(p, 'shutdown', now)
      return { accepted: true, fresh: true }
    }
    // only a status refreshes a node, and only the newest one (a late copy of an older status
    // says nothing about now)
    if (c.type !== 'status' || c.seq !== p.highSeq) return { accepted: true, fresh: true }
    p.software = c.fgv !== undefined ? 'fencegate' : 'heartbeat'
    if (c.dtMs !== undefined && c.dtMs >= 100 && c.dtMs <= 3_600_000) p.dtMs = c.dtMs
    const before = advertKey(p.fgfence, p.fgfenced, p.fgping)
    if (c.fgfence) p.fgfence = c.fgfence
    else delete p.fgfence
    if (c.fgfenced) p.fgfenced = c.fgfenced
    else delete p.fgfenced
    if (c.fgping) p.fgping = c.fgping
    else delete p.fgping
    const advertChanged = before !== advertKey(p.fgfence, p.fgfenced, p.fgping)
    if (p.lastHeardAt !== undefined && p.state === 'up') {
      const interval = now - p.lastHeardAt
      p.lastIntervalMs = interval
      p.maxIntervalMs = Math.max(p.maxIntervalMs ?? 0, interval)
      if (interval > this.o.warntimeMs) {
        p.lateHeartbeats++
        this.emit({ kind: 'late-heartbeat', node: p.name, intervalMs: Math.round(interval) })
      }
    }
    p.lastHeardAt = now
    if (p.state !== 'up') {
      const reason: UpReason =
        restarted !== undefined
          ? 'restart'
          : p.state === 'dead' && p.reason === 'timeout'
            ? 'return-after-partition'
            : 'first'
      p.state = 'up'
      p.reason = reason
      p.since = now
      p.seenSinceStart = true
      this.emit({
        kind: 'node-up',
        node: p.name,
        generation: p.generation!,
        reason,
        ...(restarted !== undefined ? { previousGeneration: restarted } : {}),
      })
    } else if (restarted !== undefined) {
      // restarted faster than its deadtime: tell the world, it is a new incarnation
      p.reason = 'restart'
      p.since = now
      this.emit({
        kind: 'node-up',
        node: p.name,
        generation: p.generation!,
        reason: 'restart',
        previousGeneration: restarted,
      })
    }
    if (advertChanged) this.emit({ kind: 'advert', node: p.name })
    return { accepted: true, fresh: true }
  }

  private die(p: Peer, reason: DeathReason, now: number): void {
    const silentMs = Math.round(now - (p.lastHeardAt ?? this.o.startedAt))
    p.state = 'dead'
    p.reason = reason
    p.since = now
    p.deaths++
    this.emit({
      kind: 'node-dead',
      node: p.name,
      ...(p.generation !== undefined ? { generation: p.generation } : {}),
      reason,
      silentMs,
    })
  }

  private deadtimeOf(p: Peer): number {
    return p.dtMs ?? this.o.deadtimeMs
  }

  /** Declare what has timed out by `now`. */
  check(now: number): void {
    for (const p of this.peers.values()) {
      const dt = this.deadtimeOf(p)
      if (p.state === 'up' && now - p.lastHeardAt! > dt) this.die(p, 'timeout', now)
      else if (p.state === 'init' && now - this.o.startedAt > this.o.initdeadMs)
        this.die(p, 'never-seen', now)
      // a link that never carried this node's packets stays `init`: with ucast and serial most
      // links reach one peer only, and that is no failure
      for (const l of p.links.values())
        if (l.state === 'up' && now - l.lastHeardAt! > dt) {
          l.state = 'dead'
          l.failures++
          this.emit({
            kind: 'link-dead',
            node: p.name,
            link: l.name,
            silentMs: Math.round(now - l.lastHeardAt!),
          })
        }
    }
  }

  /** The next monotonic time at which `check` may declare something, or undefined. */
  nextDeadline(): number | undefined {
    let next: number | undefined
    const at = (t: number) => {
      next = next === undefined ? t : Math.min(next, t)
    }
    for (const p of this.peers.values()) {
      const dt = this.deadtimeOf(p)
      if (p.state === 'up') at(p.lastHeardAt! + dt)
      else if (p.state === 'init') at(this.o.startedAt + this.o.initdeadMs)
      for (const l of p.links.values()) if (l.state === 'up') at(l.lastHeardAt! + dt)
    }
    return next
  }

  peer(name: string): NodeView | undefined {
    const p = this.peers.get(name)
    return p ? this.view(p) : undefined
  }

  /** Every member, in configured order, ourselves included (always up). */
  nodes(): NodeView[] {
    return this.o.nodes.map((n) =>
      n === this.o.self
        ? {
            name: n,
            self: true,
            state: 'up',
            since: this.o.startedAt,
            deadtimeMs: this.o.deadtimeMs,
            lateHeartbeats: 0,
            lostPackets: 0,
            deaths: 0,
            seenSinceStart: true,
            software: 'fencegate',
            links: [],
          }
        : this.view(this.peers.get(n)!),
    )
  }

  generations(): Record<string, number> {
    const out: Record<string, number> = {}
    for (const p of this.peers.values()) if (p.generation !== undefined) out[p.name] = p.generation
    return out
  }

  private view(p: Peer): NodeView {
    return {
      name: p.name,
      self: false,
      state: p.state,
      ...(p.reason ? { reason: p.reason } : {}),
      ...(p.generation !== undefined ? { generation: p.generation } : {}),
      ...(p.software ? { software: p.software } : {}),
      ...(p.lastHeardAt !== undefined ? { lastHeardAt: p.lastHeardAt } : {}),
      since: p.since,
      deadtimeMs: this.deadtimeOf(p),
      lateHeartbeats: p.lateHeartbeats,
      ...(p.lastIntervalMs !== undefined ? { lastIntervalMs: Math.round(p.lastIntervalMs) } : {}),
      ...(p.maxIntervalMs !== undefined ? { maxIntervalMs: Math.round(p.maxIntervalMs) } : {}),
      lostPackets: p.lostPackets,
      deaths: p.deaths,
      seenSinceStart: p.seenSinceStart,
      ...(p.fgfence ? { fgfence: p.fgfence } : {}),
      ...(p.fgfenced ? { fgfenced: p.fgfenced } : {}),
      ...(p.fgping ? { fgping: p.fgping } : {}),
      links: [...p.links.values()].map(({ seqs: _, ...l }) => ({ ...l })),
    }
  }
}

function advertKey(
  fence?: readonly string[],
  fenced?: ReadonlyMap<string, number>,
  ping?: readonly string[],
): string {
  return `${fence?.join(' ') ?? ''}|${fenced ? [...fenced].join(' ') : ''}|${ping ? ping.join(' ') : '?'}`
}

/** Keep a bounded window of sequence numbers. */
function remember(set: Set<number>, seq: number, high: number): void {
  set.add(seq)
  if (set.size > SEQ_WINDOW * 2) for (const s of set) if (s <= high - SEQ_WINDOW) set.delete(s)
}
