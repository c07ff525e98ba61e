import { createHash } from 'node:crypto'
import type { CoordinationConfig } from '../config/coordination.js'
import { monotonicNow, sleep } from '../../core/deadline.js'
import { FenceError, abortError } from '../../core/errors.js'
import type { Operation } from '../engine/types.js'
import type { FenceAction } from '../../core/types.js'
import type { ClusterView, Coordinator, KeyClaim, OperationRecord, RemoteFence } from './coordinator.js'
import { unavailable } from './coordinator.js'
import { type ClusterStatus, readCluster } from './cluster-view.js'
import { newReplicaCounters } from './replica-counters.js'
// the cluster's history (etcd-history.ts)
import { clusterHistory, historyKey } from './etcd-history.js'
import type { JournalHistoryQuery } from '../audit/journal.js'
import type { HistoryEntry } from '../engine/types.js'
import type { Death, DeathOutcome, DeathRunner } from './death.js'
import { DeathFences } from './death-fence.js'
import { CALL_MS, type Etcd3, newClient, probeEndpoints, tries } from './etcd-client.js'

type Namespace = ReturnType<Etcd3['namespace']>
type Lease = ReturnType<Etcd3['lease']>

/** How often a lock waiter looks again whether its turn has come (loopback etcd answers in ~1 ms). */
const LOCK_POLL_MS = 20
/** Operation records and Idempotency-Keys live a day (the local journal keeps the rest). */
const RETENTION_S = 24 * 3600
/** A new retention lease each hour: a record lives between 23 and 24 hours. */
const RETENTION_ROTATE_MS = 3600_000
/** How often a replica looks whether another replica's operation it waits for has ended. */
const AWAIT_POLL_MS = 50
/** Leader election candidates: one key per replica lease. */
const LEADER_DIR = 'election/leader/'
/** Numbers each lock attempt of this process (the lock key's last part). */
let lockAttempts = 0

interface Logger {
  info(obj: object, msg?: string): void
  warn(obj: object, msg?: string): void
}

/**
 * Replica mode: device locks in etcd, bound to this replica's lease (etcd's own lock recipe, as
 * clientv3/concurrency's Mutex does it: a key `locks/<device>/<lease>/<attempt>` put with the lease, and the
 * key with the lowest create revision holds the lock — waiters queue in arrival order).
 *
 * The lease is kept alive by this replica (keepaliveOnce every ttl/8, overlapping). It counts as alive only
 * until `sent + ttl - ttl/4`, where `sent` is when the last renewal that etcd acknowledged was
 * sent: etcd cannot expire it before `sent + ttl`, so a replica stops driving devices (and aborts
 * its calls in flight) at least ttl/4 before another replica can be granted the device. A lost lease
 * is given up (revoked when etcd answers again) and a new one granted.
 */
export class EtcdCoordinator implements Coordinator {
  readonly mode = 'etcd' as const
  readonly replica: string
  private readonly ttlMs: number
  private readonly guardMs: number
  private lease!: Lease
  private leaseId = ''
  private state: 'ok' | 'lost' = 'ok'
  private cause = ''
  private validUntil = 0
  private renewedAt = 0
  /** When the renewal that set validUntil was sent. */
  private sentAt = 0
  /** Aborts when this lease epoch ends; replaced at each new lease. */
  private epoch = new AbortController()
  /** Devices whose lock this replica holds in the current epoch: device -> key. */
  private readonly held = new Map<string, string>()
  private timer: NodeJS.Timeout | undefined
  private expiry: NodeJS.Timeout | undefined
  private closed = false
  private renewing = false
  private sweeping = false
  private retention: { id: string; at: number } | undefined
  private orphanHandler: ((rec: OperationRecord) => Promise<string | undefined>) | undefined
  /** For /metrics and the cluster view (src/coordination/replica-counters.ts). */
  private readonly counts = newReplicaCounters()

  private constructor(
    cfg: CoordinationConfig,
    private readonly client: Etcd3,
    private readonly ns: Namespace,
    private readonly log: Logger,
  ) {
    this.replica = cfg.replica
    this.ttlMs = cfg.etcd.leaseTtlMs
    this.guardMs = Math.max(250, this.ttlMs / 4)
  }

  /**
   * Connect and take a lease; refuses (COORDINATION_UNAVAILABLE naming every endpoint that failed,
   * and why) when etcd cannot grant one.
   */
  static async start(cfg: CoordinationConfig, log: Logger): Promise<EtcdCoordinator> {
    const client = newClient(cfg, cfg.etcd.endpoints)
    const c = new EtcdCoordinator(cfg, client, client.namespace(`${cfg.etcd.prefix}/`), log)
    try {
      await c.newLease()
    } catch (e) {
      client.close()
      const failed = await probeEndpoints(cfg)
      throw unavailable(
        `cannot get a lease from etcd (${(e as Error).message}); ` +
          (failed.length
            ? `failed endpoints: ${failed.join('; ')}`
            : `every endpoint answers a status request (${cfg.etcd.endpoints.join(', ')})`),
      )
    }
    let n = 0
    c.timer = setInterval(() => {
      void c.tick()
      // every lease period: look for operations whose replica died (their intent went with its lease)
      if (++n % 8 === 0) void c.sweep()
    }, c.ttlMs / 8)
    c.timer.unref()
    log.info({ replica: c.replica, lease: c.leaseId, endpoints: cfg.etcd.endpoints }, 'replica mode: joined')
    return c
  }

  private async newLease(): Promise<void> {
    const sent = monotonicNow()
    // a lease object per try: a grant that timed out but went through leaves a lease nobody
    // renews, which etcd drops after its ttl
    let lease!: Lease
    const id = await tries(({ deadline }) => {
      lease = this.ns.lease(this.ttlMs / 1000, { autoKeepAlive: false, deadline: deadline.getTime() })
      lease.on('lost', () => {})
      return lease.grant()
    })
    this.counts.leaseGrants++
    this.lease = lease
    this.leaseId = id
    this.epoch = new AbortController()
    this.held.clear()
    this.renewed(sent)
    this.state = 'ok'
    this.cause = ''
    const since = new Date().toISOString()
    await tries((o) =>
      this.ns
        .put(`replicas/${this.replica}`)
        .value(JSON.stringify({ replica: this.replica, lease: id, since }))
        .lease(id)
        .options(o),
    )
    // stand in the leader election (the device locks' recipe: the oldest live candidate leads)
    await tries((o) => this.ns.put(`${LEADER_DIR}${id}`).value(this.replica).lease(id).options(o))
  }

  /**
   * The replica that leads now: the candidate key with the lowest create revision among live
   * leases (`<prefix>/election/leader/<lease>`, value the replica's name). A lease that expires
   * takes its key with it, so the next oldest leads. undefined: no candidate (etcd empty).
   */
  async leader(): Promise<string | undefined> {
    const kvs = await tries((o) =>
      this.ns.getAll().prefix(LEADER_DIR).sort('Create', 'Ascend').limit(1).options(o).strings(),
    )
    return Object.values(kvs)[0]
  }

  /** This replica leads now (its lease alive and its candidate key the oldest). */
  async isLeader(): Promise<boolean> {
    if (!this.alive()) return false
    const kvs = await tries((o) =>
      this.ns.getAll().prefix(LEADER_DIR).sort('Create', 'Ascend').limit(1).options(o).keys(),
    )
    return kvs[0] === `${LEADER_DIR}${this.leaseId}` && this.alive()
  }

  private renewed(sent: number): void {
    this.sentAt = sent
    this.renewedAt = monotonicNow()
    this.validUntil = sent + this.ttlMs - this.guardMs
    if (this.expiry) clearTimeout(this.expiry)
    this.expiry = setTimeout(
      () => this.lose('the etcd lease was not renewed in time (etcd unreachable or without quorum)'),
      this.validUntil - monotonicNow(),
    )
    this.expiry.unref()
  }

  private lose(cause: string): void {
    if (this.state === 'lost' || this.closed) return
    this.counts.leaseLosses++
    this.state = 'lost'
    this.cause = cause
    this.held.clear()
    this.log.warn(
      { replica: this.replica, lease: this.leaseId, cause },
      'replica lost its lease: stops driving devices',
    )
    this.epoch.abort(unavailable(cause))
  }

  private async tick(): Promise<void> {
    if (this.closed) return
    if (this.state === 'ok') {
      // renewals may overlap (a slow one does not hold up the next); each counts from when it was sent
      const sent = monotonicNow()
      const lease = this.lease
      try {
        const r = await tries((o) => lease.keepaliveOnce(o))
        if (this.state !== 'ok' || lease !== this.lease) return
        if (r.TTL === '0' || Number(r.TTL) <= 0) this.lose("etcd says this replica's lease has expired")
        else {
          this.counts.leaseRenewals++
          if (sent > this.sentAt) this.renewed(sent)
        }
      } catch (e) {
        this.counts.leaseRenewalFailures++
        this.log.warn({ err: (e as Error).message }, 'etcd lease renewal failed')
      }
      return
    }
    if (this.renewing) return
    this.renewing = true
    try {
      // a new lease once etcd answers again; the old one is revoked so its locks go at once
      const old = this.lease
      await old.revoke({ deadline: Date.now() + CALL_MS }).catch(() => {})
      await this.newLease()
      this.log.info(
        { replica: this.replica, lease: this.leaseId },
        'replica has a lease again: drives devices',
      )
    } catch (e) {
      this.cause = `${this.cause.split(' (last try:')[0]} (last try: ${(e as Error).message})`
    } finally {
      this.renewing = false
    }
  }

  private alive(): boolean {
    return this.state === 'ok' && !this.closed && monotonicNow() < this.validUntil
  }

  checkAvailable(): void {
    if (this.closed) throw unavailable('the replica is shutting down')
    if (!this.alive()) throw unavailable(this.cause || 'the etcd lease is not alive')
  }

  async acquire(device: string, signal: AbortSignal): Promise<AbortSignal | undefined> {
    this.checkAvailable()
    const epoch = this.epoch
    if (this.held.has(device)) return epoch.signal
    const dir = `locks/${device}/`
    // a key of its own per attempt: an aborted attempt's delete (sent in the background) must
    // never remove the key of a later attempt on the same lease (it would hold a lock etcd lost)
    const key = `${dir}${this.leaseId}/${++lockAttempts}`
    const leaseId = this.leaseId
    const give = () => this.dropKey(key)
    // queued behind another replica since (0: not yet); the lock then moves here from it
    let waitedFrom = 0
    const waited = () => {
      if (waitedFrom) this.counts.lockWaitMs += monotonicNow() - waitedFrom
    }
    try {
      // sent again when a try fails: the key is this attempt's own, a second put changes nothing
      await tries((o) =>
        this.ns
          .if(key, 'Create', '==', 0)
          .then(this.ns.put(key).value(this.replica).lease(leaseId))
          .options(o)
          .commit(),
      )
      for (;;) {
        if (signal.aborted) throw abortError(signal)
        if (epoch.signal.aborted) throw epoch.signal.reason
        const first = await tries((o) =>
          this.ns.getAll().prefix(dir).sort('Create', 'Ascend').limit(1).options(o).keys(),
        )
        if (first[0] === key) break
        if (!waitedFrom) {
          waitedFrom = monotonicNow()
          this.counts.lockWaits++
        }
        await sleep(LOCK_POLL_MS, AbortSignal.any([signal, epoch.signal]))
      }
      // the lease may have run out while we waited: never drive a device on a lock etcd may have dropped
      this.checkAvailable()
      if (epoch.signal.aborted) throw epoch.signal.reason
      this.held.set(device, key)
      this.counts.lockAcquisitions++
      if (waitedFrom) this.counts.lockMoves++
      waited()
      return epoch.signal
    } catch (e) {
      waited()
      void give()
      if (epoch.signal.aborted) throw epoch.signal.reason
      if (signal.aborted) throw abortError(signal)
      if ((e as { code?: string }).code === 'COORDINATION_UNAVAILABLE') throw e
      throw unavailable(`etcd: taking the lock of ${device} failed: ${(e as Error).message}`)
    }
  }

  async release(device: string, idle: boolean, closeSessions: () => Promise<void>): Promise<void> {
    const key = this.held.get(device)
    if (!key) {
      // the lease was lost while holding it (and maybe a new one taken since): end our sessions anyway
      await closeSessions().catch(() => {})
      return
    }
    let others = 0
    if (!idle)
      others = await this.ns
        .getAll()
        .prefix(`locks/${device}/`)
        .options({ deadline: Date.now() + CALL_MS })
        .count()
        .catch(() => 2)
    if (!idle && others <= 1) return
    // others wait (or nothing is left here): hand the device on, sessions closed first
    this.held.delete(device)
    await closeSessions().catch(() => {})
    await this.dropKey(key)
  }

  holds(device: string): boolean {
    return this.held.has(device)
  }

  view(): ClusterView {
    return {
      mode: 'etcd',
      replica: this.replica,
      state: this.alive() ? 'ok' : 'lost',
      ...(this.alive() ? {} : { cause: this.cause || 'the etcd lease is not alive' }),
      holding: [...this.held.keys()].sort(),
      leaseAgeMs: Math.round(monotonicNow() - this.renewedAt),
      counters: { ...this.counts, lockWaitMs: Math.round(this.counts.lockWaitMs) },
    }
  }

  // ---- operation records --------------------------------------------------------------------
  //   ops/<id>      the operation (JSON OperationRecord), kept a day (retention lease)
  //   running/<id>  it runs (no lease: survives its replica)
  //   intents/<id>  it runs *and its replica is alive* (the replica's lease)
  //   history/<startedAt>/<id>  the cluster's history index (etcd-history.ts), kept a day
  // running without intents = its replica died mid-operation: outcome unknown, a fence runs again.

  private deadline(): { deadline: Date } {
    return { deadline: new Date(Date.now() + CALL_MS) }
  }

  private async retentionLease(): Promise<string> {
    const now = monotonicNow()
    if (this.retention && now - this.retention.at < RETENTION_ROTATE_MS) return this.retention.id
    let lease!: Lease
    const id = await tries(({ deadline }) => {
      lease = this.ns.lease(RETENTION_S, { autoKeepAlive: false, deadline: deadline.getTime() })
      lease.on('lost', () => {})
      return lease.grant()
    })
    lease.release()
    this.retention = { id, at: now }
    return id
  }

  async recordIntent(op: Operation): Promise<void> {
    this.checkAvailable()
    const rec: OperationRecord = { op, replica: this.replica }
    try {
      const keep = await this.retentionLease()
      // sent again when a try fails: a second run finds running/<id> and changes nothing
      await tries((o) =>
        this.ns
          .if(`running/${op.id}`, 'Create', '==', 0)
          .then(
            this.ns.put(`ops/${op.id}`).value(JSON.stringify(rec)).lease(keep),
            this.ns.put(`running/${op.id}`).value(this.replica).lease(keep),
            this.ns.put(`intents/${op.id}`).value(this.replica).lease(this.leaseId),
            // the cluster's history, in start-time order (src/coordination/etcd-history.ts)
            this.ns.put(historyKey(op)).value(op.id).lease(keep),
          )
          .options(o)
          .commit(),
      )
    } catch (e) {
      throw unavailable(`etcd: the operation's intent could not be recorded: ${(e as Error).message}`)
    }
  }

  async recordResult(op: Operation): Promise<void> {
    const rec: OperationRecord = { op, replica: this.replica }
    for (let i = 0; ; i++) {
      try {
        const keep = await this.retentionLease()
        // only while it still counts as ours: a sweeper that found it orphaned has the last word
        await this.ns
          .if(`running/${op.id}`, 'Version', '>', 0)
          .then(
            this.ns.put(`ops/${op.id}`).value(JSON.stringify(rec)).lease(keep),
            this.ns.delete().key(`running/${op.id}`),
            this.ns.delete().key(`intents/${op.id}`),
          )
          .options(this.deadline())
          .commit()
        return
      } catch (e) {
        if (i >= 4 || this.closed) {
          this.log.warn(
            { op: op.id, err: (e as Error).message },
            'etcd: the result record could not be written',
          )
          return
        }
        await sleep(250)
      }
    }
  }

  async findOperation(id: string): Promise<OperationRecord | undefined> {
    const [raw, running, intent] = await Promise.all([
      tries((o) => this.ns.get(`ops/${id}`).options(o).string()),
      tries((o) => this.ns.get(`running/${id}`).options(o).string()),
      tries((o) => this.ns.get(`intents/${id}`).options(o).string()),
    ]).catch((e) => {
      throw unavailable(`etcd: reading operation ${id} failed: ${(e as Error).message}`)
    })
    if (!raw) return undefined
    const rec = JSON.parse(raw) as OperationRecord
    // its replica died and no sweeper has come by yet: unknown all the same
    if (rec.op.status === 'running' && running && !intent) return orphan(rec)
    return rec
  }

  onOrphanFence(handler: (rec: OperationRecord) => Promise<string | undefined>): void {
    this.orphanHandler = handler
  }

  /** Claim every operation whose replica died (one replica wins each, by a transaction). */
  private async sweep(): Promise<void> {
    if (this.sweeping || !this.alive()) return
    this.sweeping = true
    this.counts.orphanSweeps++
    try {
      const [running, intents] = await Promise.all([
        tries((o) => this.ns.getAll().prefix('running/').options(o).keys()),
        tries((o) => this.ns.getAll().prefix('intents/').options(o).keys()),
      ])
      const alive = new Set(intents.map((k) => k.slice('intents/'.length)))
      for (const k of running) {
        const id = k.slice('running/'.length)
        if (alive.has(id)) continue
        const claimed = await this.ns
          .if(`running/${id}`, 'Version', '>', 0)
          .and(`intents/${id}`, 'Create', '==', 0)
          .then(this.ns.delete().key(`running/${id}`))
          .options(this.deadline())
          .commit()
        if (!claimed.succeeded) continue
        this.counts.orphansClaimed++
        const raw = await tries((o) => this.ns.get(`ops/${id}`).options(o).string())
        if (!raw) continue
        const rec = orphan(JSON.parse(raw) as OperationRecord)
        this.log.warn(
          { op: id, replica: rec.replica, kind: rec.op.kind, nodes: rec.op.nodes },
          'a replica died mid-operation: outcome unknown',
        )
        const keep = await this.retentionLease()
        await this.ns.put(`ops/${id}`).value(JSON.stringify(rec)).lease(keep).options(this.deadline())
        if (rec.op.kind === 'fence' && this.orphanHandler) {
          // fencing is idempotent (it reads the state first): run it again here
          const again = await this.orphanHandler(rec).catch(() => undefined)
          if (again) {
            this.counts.fenceReruns++
            rec.rerunAs = again
            for (const r of rec.op.results)
              if (r.error) r.error.message += `; fence run again by replica ${this.replica} as ${again}`
            await this.ns.put(`ops/${id}`).value(JSON.stringify(rec)).lease(keep).options(this.deadline())
          }
        }
      }
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, 'etcd: looking for orphaned operations failed')
    } finally {
      this.sweeping = false
    }
  }

  // ---- fence holds across replicas: holds/<node> = { op, until (epoch ms) } -----------------

  async holdNode(node: string, op: string, ms: number): Promise<void> {
    try {
      const keep = await this.retentionLease()
      const hold = JSON.stringify({ op, replica: this.replica, until: Date.now() + ms })
      await tries((o) => this.ns.put(`holds/${node}`).value(hold).lease(keep).options(o))
    } catch (e) {
      throw unavailable(`etcd: the fence hold of ${node} could not be recorded: ${(e as Error).message}`)
    }
  }

  async checkNodeHold(node: string, action: 'on' | 'off' | 'cycle', role: string): Promise<void> {
    let raw: string | null
    try {
      raw = await tries((o) => this.ns.get(`holds/${node}`).options(o).string())
    } catch (e) {
      throw unavailable(`etcd: the fence hold of ${node} could not be read: ${(e as Error).message}`)
    }
    if (!raw) return
    const h = JSON.parse(raw) as { op: string; replica: string; until: number }
    if (Date.now() >= h.until) return
    const running = await tries((o) => this.ns.get(`running/${h.op}`).options(o).string()).catch(() => 'yes')
    if (running)
      throw new FenceError(
        'PREEMPTED',
        `pre-empted by fence ${h.op} (replica ${h.replica}): ${action} of ${node} not issued`,
        {
          fence: h.op,
        },
      )
    if (action !== 'off' && role !== 'fencer')
      throw new FenceError(
        'FENCE_HOLD',
        `node ${node} was fenced (fence ${h.op} on replica ${h.replica}): ${action} refused for another ${Math.ceil((h.until - Date.now()) / 1000)}s (fenceHold)`,
      )
  }

  async fenceElsewhere(node: string): Promise<RemoteFence | undefined> {
    try {
      const raw = await tries((o) => this.ns.get(`holds/${node}`).options(o).string())
      if (!raw) return undefined
      const h = JSON.parse(raw) as { op: string; replica: string; until: number }
      if (h.replica === this.replica || Date.now() >= h.until) return undefined
      // it runs (running/) and its replica is alive (intents/, bound to that replica's lease)
      const [intent, rec] = await Promise.all([
        tries((o) => this.ns.get(`intents/${h.op}`).options(o).string()),
        tries((o) => this.ns.get(`ops/${h.op}`).options(o).string()),
      ])
      if (!intent || !rec) return undefined
      const { op } = JSON.parse(rec) as OperationRecord
      if (op.kind !== 'fence' || op.status !== 'running') return undefined
      return { op: op.id, action: op.action as FenceAction, replica: h.replica }
    } catch (e) {
      throw unavailable(`etcd: a fence of ${node} elsewhere could not be looked for: ${(e as Error).message}`)
    }
  }

  async awaitOperation(id: string, signal: AbortSignal): Promise<OperationRecord> {
    for (let want = id; ; ) {
      if (signal.aborted) throw abortError(signal)
      const rec = await this.findOperation(want)
      if (!rec) throw new FenceError('NOT_FOUND', `operation ${want} is not in the cluster's records`)
      if (rec.orphaned && rec.rerunAs) want = rec.rerunAs
      else if (rec.orphaned || rec.op.status !== 'running') return rec
      await sleep(AWAIT_POLL_MS, signal)
    }
  }

  // ---- Idempotency-Keys across replicas ----------------------------------------------------

  private static idemKey(scope: string, key: string): string {
    return `idem/${createHash('sha256').update(`${scope}\u0000${key}`).digest('hex')}`
  }

  async claimKey(scope: string, key: string, fingerprint: string): Promise<KeyClaim> {
    const k = EtcdCoordinator.idemKey(scope, key)
    try {
      const keep = await this.retentionLease()
      const r = await this.ns
        .if(k, 'Create', '==', 0)
        .then(
          this.ns
            .put(k)
            .value(JSON.stringify({ fingerprint, replica: this.replica }))
            .lease(keep),
        )
        .else(this.ns.get(k))
        .options(this.deadline())
        .commit()
      if (r.succeeded) return { claimed: true }
      const kv = r.responses[0]?.response_range?.kvs[0]
      if (!kv) return this.claimKey(scope, key, fingerprint)
      const v = JSON.parse(kv.value.toString()) as { fingerprint: string; replica: string; op?: string }
      return { claimed: false, ...v }
    } catch (e) {
      throw unavailable(`etcd: the Idempotency-Key could not be checked: ${(e as Error).message}`)
    }
  }

  async bindKey(scope: string, key: string, op: string): Promise<void> {
    const k = EtcdCoordinator.idemKey(scope, key)
    const raw = await tries((o) => this.ns.get(k).options(o).string())
    if (!raw) return
    const keep = await this.retentionLease()
    await this.ns
      .put(k)
      .value(JSON.stringify({ ...JSON.parse(raw), op }))
      .lease(keep)
      .options(this.deadline())
  }

  async releaseKey(scope: string, key: string): Promise<void> {
    await tries((o) => this.ns.delete().key(EtcdCoordinator.idemKey(scope, key)).options(o))
  }

  /**
   * Delete a lock key; when etcd does not take it, again in the background until it does: a key
   * left behind stays first in its device's queue while this lease lives, and every replica (this
   * one too) would wait behind it for good. Returns after the first try (a release stays bounded);
   * the retries end with the lease epoch (the key goes with the lease).
   */
  private async dropKey(key: string): Promise<void> {
    const epoch = this.epoch.signal
    // warned once: the retries run every 100 ms while etcd refuses
    const once = (warn = false) =>
      tries((o) => this.ns.delete().key(key).options(o)).then(
        () => true,
        (e: Error) => {
          if (warn)
            this.log.warn({ key, err: e.message }, 'etcd: releasing a device lock failed; trying again')
          return false
        },
      )
    if (await once(true)) return
    void (async () => {
      while (!epoch.aborted && !this.closed) {
        await sleep(LOCK_POLL_MS * 5, epoch).catch(() => {})
        if (epoch.aborted || this.closed || (await once())) return
      }
    })()
  }

  /** The whole cluster as etcd has it (src/coordination/cluster-view.ts). */
  cluster(): Promise<ClusterStatus> {
    return readCluster(this.ns, { view: this.view(), lease: this.leaseId }, CALL_MS)
  }

  /** The cluster's history, from the index the intents write (src/coordination/etcd-history.ts). */
  operationPage(q: JournalHistoryQuery): Promise<HistoryEntry[]> {
    return clusterHistory(this.ns, q, CALL_MS)
  }

  // ---- heartbeat deaths across replicas (death-fence.ts) -----------------------------------

  private deathFences: DeathFences | undefined

  fenceDeath(death: Death, runner: DeathRunner): Promise<DeathOutcome> {
    this.deathFences ??= new DeathFences({
      ns: this.ns,
      replica: this.replica,
      lease: () => (this.alive() ? this.leaseId : undefined),
      keep: () => this.retentionLease(),
      isLeader: () => this.isLeader(),
      leader: () => this.leader(),
      awaitOperation: (id, signal) => this.awaitOperation(id, signal),
      // a leader that heard the death too claims it well within a lease period; one that died
      // has lost its leadership by then (its candidate key went with its lease)
      leaderWaitMs: this.ttlMs,
      log: this.log,
    })
    return this.deathFences.fence(death, runner)
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    if (this.timer) clearInterval(this.timer)
    if (this.expiry) clearTimeout(this.expiry)
    this.epoch.abort(unavailable('the replica is shutting down'))
    await this.lease?.revoke({ deadline: Date.now() + CALL_MS }).catch(() => {})
    this.client.close()
  }
}

/** The operation of a replica that died mid-way: failed with REPLICA_LOST, every node's state unknown. */
function orphan(rec: OperationRecord): OperationRecord {
  const op = rec.op
  const message = `outcome unknown: replica ${rec.replica} died during the operation`
  const results = op.nodes.map((node) => {
    const had = op.results.find((r) => r.node === node)
    return had && had.outcome !== 'failed'
      ? had
      : {
          node,
          action: op.action === 'status' ? ('off' as const) : op.action,
          outcome: 'failed' as const,
          state: 'unknown' as const,
          error: { code: 'REPLICA_LOST' as const, message },
          attempts: had?.attempts ?? [],
          durationMs: 0,
        }
  })
  return {
    ...rec,
    orphaned: true,
    op: { ...op, status: 'failed', finishedAt: op.finishedAt ?? new Date().toISOString(), results },
  }
}
