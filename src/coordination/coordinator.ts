import { FenceError } from '../core/errors.js'

/** What one replica knows of the cluster (GET /v1/cluster, `fencegate cluster`). */
export interface ClusterView {
  mode: 'single' | 'etcd'
  replica: string
  /** ok: this replica may drive devices; lost: its lease is gone (etcd unreachable, no quorum). */
  state: 'ok' | 'lost'
  cause?: string
  /** Devices whose lock this replica holds now. */
  holding: string[]
  /** ms since the lease was last renewed (etcd mode). */
  leaseAgeMs?: number
}

/**
 * How replicas share devices. The engine asks before every device round and tells after it; the
 * embedded coordinator (one gateway, the default) says yes to everything at no cost. The etcd one
 * (src/coordination/etcd.ts) holds each device's lock in etcd, bound to the replica's lease.
 */
export interface Coordinator {
  readonly mode: 'single' | 'etcd'
  readonly replica: string
  /** Throws COORDINATION_UNAVAILABLE (HTTP 503, naming the cause) when this replica may not drive devices. */
  checkAvailable(): void
  /**
   * Inside the device's local slot, before one device round: make sure this replica holds the
   * device's lock (waiting its turn behind other replicas, within `signal`) and that its lease is
   * alive. Returns a signal that aborts, with a COORDINATION_UNAVAILABLE reason, when the lease is
   * lost — the round's driver call must be aborted then. undefined: nothing to watch (embedded).
   */
  acquire(device: string, signal: AbortSignal): Promise<AbortSignal | undefined>
  /**
   * Inside the slot, after the round has settled: keep the lock or let it go. `idle`: nothing else
   * waits for the device on this replica. `closeSessions` ends every session this replica has
   * with the device (the next holder must never find one open); it runs before the lock is released.
   */
  release(device: string, idle: boolean, closeSessions: () => Promise<void>): Promise<void>
  view(): ClusterView
  close(): Promise<void>
}

/** One gateway: today's behaviour, no extra service. */
export class EmbeddedCoordinator implements Coordinator {
  readonly mode = 'single' as const
  constructor(readonly replica = 'local') {}
  checkAvailable(): void {}
  acquire(): Promise<AbortSignal | undefined> {
    return Promise.resolve(undefined)
  }
  release(): Promise<void> {
    return Promise.resolve()
  }
  view(): ClusterView {
    return { mode: 'single', replica: this.replica, state: 'ok', holding: [] }
  }
  close(): Promise<void> {
    return Promise.resolve()
  }
}

export function unavailable(cause: string): FenceError {
  return new FenceError('COORDINATION_UNAVAILABLE', `this replica may not drive devices: ${cause}`, { cause })
}
