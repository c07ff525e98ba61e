/**
 * The REST API's answers as plain types, for its clients (the fence agent, the CLI's HTTP
 * backend and its formatting), and the one function that builds a node view (the API's routes
 * and the CLI's in-process backend). Type imports only, on purpose: the fence agent imports
 * this and must start without fastify or typebox, and its quick build
 * (scripts/install-agent.sh) compiles only what it imports. The schemas the server validates
 * against are in ./schemas.ts; keep the two in step.
 */
import type { FenceAction, PlugRef, PowerState } from '../../core/types.js'
import type { NodeInfo, NodeStatus } from '../engine/types.js'

/** One plug of a node, as read by the status that answered. */
export interface PlugView {
  device: string
  plug: string
  level: number
  state: PowerState
  error?: { code: string; message: string }
}

/** A node as GET /v1/nodes and GET /v1/nodes/{node} answer (api-contract.md). */
export interface NodeView {
  name: string
  state: PowerState
  plugs: PlugView[]
  levels: PlugRef[][]
  fenceAction: FenceAction
  powerWaitMs: number
  /** The config's `group:` label. */
  group?: string
  /** A fence waits at its manual level for `fencegate confirm`. */
  awaitingConfirmation?: { op: string; since: string }
  /** Fenced: `on` is refused (except to fencers) until this time. */
  fenceHold?: { until: string }
}

/** A node's config (levels, fence action, power wait) with the state a status read gave it. */
export function nodeView(info: NodeInfo, status: NodeStatus) {
  return {
    name: info.name,
    state: status.state,
    plugs: status.plugs,
    ...(status.awaitingConfirmation ? { awaitingConfirmation: status.awaitingConfirmation } : {}),
    ...(status.fenceHold ? { fenceHold: status.fenceHold } : {}),
    levels: info.levels,
    fenceAction: info.fenceAction,
    powerWaitMs: info.powerWaitMs,
    ...(info.group !== undefined ? { group: info.group } : {}),
  }
}
