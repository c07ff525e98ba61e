/**
 * What the route plugins share: the engine, the metrics, the idempotency store, and the
 * node-name checks every route makes the same way.
 */
import type { FenceEngine, NodeStatus } from '../engine/types.js'
import { FenceError } from '../../core/errors.js'
import { HostlistError, compressHostlist, expandHostlist } from '../../core/hostlist.js'
import { type Principal, assertNodes } from './auth.js'
import type { IdempotencyStore } from './idempotency.js'
import type { InFlight } from './inflight.js'
import type { Metrics } from './metrics.js'

/** The engine as the API uses it: the FenceEngine plus the cached read for listings. */
export type GatewayEngine = FenceEngine & {
  cached(names: readonly string[]): NodeStatus[]
}

export interface ApiContext {
  engine: GatewayEngine
  metrics: Metrics
  idempotency: IdempotencyStore
  /** Bounds on the operations a token has in flight (429 past them). */
  inflight: InFlight
  simulated: boolean
}

/** Expand a hostlist from a request field; a syntax error names the field and the character. */
export function expandField(field: string, hostlist: string): string[] {
  try {
    return expandHostlist(hostlist)
  } catch (e) {
    if (e instanceof HostlistError)
      throw new FenceError('HOSTLIST_SYNTAX', `${field}: ${e.message}`, { field, position: e.position })
    throw e
  }
}

/**
 * Nodes named by a caller: first the token's allow-list (403, whether the node exists or not,
 * so a restricted token learns nothing of other nodes), then the config (404 naming them all).
 */
export function checkNodes(engine: GatewayEngine, who: Principal, names: readonly string[]): void {
  assertNodes(who, names)
  const known = new Set(engine.nodes().map((n) => n.name))
  const unknown = names.filter((n) => !known.has(n))
  if (unknown.length)
    throw new FenceError(
      'UNKNOWN_NODE',
      `no ${unknown.length === 1 ? 'node' : 'nodes'} ${compressHostlist(unknown)} in the config`,
      { nodes: unknown },
    )
}
