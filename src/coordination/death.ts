import type { FenceAction } from '../../core/types.js'
import type { Operation } from '../engine/types.js'

/**
 * A member the heartbeat declared dead, as one replica saw it: what that replica asks the cluster
 * to fence (Coordinator.fenceDeath). Every replica that sees the death asks; one of them runs the
 * fence (src/coordination/death-fence.ts says how it is chosen and why that is safe).
 */
export interface Death {
  node: string
  /**
   * The dead member's heartbeat generation (its incarnation): a node that dies, comes back and
   * dies again is a new death and is fenced again. A non-negative integer.
   */
  generation: number
  action: FenceAction
  /** The fence's deadline, ms from the call: how long this replica runs the fence or waits for it. */
  timeoutMs: number
  /**
   * This replica's engine reaches the node's fence devices now (no level with a failing device).
   * A replica that does not never runs the fence: it only waits for the one that does.
   */
  canRun: boolean
}

/**
 * Runs the fence on this replica (the engine's fence, registered by the engine): within
 * `timeoutMs`; `onStart` once the operation's intent is durable (its id may be handed out).
 * Resolves with the operation (failed ones too); rejects only when no operation was created.
 */
export type DeathRunner = (timeoutMs: number, onStart: (op: Operation) => void) => Promise<Operation>

/**
 * What came of a death on this replica. `ok` is true only when the operation that ran it (here
 * or on another replica) read the node back off — from that operation's own record, never from
 * the death record alone.
 */
export interface DeathOutcome {
  /** This replica ran the fence (`operation` is ours); false: another replica did, or nobody by the deadline. */
  ranHere: boolean
  ok: boolean
  /** The replica that ran it (undefined: nobody had claimed it by our deadline). */
  replica?: string
  /** Its operation id, when one was created. */
  op?: string
  /** Why not ok (a failed fence, a fence still running at our deadline, nobody claiming it). */
  error?: string
  /** ranHere: the operation itself. */
  operation?: Operation
}
