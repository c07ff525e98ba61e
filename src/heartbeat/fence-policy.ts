import type { FenceAction } from '../../core/types.js'
import type { FenceSettings } from './config.js'
import type { MembershipEvent, NodeView } from './membership.js'

/**
 * When a dead member is fenced, and by whom (design rule 10). Pure logic over the membership
 * view; the worker runs it, the main thread does the fencing through the engine.
 *
 * - Only a partition with quorum fences: a strict majority of the configured members is alive
 *   (ourselves included). Two-node clusters: quorum is 1, with wait-for-all — no fencing of a peer
 *   we have not seen alive since we started, so a node rebooting with its links still down cannot
 *   shoot the survivor.
 * - Exactly one member acts: the first live member, in configured order, that reaches the
 *   victim's fence devices (fencegate members advertise that in their status as `fgfence`).
 *   Replica mode (`replicas`): every member that reaches them asks its gateway, and the gateways'
 *   etcd election runs the fence once (src/coordination/death-fence.ts); a fence another replica
 *   ran comes back as `fenced-by-replica`, never as a fence of ours.
 * - Two-node: the preferred node fences at once; the other waits raceDelay (longer than the
 *   preferred node needs to notice and fence), then checks the peer is still dead.
 * - A victim that comes back with a higher generation restarted: a fence not yet issued is dropped.
 *   The same generation after being declared dead (a partition healing, or a node that hung)
 *   never cancels a fence already issued.
 * - A member that left cleanly (`shutdone`) is never fenced.
 * - Ping nodes (heartbeat's `ping`/`ping_group`, ipfail's "which side has the uplink"), judged
 *   by our own probes answered *after* the victim was declared dead:
 *   - two nodes: a member that reaches fewer ping nodes than the peer advertised last defers to it
 *     for good (never fences that incarnation, even when its ping nodes come back: by then the
 *     peer may be fencing it); otherwise the two-node rule above stands. Ping nodes only ever
 *     take a fence away, never add one at once, so the race stays broken by the preferred node
 *     and raceDelay.
 *   - three or more: each ping node is a pseudo-member, a vote for a partition only when one of
 *     its members reaches it (ourselves by a probe, a live member by its advert). Quorum needs a
 *     strict majority of the members *and* a strict majority of members + ping nodes: a ping node
 *     reachable from both sides of a split can then never give quorum to both.
 */
export interface Clock {
  now(): number
  setTimeout(fn: () => void, ms: number): () => void
}

/** Our own probes of a ping node (the prober's view, monotonic times). */
export interface PingObservation {
  name: string
  /** When the newest answered probe was sent. */
  lastReplyAt?: number
}

export type VictimStatus = 'waiting' | 'race-wait' | 'in-flight' | 'fenced' | 'retry-wait'

export interface VictimView {
  node: string
  generation?: number
  status: VictimStatus
  /** Why we are not fencing (yet): no quorum, someone else will, wait-for-all… */
  why?: string
  executor?: string
  /** Replica mode: the replica that ran the fence we asked for, when it was not ours, and its operation. */
  byReplica?: FencedBy
  attempts: number
  lastError?: string
  /** Monotonic ms. */
  since: number
}

export interface FencePolicyView {
  enabled: boolean
  blockedBy?: string
  members: number
  live: number
  needed: number
  quorate: boolean
  twoNode: boolean
  action: FenceAction
  victims: VictimView[]
  /** With ping nodes: how many, and which this partition reaches now (ours and live members' adverts). */
  ping?: { nodes: number; reached: string[] }
}

/** Replica mode: the fence was not run by our gateway but by this replica (or by none, by the deadline). */
export interface FencedBy {
  replica?: string
  op?: string
}

/** What our gateway says of a fence we asked for. `by`: another replica ran it (replica mode). */
export interface FenceResult {
  ok: boolean
  error?: string
  by?: FencedBy
}

export type FenceDecision =
  | {
      kind: 'fence-start'
      node: string
      generation?: number
      attempt: number
      /** Replica mode: asked of the replicas; the one their election picks runs it. */
      replicas?: true
    }
  | {
      kind: 'fenced-by-replica'
      node: string
      generation?: number
      /** Undefined: no replica had claimed it by our deadline. */
      replica?: string
      op?: string
      ok: boolean
      error?: string
      durationMs: number
    }
  | { kind: 'fence-done'; node: string; generation?: number; ok: boolean; error?: string; durationMs: number }
  | { kind: 'fence-waiting'; node: string; why: string; executor?: string }
  | { kind: 'fence-dropped'; node: string; why: string }

interface Victim extends VictimView {
  /** No decision before this (monotonic): the rest of a partition is still being declared dead. */
  decideAt: number
  cancel?: () => void
  /** Two-node: we lacked the uplink when deciding; we never fence this incarnation. */
  deferred?: string
}

export interface FencePolicyOptions {
  self: string
  nodes: readonly string[]
  settings: FenceSettings
  /** Our configured deadtime: what raceDelay was validated against. */
  deadtimeMs: number
  /**
   * Wait this long after a death before deciding. A cut partition falls silent at once, but each
   * of its members is declared dead by its own timer, up to a keepalive apart: deciding on the
   * first death, a member cut off with two others would still count one of them alive and think
   * it had quorum. Default 2 × keepalive.
   */
  settleMs: number
  clock: Clock
  view: () => NodeView[]
  /** Ping nodes (names, as members advertise them) and heartbeat's deadping. None: no ping rules. */
  ping?: { nodes: readonly string[]; deadMs: number }
  /** Our own probes of the ping nodes, as of now. */
  pings?: () => PingObservation[]
  /**
   * Replica mode: a member that reaches the victim's devices asks its gateway even when another
   * member comes first in order — the replicas' election decides who runs it (rules in
   * src/coordination/death-fence.ts). Quorum, wait-for-all, ping nodes and the two-node race
   * stand as they are.
   */
  replicas?: boolean
  /**
   * Issue the fence (through the engine) of the victim's incarnation `generation` (undefined: never
   * heard); resolves with the outcome, never rejects.
   */
  fence: (node: string, action: FenceAction, generation?: number) => Promise<FenceResult>
}

export class FencePolicy {
  private readonly victims = new Map<string, Victim>()
  private readonly listeners: ((d: FenceDecision) => void)[] = []
  /** Victims our engine can fence (devices healthy), from the main thread. */
  private reach = new Set<string>()
  private blockedBy: string | undefined
  /** Fenced victims per incarnation, advertised as fgfenced. */
  private readonly fencedGen = new Map<string, number>()
  private readonly twoNode: boolean
  private recheck: (() => void) | undefined

  constructor(private readonly o: FencePolicyOptions) {
    this.twoNode = o.nodes.length === 2
  }

  onDecision(fn: (d: FenceDecision) => void): void {
    this.listeners.push(fn)
  }

  private emit(d: FenceDecision): void {
    for (const fn of this.listeners) fn(d)
  }

  get enabled(): boolean {
    return this.o.settings.enabled && !this.blockedBy
  }

  /** Another membership authority (corosync, Pacemaker) runs here: fencing stays off. */
  setBlocked(why: string | undefined): void {
    this.blockedBy = why
    this.evaluateAll()
  }

  setReach(nodes: Iterable<string>): void {
    this.reach = new Set(nodes)
    this.evaluateAll()
  }

  /** What we advertise as `fgfence`: only when we would act on it. */
  advertisedReach(): string[] {
    return this.enabled ? this.o.nodes.filter((n) => n !== this.o.self && this.reach.has(n)) : []
  }

  advertisedFenced(): ReadonlyMap<string, number> {
    return this.fencedGen
  }

  onMembership(e: MembershipEvent): void {
    if (e.kind === 'node-dead') {
      const dead = e.reason === 'timeout' || (e.reason === 'never-seen' && this.o.settings.startupFencing)
      if (dead && this.o.settings.enabled) {
        const v = this.victims.get(e.node)
        if (!v || v.status === 'fenced')
          this.victims.set(e.node, {
            node: e.node,
            ...(e.generation !== undefined ? { generation: e.generation } : {}),
            status: 'waiting',
            attempts: 0,
            since: this.o.clock.now(),
            decideAt: this.o.clock.now() + this.o.settleMs,
          })
      } else if (e.reason === 'shutdown') this.drop(e.node, 'left the cluster cleanly')
    } else if (e.kind === 'node-up') {
      const v = this.victims.get(e.node)
      if (v && v.status === 'in-flight')
        // the same node seen again does not stop a fence already issued: it may be a node that
        // hung and resumed, still holding what it held
        this.emit({
          kind: 'fence-waiting',
          node: e.node,
          why: `${e.reason}: the fence already issued goes on`,
        })
      else if (v) this.drop(e.node, e.reason === 'restart' ? 'restarted (higher generation)' : 'alive again')
      if (v?.status !== 'in-flight') this.fencedGen.delete(e.node)
    }
    this.evaluateAll()
  }

  private drop(node: string, why: string): void {
    const v = this.victims.get(node)
    if (!v || v.status === 'in-flight') return
    v.cancel?.()
    this.victims.delete(node)
    if (v.status !== 'fenced') this.emit({ kind: 'fence-dropped', node, why })
  }

  evaluateAll(): void {
    for (const v of [...this.victims.values()]) this.evaluate(v)
  }

  /** The members that count for quorum (see quorum()). */
  private live(nodes: NodeView[], victim?: NodeView): NodeView[] {
    const now = this.o.clock.now()
    return nodes.filter(
      (n) =>
        n.self ||
        (n.state === 'up' &&
          n.lastHeardAt !== undefined &&
          now - n.lastHeardAt <= this.o.deadtimeMs &&
          (victim === undefined || n.lastHeardAt > victim.since)),
    )
  }

  private get pingNames(): readonly string[] {
    return this.o.ping?.nodes ?? []
  }

  /**
   * The ping nodes our partition reaches. Ours: a probe answered within deadping — and, when
   * judging a victim, sent after the victim was declared dead (an answer from before the split
   * says nothing about our side of it); one answered only before is `undecided` until a fresh
   * answer comes or deadping runs out. A live member's (see live()): those its newest status lists.
   */
  private pings(
    live: NodeView[],
    victim?: NodeView,
  ): { mine: Set<string>; reached: Set<string>; undecided: string[] } {
    const names = this.pingNames
    const mine = new Set<string>()
    const undecided: string[] = []
    if (!names.length || !this.o.ping) return { mine, reached: new Set(), undecided }
    const now = this.o.clock.now()
    for (const p of this.o.pings?.() ?? []) {
      if (!names.includes(p.name) || p.lastReplyAt === undefined || now - p.lastReplyAt > this.o.ping.deadMs)
        continue
      if (victim === undefined || p.lastReplyAt > victim.since) mine.add(p.name)
      else undecided.push(p.name)
    }
    const reached = new Set(mine)
    for (const n of live) if (!n.self) for (const x of n.fgping ?? []) if (names.includes(x)) reached.add(x)
    return { mine, reached, undecided: undecided.filter((x) => !reached.has(x)) }
  }

  /**
   * Live members (ourselves included), judged by our own clock and deadtime, never by what a peer
   * advertises: up, and heard within our deadtime. For the quorum that authorises fencing a
   * victim, a member also counts only if it was heard after the victim was declared dead — that
   * is, after the victim's last packet by the victim's whole deadtime. A member cut off together
   * with the victim fell silent with it (its last packet at most one of the victim's keepalives
   * after the victim's), so it never counts, however long its own advertised deadtime keeps it
   * "up"; a member of our own partition is heard every keepalive and counts again at once.
   * (Half the member's own deadtime, the old rule, let a heartbeat 3 peer with a 30 s deadtime
   * count for 15 s after it fell silent, and a member cut off alone with it fence the majority.)
   *
   * With ping nodes in a cluster of three or more, each is a vote too (see the class comment):
   * quorate = a strict majority of the members and of members + ping nodes.
   */
  private quorum(
    nodes: NodeView[],
    victim?: NodeView,
  ): {
    live: number
    needed: number
    quorate: boolean
    why: string
    mine: Set<string>
    reached: Set<string>
    undecided: string[]
  } {
    const liveNodes = this.live(nodes, victim)
    const live = liveNodes.length
    const members = this.o.nodes.length
    const neededMembers = this.twoNode ? 1 : Math.floor(members / 2) + 1
    const p = this.pings(liveNodes, victim)
    const P = this.pingNames.length
    if (!P || this.twoNode)
      return {
        live,
        needed: neededMembers,
        quorate: live >= neededMembers,
        why: `no quorum (${live} of ${members} alive, ${neededMembers} needed)`,
        ...p,
      }
    const needed = Math.floor((members + P) / 2) + 1
    return {
      live,
      needed,
      quorate: live >= neededMembers && live + p.reached.size >= needed,
      why: `no quorum (${live} of ${members} alive, ${p.reached.size} of ${P} ping nodes reached: ${neededMembers} members and ${needed} votes needed)`,
      ...p,
    }
  }

  /** Two-node with ping nodes: why we defer to the peer (it has the uplink), or undefined. */
  private defersTo(victim: NodeView, mine: number): string | undefined {
    const names = this.pingNames
    // a peer that does not say (a heartbeat 3 node) is taken to reach them all
    const theirs = victim.fgping ? victim.fgping.filter((x) => names.includes(x)).length : names.length
    if (mine >= theirs) return undefined
    return `two-node: ${victim.name} has the uplink (it reached ${theirs} of ${names.length} ping nodes, we reach ${mine}): we do not fence it`
  }

  /** While a victim waits on something time can change (settling, fresh quorum), look again. */
  private recheckSoon(): void {
    if (this.recheck) return
    this.recheck = this.o.clock.setTimeout(
      () => {
        this.recheck = undefined
        this.evaluateAll()
      },
      Math.max(10, Math.round(this.o.settleMs / 2)),
    )
  }

  private wait(v: Victim, why: string, executor?: string): void {
    if (v.why === why && v.executor === executor) return
    v.why = why
    if (executor) v.executor = executor
    else delete v.executor
    this.emit({ kind: 'fence-waiting', node: v.node, why, ...(executor ? { executor } : {}) })
  }

  private evaluate(v: Victim): void {
    if (v.status === 'in-flight' || v.status === 'fenced' || v.status === 'retry-wait') return
    const nodes = this.o.view()
    const victim = nodes.find((n) => n.name === v.node)
    if (victim?.state !== 'dead') {
      this.drop(v.node, 'not dead')
      return
    }
    if (!this.o.settings.enabled) return
    if (this.blockedBy) {
      this.wait(v, `fencing blocked: ${this.blockedBy}`)
      return
    }
    // someone else has fenced this incarnation already
    for (const n of nodes)
      if (
        n.state === 'up' &&
        !n.self &&
        v.generation !== undefined &&
        (n.fgfenced?.get(v.node) ?? -1) >= v.generation
      ) {
        v.cancel?.()
        v.status = 'fenced'
        v.executor = n.name
        this.emit({ kind: 'fence-dropped', node: v.node, why: `${n.name} fenced it` })
        return
      }
    if (this.o.clock.now() < v.decideAt) {
      this.wait(v, 'settling: waiting for the rest of the membership change')
      this.recheckSoon()
      return
    }
    if (v.deferred) {
      this.wait(v, v.deferred)
      return
    }
    const q = this.quorum(nodes, victim)
    if (q.undecided.length) {
      // our last answer from a ping node predates the death: wait for a fresh one, or deadping
      this.recheckSoon()
      this.cancelRace(v, `ping nodes: waiting for ${q.undecided.join(', ')} to answer since ${v.node} died`)
      return
    }
    if (!q.quorate) {
      this.recheckSoon()
      this.cancelRace(v, q.why)
      return
    }
    if (this.twoNode && !victim.seenSinceStart) {
      this.cancelRace(v, 'two-node wait-for-all: the peer has not been seen since we started')
      return
    }
    if (this.twoNode && this.pingNames.length) {
      const why = this.defersTo(victim, q.mine.size)
      if (why) {
        v.deferred = why
        this.cancelRace(v, why)
        return
      }
    }
    const executor =
      this.o.replicas && this.reach.has(v.node)
        ? nodes.find((n) => n.self)
        : nodes.find(
            (n) => n.state === 'up' && (n.self ? this.reach.has(v.node) : (n.fgfence ?? []).includes(v.node)),
          )
    if (!executor) {
      this.cancelRace(v, 'no live member reaches its fence devices')
      return
    }
    if (!executor.self) {
      this.cancelRace(v, `${executor.name} will fence`, executor.name)
      return
    }
    if (this.twoNode && this.o.settings.preferred !== this.o.self) {
      if (v.status === 'race-wait') return
      // wait longer than the preferred peer needs to notice us dead and fence us; honour a larger
      // deadtime the peer advertises
      const extra = Math.max(0, victim.deadtimeMs - this.o.deadtimeMs)
      const delay = this.o.settings.raceDelayMs + extra
      v.status = 'race-wait'
      this.wait(
        v,
        `two-node: not preferred, waiting ${delay}ms for ${this.o.settings.preferred} to act first`,
        this.o.self,
      )
      v.cancel = this.o.clock.setTimeout(() => {
        delete v.cancel
        v.status = 'waiting'
        const again = this.o.view().find((n) => n.name === v.node)
        if (again?.state !== 'dead' || again.generation !== v.generation)
          return this.drop(v.node, 'alive again')
        // our uplink may have gone while we waited
        const why = this.pingNames.length ? this.defersTo(again, this.pings([], again).mine.size) : undefined
        if (why) {
          v.deferred = why
          return this.wait(v, why)
        }
        this.execute(v)
      }, delay)
      return
    }
    this.execute(v)
  }

  private cancelRace(v: Victim, why: string, executor?: string): void {
    if (v.status === 'race-wait') {
      v.cancel?.()
      delete v.cancel
      v.status = 'waiting'
    }
    this.wait(v, why, executor)
  }

  private execute(v: Victim): void {
    v.status = 'in-flight'
    v.attempts++
    v.executor = this.o.self
    delete v.why
    const started = this.o.clock.now()
    this.emit({
      kind: 'fence-start',
      node: v.node,
      ...(v.generation !== undefined ? { generation: v.generation } : {}),
      attempt: v.attempts,
      ...(this.o.replicas ? { replicas: true as const } : {}),
    })
    void this.o.fence(v.node, this.o.settings.action, v.generation).then(({ ok, error, by }) => {
      const durationMs = Math.round(this.o.clock.now() - started)
      const gen = v.generation !== undefined ? { generation: v.generation } : {}
      // another replica's fence is reported as theirs, never as one we did
      this.emit(
        by
          ? {
              kind: 'fenced-by-replica',
              node: v.node,
              ...gen,
              ...by,
              ok,
              ...(error ? { error } : {}),
              durationMs,
            }
          : { kind: 'fence-done', node: v.node, ...gen, ok, ...(error ? { error } : {}), durationMs },
      )
      if (this.victims.get(v.node) !== v) return
      if (by) v.byReplica = by
      else delete v.byReplica
      if (ok) {
        v.status = 'fenced'
        v.since = this.o.clock.now()
        if (v.generation !== undefined) this.fencedGen.set(v.node, v.generation)
        return
      }
      v.lastError = error ?? 'failed'
      v.status = 'retry-wait'
      v.cancel = this.o.clock.setTimeout(() => {
        delete v.cancel
        v.status = 'waiting'
        delete v.why
        this.evaluate(v)
      }, this.o.settings.retryMs)
    })
  }

  snapshot(): FencePolicyView {
    const q = this.quorum(this.o.view())
    const P = this.pingNames.length
    return {
      enabled: this.o.settings.enabled,
      ...(this.blockedBy ? { blockedBy: this.blockedBy } : {}),
      members: this.o.nodes.length,
      live: q.live,
      needed: q.needed,
      quorate: q.quorate,
      twoNode: this.twoNode,
      action: this.o.settings.action,
      victims: [...this.victims.values()].map(({ cancel: _c, decideAt: _d, deferred: _f, ...v }) => v),
      ...(P ? { ping: { nodes: P, reached: [...q.reached] } } : {}),
    }
  }

  close(): void {
    this.recheck?.()
    for (const v of this.victims.values()) v.cancel?.()
  }
}
