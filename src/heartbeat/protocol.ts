import type { FenceAction } from '../../core/types.js'
import type { HeartbeatConfig } from './config.js'
import type { FenceDecision, FencedBy, VictimView } from './fence-policy.js'
import type { LinkStats } from './links.js'
import type { LinkView, MembershipEvent, NodeView } from './membership.js'

/**
 * What the main thread and the membership worker say to each other. Everything is plain data
 * (structured clone): times are wall-clock ISO strings or "ms ago", because each thread has its
 * own monotonic clock origin.
 */
export interface WorkerInit {
  config: HeartbeatConfig
  /**
   * The gateway is one replica of several (replica mode): a member that reaches a victim's fence
   * devices asks its gateway to fence it, and the replicas' election picks the one that runs it.
   */
  replicas?: boolean
}

export type ToWorker =
  | { type: 'reach'; nodes: string[] }
  | { type: 'blocked'; why?: string }
  | { type: 'fence-result'; id: number; ok: boolean; error?: string; by?: FencedBy }
  | { type: 'snapshot'; id: number }
  | { type: 'stop' }

export type FromWorker =
  | { type: 'ready'; generation: number; uuid: string }
  | { type: 'fatal'; error: string }
  | { type: 'event'; at: string; event: HeartbeatEvent }
  | { type: 'fence'; id: number; node: string; action: FenceAction; generation?: number }
  | { type: 'snapshot'; id: number; snapshot: HeartbeatSnapshot }
  | { type: 'log'; level: 'debug' | 'info' | 'warn' | 'error'; msg: string; fields?: Record<string, unknown> }
  | { type: 'stopped' }

/** A ping node (heartbeat's ping / ping_group) answers again, or stopped answering for deadping. */
export type PingEvent = { kind: 'ping-up'; ping: string } | { kind: 'ping-dead'; ping: string }

export type HeartbeatEvent = MembershipEvent | FenceDecision | PingEvent

export type DropCounts = Record<string, number>

export interface LinkSnapshot extends LinkStats {
  /** Packets dropped on this link, by reason (malformed, truncated, oversize, auth-mismatch, replay-sequence…). */
  dropped: DropCounts
}

/** The membership's views with monotonic times turned into wall-clock ISO strings and "ms ago". */
export interface NodeLinkSnapshot extends Omit<LinkView, 'lastHeardAt'> {
  lastHeard?: string
  lastHeardAgoMs?: number
}

export interface NodeSnapshot
  extends Omit<NodeView, 'lastHeardAt' | 'since' | 'fgfence' | 'fgfenced' | 'fgping' | 'links'> {
  lastHeard?: string
  lastHeardAgoMs?: number
  sinceAgoMs: number
  /** fencegate peers: the members whose fence devices they reach. */
  canFence?: string[]
  /** With ping nodes: the ping nodes this member reaches (ours now; a peer's from its newest status). */
  pingNodes?: string[]
  links: NodeLinkSnapshot[]
}

/** One ping node as this member's probes see it. */
export interface PingSnapshot {
  name: string
  addresses: string[]
  group: boolean
  state: 'init' | 'up' | 'dead'
  /** When its newest answered probe was sent. */
  lastHeard?: string
  lastHeardAgoMs?: number
}

export interface VictimSnapshot extends Omit<VictimView, 'since'> {
  sinceAgoMs: number
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
  quorum: {
    members: number
    live: number
    needed: number
    quorate: boolean
    twoNode: boolean
    /** With ping nodes: how many, and which this partition reaches. */
    ping?: { nodes: number; reached: string[] }
  }
  /** Ping nodes, when configured. */
  ping?: PingSnapshot[]
  fencing: {
    enabled: boolean
    blockedBy?: string
    action: FenceAction
    preferred?: string
    canFence: string[]
    victims: VictimSnapshot[]
  }
  /** Heartbeats sent, and how late our own send timer ran at worst (a busy worker shows here). */
  sent: { packets: number; maxTimerLagMs: number }
}
