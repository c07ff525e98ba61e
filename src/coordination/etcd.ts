import { readFileSync } from 'node:fs'
import etcd3 from 'etcd3'
import type { CoordinationConfig } from '../config/coordination.js'
import { monotonicNow, sleep } from '../core/deadline.js'
import { abortError } from '../core/errors.js'
import type { ClusterView, Coordinator } from './coordinator.js'
import { unavailable } from './coordinator.js'

type Etcd3 = InstanceType<typeof etcd3.Etcd3>
type Namespace = ReturnType<Etcd3['namespace']>
type Lease = ReturnType<Etcd3['lease']>

/** How often a lock waiter looks again whether its turn has come (loopback etcd answers in ~1 ms). */
const LOCK_POLL_MS = 20
/** Longest a single etcd request may take before it counts as failed. */
const CALL_MS = 1000

interface Logger {
  info(obj: object, msg?: string): void
  warn(obj: object, msg?: string): void
}

/**
 * Replica mode: device locks in etcd, bound to this replica's lease (etcd's own lock recipe, as
 * clientv3/concurrency's Mutex does it: a key `locks/<device>/<lease>` put with the lease, and the
 * key with the lowest create revision holds the lock — waiters queue in arrival order).
 *
 * The lease is kept alive by this replica (keepaliveOnce every ttl/4). It counts as alive only
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
  /** Aborts when this lease epoch ends; replaced at each new lease. */
  private epoch = new AbortController()
  /** Devices whose lock this replica holds in the current epoch: device -> key. */
  private readonly held = new Map<string, string>()
  private timer: NodeJS.Timeout | undefined
  private expiry: NodeJS.Timeout | undefined
  private closed = false
  private renewing = false

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
    c.timer = setInterval(() => void c.tick(), c.ttlMs / 4)
    c.timer.unref()
    log.info({ replica: c.replica, lease: c.leaseId, endpoints: cfg.etcd.endpoints }, 'replica mode: joined')
    return c
  }

  private async newLease(): Promise<void> {
    const sent = monotonicNow()
    const lease = this.ns.lease(this.ttlMs / 1000, { autoKeepAlive: false, deadline: Date.now() + CALL_MS })
    lease.on('lost', () => {})
    const id = await lease.grant()
    this.lease = lease
    this.leaseId = id
    this.epoch = new AbortController()
    this.held.clear()
    this.renewed(sent)
    this.state = 'ok'
    this.cause = ''
    await this.ns
      .put(`replicas/${this.replica}`)
      .value(JSON.stringify({ replica: this.replica, lease: id, since: new Date().toISOString() }))
      .lease(id)
      .options({ deadline: Date.now() + CALL_MS })
  }

  private renewed(sent: number): void {
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
    if (this.renewing || this.closed) return
    this.renewing = true
    try {
      if (this.state === 'ok') {
        const sent = monotonicNow()
        try {
          const r = await this.lease.keepaliveOnce({ deadline: Date.now() + CALL_MS })
          if (this.state !== 'ok') return
          if (r.TTL === '0' || Number(r.TTL) <= 0) this.lose("etcd says this replica's lease has expired")
          else this.renewed(sent)
        } catch (e) {
          this.log.warn({ err: (e as Error).message }, 'etcd lease renewal failed')
        }
      } else {
        // a new lease once etcd answers again; the old one is revoked so its locks go at once
        const old = this.lease
        await old.revoke({ deadline: Date.now() + CALL_MS }).catch(() => {})
        await this.newLease()
        this.log.info(
          { replica: this.replica, lease: this.leaseId },
          'replica has a lease again: drives devices',
        )
      }
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
    const key = `${dir}${this.leaseId}`
    const leaseId = this.leaseId
    const give = () =>
      this.ns
        .delete()
        .key(key)
        .options({ deadline: Date.now() + CALL_MS })
        .catch(() => {})
    try {
      await this.ns
        .if(key, 'Create', '==', 0)
        .then(this.ns.put(key).value(this.replica).lease(leaseId))
        .options({ deadline: Date.now() + CALL_MS })
        .commit()
      for (;;) {
        if (signal.aborted) throw abortError(signal)
        if (epoch.signal.aborted) throw epoch.signal.reason
        const first = await this.ns
          .getAll()
          .prefix(dir)
          .sort('Create', 'Ascend')
          .limit(1)
          .options({ deadline: Date.now() + CALL_MS })
          .keys()
        if (first[0] === key) break
        await sleep(LOCK_POLL_MS, AbortSignal.any([signal, epoch.signal]))
      }
      // the lease may have run out while we waited: never drive a device on a lock etcd may have dropped
      this.checkAvailable()
      if (epoch.signal.aborted) throw epoch.signal.reason
      this.held.set(device, key)
      return epoch.signal
    } catch (e) {
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
      // the lease was lost while holding it (or never taken): still end our sessions with the device
      if (this.state === 'lost') await closeSessions().catch(() => {})
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
    await this.ns
      .delete()
      .key(key)
      .options({ deadline: Date.now() + CALL_MS })
      .catch((e) =>
        this.log.warn(
          { device, err: (e as Error).message },
          'etcd: releasing a device lock failed (it goes with the lease)',
        ),
      )
  }

  view(): ClusterView {
    return {
      mode: 'etcd',
      replica: this.replica,
      state: this.alive() ? 'ok' : 'lost',
      ...(this.alive() ? {} : { cause: this.cause || 'the etcd lease is not alive' }),
      holding: [...this.held.keys()].sort(),
      leaseAgeMs: Math.round(monotonicNow() - this.renewedAt),
    }
  }

  /** The etcd namespace (other parts of replica mode keep their records there). */
  get keys(): Namespace {
    return this.ns
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

function newClient(cfg: CoordinationConfig, hosts: string[]): Etcd3 {
  const tls = cfg.etcd.tls
  return new etcd3.Etcd3({
    hosts,
    dialTimeout: CALL_MS,
    ...(tls
      ? {
          credentials: {
            rootCertificate: readFileSync(tls.caFile),
            ...(tls.keyFile ? { privateKey: readFileSync(tls.keyFile) } : {}),
            ...(tls.certFile ? { certChain: readFileSync(tls.certFile) } : {}),
          },
        }
      : {}),
  })
}

/** Each endpoint on its own: the ones that do not answer a status request, and why. */
async function probeEndpoints(cfg: CoordinationConfig): Promise<string[]> {
  const out: string[] = []
  await Promise.all(
    cfg.etcd.endpoints.map(async (ep) => {
      const c = newClient(cfg, [ep])
      try {
        await c.maintenance.status({ deadline: Date.now() + CALL_MS })
      } catch (e) {
        out.push(`${ep}: ${(e as Error).message}`)
      } finally {
        c.close()
      }
    }),
  )
  return out
}
