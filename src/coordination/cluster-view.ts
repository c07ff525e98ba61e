/**
 * The whole cluster as etcd has it, for GET /v1/cluster and `fencegate cluster`: every live
 * replica with its lease, the leader, and for each device the replica holding its lock and the
 * replicas queued for it, in the order they will get it.
 *
 * Read-only, from keys the replicas keep anyway (etcd.ts writes them):
 *   replicas/<name>            {replica, lease, since}, bound to the replica's lease
 *   election/leader/<lease>    the replica's name; the oldest key leads
 *   locks/<device>/<lease>/<n> the replica's name; the oldest key holds the device
 * all read at one etcd revision (one consistent picture), plus one lease TimeToLive query per
 * replica. Lease ages come from etcd's TimeToLive rather than a heartbeat timestamp each replica
 * would write: such a write on every renewal is an fsync on every etcd member several times a
 * second per replica, and its age would depend on the replicas' clocks agreeing. etcd's figure is
 * the one etcd acts on (at 0 the replica's locks go), at the price of whole seconds.
 */
import type { Namespace } from 'etcd3'
import { unavailable } from './coordinator.js'
import type { ClusterView } from './coordinator.js'
import { tries } from './etcd-client.js'

/** One live replica (a live lease: a replica that lost its lease and took a new one shows once per lease until the old one expires). */
export interface ReplicaStatus {
  name: string
  /** etcd lease id (decimal); absent in single mode. */
  lease?: string
  /** The replica that answered. */
  self: boolean
  leader: boolean
  /** When it took this lease, by its own clock (ISO 8601). */
  since?: string
  /** The lease's time to live as granted, seconds. */
  ttlS?: number
  /** What etcd says is left of the lease, whole seconds (it expires in under remainingS + 1 s). */
  remainingS?: number
  /**
   * ms since the lease was last renewed: for the replica that answered its own exact figure; for
   * the others an upper bound, (ttlS - remainingS) s (etcd truncates what is left to whole
   * seconds, so with a 2 s TTL a replica renewed 100 ms ago shows 1 s).
   */
  leaseAgeMs?: number
  /** Devices whose lock it holds. */
  holding: string[]
  /** Devices it is queued for (behind the holder). */
  waiting: string[]
}

/** A device whose lock some replica holds or waits for (a device nobody asked for is not listed). */
export interface DeviceLockStatus {
  device: string
  /** The replica holding the lock (the oldest key in the device's queue). */
  holder: string
  /** Replicas queued for it, in the order they will get it. */
  waiting: string[]
}

/** The cluster as one replica reads it from etcd (or the one gateway, in single mode). */
export interface ClusterStatus {
  mode: 'single' | 'etcd'
  /** The replica that answered. */
  replica: string
  /** The replica that leads (the oldest live candidate); undefined: none (etcd is empty). */
  leader?: string
  /** Live replicas, oldest lease first: the order in which they would lead. */
  replicas: ReplicaStatus[]
  /** Devices held or waited for, by name. */
  devices: DeviceLockStatus[]
  /** The answering replica's own view: its lease state, what it holds, its counters. */
  self: ClusterView
  /** The etcd revision the picture was read at (etcd mode). */
  revision?: string
}

const REPLICAS = 'replicas/'
const LEADER = 'election/leader/'
const LOCKS = 'locks/'

/** One gateway: it alone, leading itself, holding nothing (no device locks without replicas). */
export function singleCluster(view: ClusterView): ClusterStatus {
  return {
    mode: 'single',
    replica: view.replica,
    leader: view.replica,
    replicas: [{ name: view.replica, self: true, leader: true, holding: [], waiting: [] }],
    devices: [],
    self: view,
  }
}

/**
 * Read the cluster. `self`: the answering replica's view and its current lease id. Throws
 * COORDINATION_UNAVAILABLE naming the cause when etcd does not answer within `callMs`.
 */
export async function readCluster(
  ns: Namespace,
  self: { view: ClusterView; lease: string },
  callMs: number,
): Promise<ClusterStatus> {
  try {
    const first = await tries((o) => ns.getAll().prefix(REPLICAS).options(o).exec(), callMs)
    const revision = first.header.revision
    const [leaders, locks] = await Promise.all([
      tries(
        (o) => ns.getAll().prefix(LEADER).sort('Create', 'Ascend').revision(revision).options(o).exec(),
        callMs,
      ),
      tries(
        (o) => ns.getAll().prefix(LOCKS).sort('Create', 'Ascend').revision(revision).options(o).exec(),
        callMs,
      ),
    ])

    // every live lease, oldest candidate first; a replica between its two puts has only its record
    const byLease = new Map<string, ReplicaStatus>()
    const entry = (lease: string, name: string) => {
      let r = byLease.get(lease)
      if (!r) {
        r = { name, lease, self: lease === self.lease, leader: false, holding: [], waiting: [] }
        byLease.set(lease, r)
      }
      return r
    }
    for (const kv of leaders.kvs) entry(kv.key.toString().slice(LEADER.length), kv.value.toString())
    for (const kv of first.kvs) {
      const rec = parseRecord(kv.value.toString())
      if (rec) entry(rec.lease, rec.replica).since = rec.since
    }

    const devices = new Map<string, DeviceLockStatus>()
    for (const kv of locks.kvs) {
      // locks/<device>/<lease>/<attempt> (a key of its own per acquire attempt, etcd.ts)
      const parts = kv.key.toString().slice(LOCKS.length).split('/')
      if (parts.length < 3) continue
      const lease = parts[parts.length - 2]!
      const device = parts.slice(0, -2).join('/')
      const name = kv.value.toString()
      const d = devices.get(device)
      const r = entry(lease, name)
      if (!d) {
        devices.set(device, { device, holder: name, waiting: [] })
        r.holding.push(device)
      } else {
        d.waiting.push(name)
        r.waiting.push(device)
      }
    }

    // what etcd says is left of each lease (a lease gone since the read is left out: it expired)
    const replicas = (
      await Promise.all(
        [...byLease.values()].map(async (r) => {
          const ttl = await tries((o) => ns.leaseClient.leaseTimeToLive({ ID: r.lease! }, o), callMs)
          const remaining = Number(ttl.TTL)
          if (remaining < 0) return undefined
          r.ttlS = Number(ttl.grantedTTL)
          r.remainingS = remaining
          r.leaseAgeMs =
            r.self && self.view.leaseAgeMs !== undefined ? self.view.leaseAgeMs : (r.ttlS - remaining) * 1000
          r.holding.sort()
          r.waiting.sort()
          return r
        }),
      )
    ).filter((r): r is ReplicaStatus => r !== undefined)

    // the oldest candidate whose lease is live: etcd revokes an expired lease (and deletes its
    // keys) up to half a second after it ran out, and the view must not name a leader it has
    // already left out of its replicas
    const live = new Set(replicas.map((r) => r.lease))
    const oldest = leaders.kvs.find((kv) => live.has(kv.key.toString().slice(LEADER.length)))
    const leader = oldest?.value.toString()
    if (oldest) byLease.get(oldest.key.toString().slice(LEADER.length))!.leader = true

    return {
      mode: 'etcd',
      replica: self.view.replica,
      ...(leader !== undefined ? { leader } : {}),
      replicas,
      devices: [...devices.values()].sort((a, b) => a.device.localeCompare(b.device)),
      self: self.view,
      revision,
    }
  } catch (e) {
    throw unavailable(`etcd: the cluster view could not be read: ${(e as Error).message}`)
  }
}

function parseRecord(raw: string): { replica: string; lease: string; since?: string } | undefined {
  try {
    const v = JSON.parse(raw) as { replica?: unknown; lease?: unknown; since?: unknown }
    if (typeof v.replica !== 'string' || typeof v.lease !== 'string') return undefined
    return { replica: v.replica, lease: v.lease, ...(typeof v.since === 'string' ? { since: v.since } : {}) }
  } catch {
    return undefined
  }
}
