/**
 * What a replica counts of its own coordination (replica mode), since it started. Plain numbers
 * the etcd coordinator bumps where things happen; /metrics copies them as `fencegate_replica_*`
 * at each scrape (src/coordination/metrics.ts), and GET /v1/cluster shows them in `self`.
 */
export interface ReplicaCounters {
  /** Leases granted: the first at start, then one each time etcd answers again after a loss. */
  leaseGrants: number
  /** Lease renewals (keep-alives) etcd acknowledged. */
  leaseRenewals: number
  /** Lease renewals that failed (no answer within the call bound, an etcd error). */
  leaseRenewalFailures: number
  /** Times the lease was lost: the replica stopped driving devices and aborted its calls. */
  leaseLosses: number
  /** Device locks taken (a device round that found the lock already here does not count). */
  lockAcquisitions: number
  /** Lock requests that found another replica ahead of this one in the device's queue. */
  lockWaits: number
  /** Time spent queued behind other replicas for device locks, ms. */
  lockWaitMs: number
  /**
   * Locks taken after waiting behind another replica: the device moved from that replica to
   * this one. fencegate moves locks instead of forwarding requests, so this is the figure a
   * forwarding design would count as forwarded requests.
   */
  lockMoves: number
  /** Sweeps for operations whose replica died (one every lease period while the lease is alive). */
  orphanSweeps: number
  /** Operations of dead replicas this replica claimed and recorded as REPLICA_LOST (failovers). */
  orphansClaimed: number
  /** Fences of dead replicas run again here (a failover of a fence). */
  fenceReruns: number
}

export function newReplicaCounters(): ReplicaCounters {
  return {
    leaseGrants: 0,
    leaseRenewals: 0,
    leaseRenewalFailures: 0,
    leaseLosses: 0,
    lockAcquisitions: 0,
    lockWaits: 0,
    lockWaitMs: 0,
    lockMoves: 0,
    orphanSweeps: 0,
    orphansClaimed: 0,
    fenceReruns: 0,
  }
}
