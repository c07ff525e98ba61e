import { FenceError } from '../../core/errors.js'
import type { FenceAction } from '../../core/types.js'
import type { Operation } from '../engine/types.js'
import { type ClusterStatus, singleCluster } from './cluster-view.js'
import type { ReplicaCounters } from './replica-counters.js'
// the cluster's history (etcd-history.ts)
import type { JournalHistoryQuery } from '../audit/journal.js'
import type { HistoryEntry } from '../engine/types.js'
import type { Death, DeathOutcome, DeathRunner } from './death.js'

/** An operation as the cluster knows it (replica mode keeps these in etcd). */
export interface OperationRecord {
  op: Operation
  /** The replica that ran it. */
  replica: string
  /** Its replica died mid-operation: the outcome is unknown (`op` says so). */
  orphaned?: boolean
  /** A fence whose replica died was run again as this operation. */
  rerunAs?: string
}

/** A fence running on another replica, as its fence hold names it. */
export interface RemoteFence {
  op: string
  action: FenceAction
  replica: string
}

/** What an Idempotency-Key names across replicas. */
export type KeyClaim =
  | { claimed: true }
  | { claimed: false; fingerprint: string; op?: string; replica: string }

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
  /** What this replica counted of its coordination since it started (etcd mode; /metrics). */
  counters?: ReplicaCounters
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
  /**
   * This replica holds the device's lock now. The runner asks when its queue for the device has
   * emptied without a round to release it (the waiting calls were aborted, or ended before their
   * round): a lock kept for them would block every other replica for as long as the lease lives.
   */
  holds(device: string): boolean
  view(): ClusterView
  close(): Promise<void>

  // ---- cluster-wide operation records (replica mode; one gateway: the journal is the record) ----

  /** After the journal's intent, before any device is touched: the cluster knows the operation runs here. */
  recordIntent(op: Operation): Promise<void>
  /** The finished operation, for any replica to answer with. */
  recordResult(op: Operation): Promise<void>
  /** An operation another replica ran (or runs), as the cluster knows it. */
  findOperation(id: string): Promise<OperationRecord | undefined>
  /** Take an Idempotency-Key for this replica, or say who has it (and for which request, which operation). */
  claimKey(scope: string, key: string, fingerprint: string): Promise<KeyClaim>
  /** The key's operation exists. */
  bindKey(scope: string, key: string, op: string): Promise<void>
  /** The request created nothing (refused): the key is free again. */
  releaseKey(scope: string, key: string): Promise<void>
  /**
   * A fence of `node` began or ended here: for `ms` from now the other replicas refuse every
   * operation on it while the fence runs, and `on` (but to fencers) after it.
   */
  holdNode(node: string, op: string, ms: number): Promise<void>
  /** Inside the device's slot before a non-fence command: throws PREEMPTED / FENCE_HOLD for a fence elsewhere. */
  checkNodeHold(node: string, action: 'on' | 'off' | 'cycle', role: string): Promise<void>
  /** Told once per fence whose replica died mid-operation (this replica claimed it: run it again). */
  onOrphanFence(handler: (rec: OperationRecord) => Promise<string | undefined>): void
  /**
   * A fence of `node` that runs now on another *live* replica (rule 7 across replicas: a fence
   * request for a node being fenced joins it). undefined: none, or its replica died (then the
   * fence is an orphan: run one here, fencing reads the state first).
   */
  fenceElsewhere(node: string): Promise<RemoteFence | undefined>
  /**
   * Wait, within `signal`, until another replica's operation `id` has ended: its record. A fence
   * run again after its replica died is followed to the run's record; an orphan not (yet) run
   * again comes back as the orphan (`orphaned: true`).
   */
  awaitOperation(id: string, signal: AbortSignal): Promise<OperationRecord>
  /**
   * The whole cluster (GET /v1/cluster): live replicas and their leases, the leader, who holds
   * and who waits for each device (src/coordination/cluster-view.ts). Throws
   * COORDINATION_UNAVAILABLE naming the cause when etcd cannot be read (view() still answers).
   */
  cluster(): Promise<ClusterStatus>
  /**
   * A page of the cluster's history (every replica's operations), newest first, with the
   * journal's filters, cursor and entry shape: the same page from every replica. undefined: no
   * cluster history (one gateway: its journal is the history). Throws COORDINATION_UNAVAILABLE
   * when etcd cannot be read, BAD_REQUEST (details.field `before`) for a cursor it does not know.
   */
  operationPage(q: JournalHistoryQuery): Promise<HistoryEntry[] | undefined>
  /**
   * A heartbeat death this replica saw (every replica that sees it calls this): one replica runs
   * `runner` for it, the others get that run's outcome (src/coordination/death-fence.ts has the
   * rules). Never rejects for etcd trouble: the outcome says not ok. One gateway: runs the runner.
   */
  fenceDeath(death: Death, runner: DeathRunner): Promise<DeathOutcome>
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
  holds(): boolean {
    return false
  }
  view(): ClusterView {
    return { mode: 'single', replica: this.replica, state: 'ok', holding: [] }
  }
  close(): Promise<void> {
    return Promise.resolve()
  }
  recordIntent(): Promise<void> {
    return Promise.resolve()
  }
  recordResult(): Promise<void> {
    return Promise.resolve()
  }
  findOperation(_id: string): Promise<OperationRecord | undefined> {
    return Promise.resolve(undefined)
  }
  claimKey(): Promise<KeyClaim> {
    return Promise.resolve({ claimed: true })
  }
  bindKey(): Promise<void> {
    return Promise.resolve()
  }
  releaseKey(): Promise<void> {
    return Promise.resolve()
  }
  onOrphanFence(): void {}
  holdNode(): Promise<void> {
    return Promise.resolve()
  }
  checkNodeHold(): Promise<void> {
    return Promise.resolve()
  }
  fenceElsewhere(_node: string): Promise<RemoteFence | undefined> {
    return Promise.resolve(undefined)
  }
  awaitOperation(id: string, _signal: AbortSignal): Promise<OperationRecord> {
    // one gateway: every operation is this gateway's own (the engine never asks)
    return Promise.reject(new FenceError('NOT_FOUND', `operation ${id} is not another replica's`))
  }
  cluster(): Promise<ClusterStatus> {
    return Promise.resolve(singleCluster(this.view()))
  }
  operationPage(_q: JournalHistoryQuery): Promise<HistoryEntry[] | undefined> {
    return Promise.resolve(undefined)
  }
  async fenceDeath(death: Death, runner: DeathRunner): Promise<DeathOutcome> {
    // one gateway: no other replica to leave it to
    const op = await runner(death.timeoutMs, () => {})
    const r = op.results[0]
    const ok = op.status === 'succeeded'
    return {
      ranHere: true,
      ok,
      replica: this.replica,
      op: op.id,
      operation: op,
      ...(ok
        ? {}
        : { error: r?.error ? `${r.error.code}: ${r.error.message}` : `operation ${op.id} ${op.status}` }),
    }
  }
}

export function unavailable(cause: string): FenceError {
  return new FenceError('COORDINATION_UNAVAILABLE', `this replica may not drive devices: ${cause}`, { cause })
}
