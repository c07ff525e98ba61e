/**
 * The engine's public face: what the REST API, the CLI, the fence agent (through the API)
 * and the heartbeat use. The rules behind it are in design.md ("The fencing rules") and
 * live only in src/engine.
 */
import type { Coordinator } from '../coordination/coordinator.js'
import type { Death, DeathOutcome } from '../coordination/death.js'
import type { ErrorCode } from '../../core/errors.js'
import type { FenceAction, Initiator, NodeAction, PlugRef, PowerState } from '../../core/types.js'

/** `confirm`: an operator confirmed a node off by hand (meatware), completing a fence that failed. */
export type OperationKind = 'status' | 'power' | 'fence' | 'bulk' | 'confirm'
export type OperationAction = NodeAction | 'status'

/** One step the engine took against one plug. */
export interface Attempt {
  /** Fencing level, 1-based. */
  level: number
  device: string
  plug: string
  /**
   * `cancel` = pending device commands cancelled before a fence; `verify` = a read-back;
   * `confirm` = the manual level (device `manual`, plug = the node): a person's confirmation.
   */
  step: 'on' | 'off' | 'cycle' | 'cancel' | 'status' | 'verify' | 'confirm'
  outcome: 'ok' | 'failed'
  /** For status and verify: what the plug read. */
  state?: PowerState
  code?: ErrorCode
  message?: string
  /** How many tries the step took (transient errors are retried). */
  tries: number
  durationMs: number
}

/**
 * - `success`: done and read back (off/on), or a fence's off read back.
 * - `failed`: not done, or not read back as wanted.
 * - `unverified`: the command was sent to a device that cannot read its outlets back: nothing is
 *   known of the result (operator power only; never a fence).
 * - `confirmed-by-operator`: a person confirmed the node off (a fence's manual level, or
 *   `fencegate confirm` after a failed fence). Never a device read-back.
 */
export type NodeOutcome = 'success' | 'failed' | 'unverified' | 'confirmed-by-operator'

/** Who confirmed a node off by hand, and why. */
export interface Confirmation {
  by: string
  role: Initiator['role']
  reason: string
  at: string
}

export interface NodeResult {
  node: string
  action: NodeAction
  outcome: NodeOutcome
  /** The node's state as last read back (never assumed). */
  state: PowerState
  /** The level whose plugs did the work (off/fence/reboot). */
  level?: number
  /** For reboot and cycle: was the power-on read back on? A fence's success never depends on it. */
  onVerified?: boolean
  /** Why the power-on of a reboot did not verify (reported, not a failure). */
  onError?: { code: ErrorCode; message: string }
  error?: { code: ErrorCode; message: string }
  /** Already in the wanted state (read back) before anything was switched. */
  already?: boolean
  /** This request joined a fence already in flight for the node. */
  joined?: boolean
  /** For `confirmed-by-operator`: who confirmed the node off, and why. */
  confirmation?: Confirmation
  attempts: Attempt[]
  durationMs: number
}

export interface Operation {
  id: string
  kind: OperationKind
  action: OperationAction
  nodes: string[]
  initiator: Initiator
  /** Wall-clock ISO time, for people and the journal. */
  startedAt: string
  finishedAt?: string
  status: 'running' | 'succeeded' | 'failed'
  results: NodeResult[]
  /** The gateway runs on mock devices (the demo). */
  simulated: boolean
}

export interface OperationRequest {
  initiator: Initiator
  /** The caller's deadline, ms from now. Default: engine.defaultTimeout. */
  timeoutMs?: number
  /** Aborts when the caller goes away. */
  signal?: AbortSignal
  /** Progress for long runs: called as each node finishes. */
  onProgress?: (done: number, total: number, last: NodeResult) => void
  /** Called once the operation exists (id known, status running), before any device is touched: lets the API answer 202 at once. */
  onStart?: (op: Operation) => void
}

export interface PlugStatus extends PlugRef {
  level: number
  state: PowerState
  error?: { code: ErrorCode; message: string }
}

export interface NodeStatus {
  node: string
  state: PowerState
  plugs: PlugStatus[]
  /** A fence of the node is at its manual level, waiting for `fencegate confirm`. */
  awaitingConfirmation?: { op: string; since: string }
  /** The node was fenced: `on` is refused (except to fencers) until this ISO time (fenceHold). */
  fenceHold?: { until: string }
}

export interface DeviceHealth {
  id: string
  driver: string
  /** ok: last probe read every plug; failing: last probe failed; unknown: not probed yet. */
  state: 'ok' | 'failing' | 'unknown'
  lastProbeAt?: string
  lastOkAt?: string
  lastError?: { code: ErrorCode; message: string; at: string }
  /** Latency of the last successful probe. */
  latencyMs?: number
  counts: { probes: number; probeFailures: number; commands: number; commandFailures: number }
  /** Commands waiting for this device. */
  queued: number
  plugs: number
  /** false: the device cannot read its outlets back (unverified: operator power only, never fencing). */
  verifies: boolean
}

/** `running`: still under way in this gateway; `unknown`: interrupted (no result was ever written). */
export type HistoryOutcome = NodeOutcome | 'unknown' | 'running'

export interface HistoryQuery {
  node?: string
  since?: Date
  until?: Date
  outcome?: HistoryOutcome
  limit?: number
}

export interface HistoryEntry {
  op: string
  kind: OperationKind
  action: OperationAction
  node: string
  initiator: Initiator
  startedAt: string
  finishedAt?: string
  /** `unknown`: an intent with no result (the gateway stopped mid-operation); `running`: under way now. */
  outcome: HistoryOutcome
  level?: number
  onVerified?: boolean
  error?: { code: string; message: string }
  confirmation?: Confirmation
}

export interface NodeInfo {
  name: string
  levels: PlugRef[][]
  powerWaitMs: number
  fenceAction: FenceAction
  /** The config's `group:` label. */
  group?: string
}

export interface FenceEngine {
  readonly simulated: boolean
  nodes(): NodeInfo[]
  node(name: string): NodeInfo
  /** Read the nodes' plugs now, batched per device. */
  status(nodes: readonly string[], req: OperationRequest): Promise<NodeStatus[]>
  /** on / off / cycle / reboot of one node, as an operator asks. */
  power(node: string, action: NodeAction, req: OperationRequest): Promise<Operation>
  /** Fence one node (hard off, verified; reboot = off, verify, wait, on). Joins a fence in flight. */
  fence(node: string, action: FenceAction | undefined, req: OperationRequest): Promise<Operation>
  /** The same action over many nodes; devices in parallel, `on` staggered per device. */
  bulk(nodes: readonly string[], action: NodeAction, req: OperationRequest): Promise<Operation>
  operation(id: string): Operation | undefined
  /** This gateway's operation, else the cluster's record of it (replica mode). */
  findOperation?(id: string): Promise<Operation | undefined>
  /** Replica mode: Idempotency-Keys and operation records across replicas. Absent: one gateway. */
  readonly coordinator?: Pick<
    Coordinator,
    'mode' | 'claimKey' | 'bindKey' | 'releaseKey' | 'findOperation' | 'view' | 'cluster' | 'operationPage'
  >
  history(q: HistoryQuery): Promise<HistoryEntry[]>
  devices(): DeviceHealth[]
  device(id: string): DeviceHealth
  /**
   * An operator confirms a node off by hand (meatware): completes a fence waiting at its manual
   * level, or records the confirmation of a fence that failed. Never a device read-back.
   */
  confirm(node: string, req: OperationRequest & { reason: string }): Promise<Operation>
  /** Probe now (a status read of every configured plug), e.g. for the agent's monitor. */
  probe(id: string, req: OperationRequest): Promise<DeviceHealth>
  /** Subscribe to finished operations (metrics, logs). */
  onOperation(listener: (op: Operation) => void): () => void
  /** Subscribe to everything as it happens (the API's event stream): see EngineEvent. */
  onEvent(listener: (e: EngineEvent) => void): () => void
  close(): Promise<void>
  /**
   * A heartbeat death (replica mode: every replica that sees it asks, one runs the fence, the
   * others get its outcome — Coordinator.fenceDeath). Absent: fence() is the only way.
   */
  fenceDeath?(death: Death, initiator: Initiator): Promise<DeathOutcome>
}

/**
 * What the engine tells its observers as it happens. Small on purpose: an observer reads the
 * details it needs (`cached([node])`, `device(id)`) when told something changed.
 * - `node`: its last known state, plugs, fence hold or awaited confirmation may have changed;
 * - `device`: a probe updated its health;
 * - `operation`: one started (intent durable), a node of it finished (`progress`), or it ended.
 */
export type EngineEvent =
  | { type: 'node'; node: string }
  | { type: 'device'; id: string }
  | { type: 'operation'; phase: 'started' | 'progress' | 'finished'; op: Operation }
