import type { Journal } from '../audit/journal.js'
import type { GatewayConfig } from '../config/config.js'
import { FenceError } from '../../core/errors.js'
import type { Initiator } from '../../core/types.js'
import type { FenceEngine } from '../engine/types.js'
import { type HeartbeatConfig, readHeartbeatConfig } from './config.js'
import { type HeartbeatDeps, HeartbeatService } from './service.js'

export { HeartbeatService } from './service.js'
export { readHeartbeatConfig } from './config.js'
export type { HeartbeatConfig } from './config.js'
export type { HeartbeatSnapshot, HeartbeatEvent } from './protocol.js'

/** How heartbeat-triggered fences appear in the journal and the engine's permission checks. */
export const HEARTBEAT_INITIATOR: Initiator = { name: 'heartbeat', role: 'fencer', via: 'heartbeat' }

/** The validated heartbeat section of a gateway config, or a FenceError listing every problem. */
export function heartbeatConfigOf(gateway: GatewayConfig): HeartbeatConfig | undefined {
  if (!gateway.heartbeat) return undefined
  const { config, problems } = readHeartbeatConfig(gateway.heartbeat, {
    journalPath: gateway.journal.path,
    defaultTimeoutMs: gateway.engine.defaultTimeoutMs,
    fenceNodes: gateway.nodes.keys(),
  })
  if (problems.length)
    throw new FenceError(
      'CONFIG_INVALID',
      `${gateway.file}: ${problems.map((p) => `${p.path.join('.')}: ${p.message}`).join('; ')}`,
    )
  return config
}

/**
 * Fence through the engine: hard off (or reboot) verified by read-back, journaled as initiated by
 * the heartbeat, with the heartbeat's own deadline.
 *
 * Replica mode, a victim whose generation we know: through the engine's fenceDeath — one replica
 * runs it; when another did, the result says so (`by`) and is that replica's read-back. A victim
 * never heard (no generation) is fenced here as on one gateway: no death record could tell one
 * life of it from another, and the engine still joins a fence of it running on another replica.
 */
export function engineFence(engine: FenceEngine, timeoutMs: number): NonNullable<HeartbeatDeps['fence']> {
  return async (node, action, generation) => {
    if (generation !== undefined && engine.coordinator?.mode === 'etcd' && engine.fenceDeath)
      try {
        const canRun = engineReach(engine)().includes(node)
        const out = await engine.fenceDeath(
          { node, generation, action, timeoutMs, canRun },
          HEARTBEAT_INITIATOR,
        )
        if (out.ranHere) return { ok: out.ok, ...(out.error ? { error: out.error } : {}) }
        return {
          ok: out.ok,
          ...(out.error ? { error: out.error } : {}),
          by: { ...(out.replica ? { replica: out.replica } : {}), ...(out.op ? { op: out.op } : {}) },
        }
      } catch (e) {
        return { ok: false, error: e instanceof Error ? e.message : String(e) }
      }
    try {
      const op = await engine.fence(node, action, { initiator: HEARTBEAT_INITIATOR, timeoutMs })
      const r = op.results[0]
      return op.status === 'succeeded'
        ? { ok: true }
        : { ok: false, error: r?.error ? `${r.error.code}: ${r.error.message}` : `operation ${op.status}` }
    } catch (e) {
      return { ok: false, error: e instanceof Error ? e.message : String(e) }
    }
  }
}

/**
 * The members whose fence devices this gateway reaches: some level of theirs has no device whose
 * last probe failed. (Not probed yet counts as reachable: the engine fences anyway and reports.)
 */
export function engineReach(engine: FenceEngine): () => string[] {
  return () => {
    const failing = new Set(
      engine
        .devices()
        .filter((d) => d.state === 'failing')
        .map((d) => d.id),
    )
    return engine
      .nodes()
      .filter((n) => n.levels.some((level) => level.length > 0 && level.every((p) => !failing.has(p.device))))
      .map((n) => n.name)
  }
}

/**
 * Start the heartbeat of `fencegate serve` when the config has a heartbeat section. Membership
 * changes and fence decisions go to the journal as `event` records (source heartbeat).
 */
export async function startHeartbeat(
  gateway: GatewayConfig,
  engine: FenceEngine,
  journal?: Journal,
  extra: Omit<HeartbeatDeps, 'fence' | 'reach' | 'journal'> = {},
): Promise<HeartbeatService | undefined> {
  const config = heartbeatConfigOf(gateway)
  if (!config) return undefined
  return HeartbeatService.start(config, {
    ...extra,
    ...(engine.coordinator?.mode === 'etcd' ? { replicas: true } : {}),
    fence: engineFence(engine, config.fence.timeoutMs),
    reach: engineReach(engine),
    ...(journal
      ? {
          journal: (at, event) => {
            const { kind, ...fields } = event
            return journal.append({ t: 'event', ts: at, source: 'heartbeat', event: kind, fields }, false)
          },
        }
      : {}),
  })
}
