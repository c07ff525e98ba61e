/**
 * `fencegate cluster`: the replicas of a running gateway as etcd has them (GET /v1/cluster) —
 * replicas and their leases, the leader, which replica holds (or waits for) which device — as a
 * table for people or JSON for scripts. Exit 0 when the cluster was read and the answering
 * replica holds its lease; 1 when its lease is lost, etcd cannot be read (what the replica knows
 * of itself is still printed) or the gateway cannot be reached; 2 on a bad command line.
 */
import { formatDuration } from '../../../core/duration.js'
import type { ClusterStatus, ReplicaStatus } from '../../coordination/cluster-view.js'
import type { ClusterView } from '../../coordination/coordinator.js'
import { asCliError } from '../common.js'
import { json, table } from '../format.js'
import { type CliIo, EXIT } from '../io.js'
import { resolveToken, resolveUrl, tokenSource } from '../settings.js'

export interface ClusterOptions {
  url?: string
  tokenFile?: string
  json?: boolean
}

/** etcdctl shows lease ids in hex: the same here, so `etcdctl lease timetolive ID` finds it. */
function hexLease(id: string | undefined): string {
  if (!id) return '-'
  try {
    return BigInt(id).toString(16)
  } catch {
    return id
  }
}

/** Exact for the answering replica; for the others etcd's whole seconds give an upper bound. */
function renewed(r: ReplicaStatus): string {
  if (r.leaseAgeMs === undefined) return '-'
  if (r.self) return `${formatDuration(r.leaseAgeMs)} ago`
  return r.leaseAgeMs <= 0 ? 'just now' : `≤${formatDuration(r.leaseAgeMs)} ago`
}

function replicaName(r: ReplicaStatus): string {
  const tags = [...(r.leader ? ['leader'] : []), ...(r.self ? ['this one'] : [])]
  return tags.length ? `${r.name} (${tags.join(', ')})` : r.name
}

/** One line of what the answering replica knows of itself (no etcd read behind it). */
export function selfLine(v: ClusterView): string {
  const lease =
    v.state === 'ok' ? 'lease ok' : `lease LOST${v.cause ? ` (${v.cause})` : ''}: drives no device`
  const renewed = v.leaseAgeMs !== undefined ? `, last renewed ${formatDuration(v.leaseAgeMs)} ago` : ''
  const holds = v.holding.length ? `holds ${v.holding.join(', ')}` : 'holds no device'
  const c = v.counters
  const counts = c
    ? `; renewals ${c.leaseRenewals} (${c.leaseRenewalFailures} failed), lease losses ${c.leaseLosses}, ` +
      `locks taken ${c.lockAcquisitions} (${c.lockMoves} moved here from another replica), ` +
      `orphans claimed ${c.orphansClaimed}, fences run again ${c.fenceReruns}`
    : ''
  return `this replica: ${v.replica}, ${lease}${renewed}, ${holds}${counts}\n`
}

export function clusterTable(s: ClusterStatus, now = Date.now()): string {
  if (s.mode === 'single')
    return `mode: single — one gateway (${s.replica}), no replicas, no device locks\n${selfLine(s.self)}`
  const age = (iso?: string) => {
    const t = iso ? Date.parse(iso) : Number.NaN
    return Number.isNaN(t) ? '-' : `${formatDuration(Math.max(0, now - t))} ago`
  }
  const replicas = table(
    ['REPLICA', 'LEASE', 'LEASE LEFT', 'RENEWED', 'JOINED', 'HOLDING', 'WAITING FOR'],
    s.replicas.map((r) => [
      replicaName(r),
      hexLease(r.lease),
      r.remainingS !== undefined ? `${r.remainingS}s of ${r.ttlS}s` : '-',
      renewed(r),
      age(r.since),
      r.holding.join(' ') || '-',
      r.waiting.join(' ') || '-',
    ]),
  )
  const devices = s.devices.length
    ? table(
        ['DEVICE', 'HELD BY', 'WAITING (in order)'],
        s.devices.map((d) => [d.device, d.holder, d.waiting.join(' ') || '-']),
      )
    : 'no device is held or waited for\n'
  return [
    `mode: etcd — ${s.replicas.length} live ${s.replicas.length === 1 ? 'replica' : 'replicas'}, leader ${s.leader ?? 'NONE'}, answered by ${s.replica}${s.revision ? ` (etcd revision ${s.revision})` : ''}\n`,
    replicas,
    devices,
    selfLine(s.self),
  ].join('\n')
}

export async function clusterCommand(io: CliIo, o: ClusterOptions): Promise<number> {
  const { HttpBackend, GatewayRefusal } = await import('../http-backend.js')
  const backend = new HttpBackend(
    resolveUrl(io, o.url),
    resolveToken(io, o.tokenFile),
    tokenSource(io, o.tokenFile),
  )
  try {
    const answer = await backend.cluster(io.stop)
    io.stdout.write(o.json ? json(answer) : clusterTable(answer))
    return answer.self.state === 'ok' ? EXIT.ok : EXIT.failed
  } catch (e) {
    // etcd could not be read: what the replica knows of itself, then why (stderr, exit 1)
    const body = e instanceof GatewayRefusal ? e.body : undefined
    const self = body?.self as ClusterView | undefined
    if (self) io.stdout.write(o.json ? json(body) : selfLine(self))
    throw asCliError(e)
  } finally {
    await backend.close()
  }
}
