/**
 * Replica metrics (`fencegate_replica_*`) on the API's registry, only in replica mode: the lease,
 * device locks and failovers, copied from the coordinator's own view at each scrape (no etcd
 * call: a scrape must answer when etcd does not). fencegate moves device locks between replicas
 * instead of forwarding requests, so "forwarding" is counted as lock moves.
 */
import { Counter, Gauge, type Registry } from 'prom-client'
import type { ClusterView, Coordinator } from './coordinator.js'
import type { ReplicaCounters } from './replica-counters.js'

const COUNTERS: [name: string, help: string, pick: (c: ReplicaCounters) => number][] = [
  [
    'lease_grants_total',
    'Leases granted to this replica (at start, then after each loss)',
    (c) => c.leaseGrants,
  ],
  ['lease_renewals_total', 'Lease renewals etcd acknowledged', (c) => c.leaseRenewals],
  ['lease_renewal_failures_total', 'Lease renewals that failed or timed out', (c) => c.leaseRenewalFailures],
  [
    'lease_losses_total',
    'Times the lease was lost (the replica stopped driving devices)',
    (c) => c.leaseLosses,
  ],
  ['lock_acquisitions_total', 'Device locks taken', (c) => c.lockAcquisitions],
  [
    'lock_waits_total',
    'Device lock requests that found another replica ahead in the queue',
    (c) => c.lockWaits,
  ],
  [
    'lock_wait_seconds_total',
    'Time spent queued behind other replicas for device locks',
    (c) => c.lockWaitMs / 1000,
  ],
  [
    'lock_moves_total',
    'Device locks taken over from another replica (fencegate moves locks instead of forwarding requests)',
    (c) => c.lockMoves,
  ],
  ['orphan_sweeps_total', 'Sweeps for operations whose replica died', (c) => c.orphanSweeps],
  [
    'orphans_claimed_total',
    'Operations of dead replicas this replica claimed and recorded as REPLICA_LOST (failovers)',
    (c) => c.orphansClaimed,
  ],
  ['fence_reruns_total', 'Fences of dead replicas run again by this replica', (c) => c.fenceReruns],
]

export function replicaMetrics(registry: Registry, coordinator: Pick<Coordinator, 'view'>): void {
  const registers = [registry]
  // every collect() of one scrape reads one view
  let cached: { at: number; view: ClusterView } | undefined
  const view = () => {
    const now = Date.now()
    if (!cached || now - cached.at > 250) cached = { at: now, view: coordinator.view() }
    return cached.view
  }
  const gauge = (name: string, help: string, value: (v: ClusterView) => number | undefined) =>
    new Gauge({
      name: `fencegate_replica_${name}`,
      help,
      registers,
      collect() {
        this.reset()
        const x = value(view())
        if (x !== undefined) this.set(x)
      },
    })
  gauge('lease_up', '1 while this replica holds a live lease (may drive devices), 0 when it lost it', (v) =>
    v.state === 'ok' ? 1 : 0,
  )
  gauge('lease_age_seconds', 'Time since etcd last acknowledged a renewal of the lease', (v) =>
    v.leaseAgeMs === undefined ? undefined : v.leaseAgeMs / 1000,
  )
  gauge('locks_held', 'Device locks this replica holds now', (v) => v.holding.length)
  for (const [name, help, pick] of COUNTERS)
    new Counter({
      name: `fencegate_replica_${name}`,
      help,
      registers,
      collect() {
        this.reset()
        const c = view().counters
        if (c) this.inc(pick(c))
      },
    })
}
