import type { FenceAction } from '../core/types.js'
import type { HeartbeatConfig } from './config.js'
import type { FenceDecision, VictimStatus } from './fence-policy.js'
import type { LinkStats } from './links.js'
import type { LinkState, MembershipEvent, NodeState } from './membership.js'

/**
 * What the main thread and the membership worker say to each other. Everything is plain data
 * (structured clone): times are wall-clock ISO strings or "ms ago", because each thread has its
 * own monotonic clock origin.
 */
export interface WorkerInit {
  config: HeartbeatConfig
}

export type ToWorker =
  | { type: 'reach'; nodes: string[] }
  | { type: 'blocked'; why?: string }
  | { type: 'fence-result'; id: number; ok: boolean; error?: string }
  | { type: 'snapshot'; id: number }
  | { type: 'stop' }

export type FromWorker =
  | { type: 'ready'; generation: number; uuid: string }
  | { type: 'fatal'; error: string }
  | { type: 'event'; at: string; event: HeartbeatEvent }
  | { type: 'fence'; id: number; node: string; action: FenceAction }
  | { type: 'snapshot'; id: number; snapshot: HeartbeatSnapshot }
  | { type: 'log'; level: 'debug' | 'info' | 'warn' | 'error'; msg: string; fields?: Record<string, unknown> }
  | { type: 'stopped' }

export type HeartbeatEvent = MembershipEvent | FenceDecision

export type DropCounts = Record<string, number>

export interface LinkSnapshot extends LinkStats {
  /** Packets dropped on this link, by reason (malformed, truncated, oversize, auth-mismatch, replay-sequence…). */
  dropped: DropCounts
}

export interface NodeLinkSnapshot {
  name: string
  state: LinkState
  lastHeard?: string
  lastHeardAgoMs?: number
  packets: number
  failures: number
}

export interface NodeSnapshot {
  name: string
  self: boolean
  state: NodeState
  reason?: string
  generation?: number
  software?: 'fencegate' | 'heartbeat'
  lastHeard?: string
  lastHeardAgoMs?: number
  sinceAgoMs: number
  deadtimeMs: number
  lateHeartbeats: number
  lastIntervalMs?: number
  maxIntervalMs?: number
  lostPackets: number
  deaths: number
  seenSinceStart: boolean
  /** fencegate peers: the members whose fence devices they reach. */
  canFence?: string[]
  links: NodeLinkSnapshot[]
}

export interface HeartbeatSnapshot {
  node: string
  generation: number
  uuid: string
  startedAt: string
  keepaliveMs: number
  warntimeMs: number
  deadtimeMs: number
  initdeadMs: number
  authMethod: string
  nodes: NodeSnapshot[]
  links: LinkSnapshot[]
  quorum: { members: number; live: number; needed: number; quorate: boolean; twoNode: boolean }
  fencing: {
    enabled: boolean
    blockedBy?: string
    action: FenceAction
    preferred?: string
    canFence: string[]
    victims: {
      node: string
      generation?: number
      status: VictimStatus
      why?: string
      executor?: string
      attempts: number
      lastError?: string
      sinceAgoMs: number
    }[]
  }
  /** Heartbeats sent, and how late our own send timer ran at worst (a busy worker shows here). */
  sent: { packets: number; maxTimerLagMs: number }
}
