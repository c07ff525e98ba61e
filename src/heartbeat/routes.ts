/**
 * /v1/heartbeat: membership as the membership process sees it — nodes, their links, last heard,
 * late-heartbeat counts, quorum and the fence policy — and the recent membership events.
 * Registered under /v1 by src/api/app.ts when the gateway runs a heartbeat.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { errors } from '../api/schemas.js'
import type { HeartbeatService } from './service.js'

const Ms = Type.Integer({ minimum: 0, description: 'milliseconds' })
const Iso = Type.String({ description: 'ISO 8601 time' })
const Opt = Type.Optional

const NodeLink = Type.Object({
  name: Type.String(),
  state: Type.Union([Type.Literal('init'), Type.Literal('up'), Type.Literal('dead')], {
    description: 'init: never carried this node’s packets since start',
  }),
  lastHeard: Opt(Iso),
  lastHeardAgoMs: Opt(Ms),
  packets: Type.Integer(),
  failures: Type.Integer({ description: 'times this link went dead' }),
})

const Node = Type.Object({
  name: Type.String(),
  self: Type.Boolean(),
  state: Type.Union([Type.Literal('init'), Type.Literal('up'), Type.Literal('dead')]),
  reason: Opt(
    Type.String({
      description: 'dead: timeout | never-seen | shutdown; up: first | restart | return-after-partition',
    }),
  ),
  generation: Opt(Type.Integer()),
  software: Opt(Type.Union([Type.Literal('fencegate'), Type.Literal('heartbeat')])),
  lastHeard: Opt(Iso),
  lastHeardAgoMs: Opt(Ms),
  sinceAgoMs: Ms,
  deadtimeMs: Type.Integer({ description: 'the dead timeout used for it (the dt it advertises)' }),
  lateHeartbeats: Type.Integer({ description: 'heartbeats that came later than warntime' }),
  lastIntervalMs: Opt(Ms),
  maxIntervalMs: Opt(Ms),
  lostPackets: Type.Integer(),
  deaths: Type.Integer(),
  seenSinceStart: Type.Boolean(),
  canFence: Opt(Type.Array(Type.String(), { description: 'members whose fence devices it reaches' })),
  pingNodes: Opt(
    Type.Array(Type.String(), {
      description: 'with ping nodes: those it reaches (ours now; a peer: as of its newest status)',
    }),
  ),
  links: Type.Array(NodeLink),
})

const PingNode = Type.Object({
  name: Type.String({ description: 'the address, or the ping group name' }),
  addresses: Type.Array(Type.String()),
  group: Type.Boolean(),
  state: Type.String({ description: 'init | up | dead (no answer within deadping)' }),
  lastHeard: Opt(Iso),
  lastHeardAgoMs: Opt(Ms),
})

const Link = Type.Object({
  name: Type.String(),
  kind: Type.String(),
  state: Type.String({ description: 'opening | open | error | closed (our end of the link)' }),
  lastError: Opt(Type.String()),
  sent: Type.Integer(),
  sendErrors: Type.Integer(),
  sendSkipped: Type.Integer(),
  received: Type.Integer(),
  receivedBytes: Type.Integer(),
  garbageBytes: Opt(Type.Integer()),
  overlongFrames: Opt(Type.Integer()),
  dropped: Type.Record(Type.String(), Type.Integer(), {
    description: 'packets dropped by reason: truncated, malformed, oversize, auth-*, replay-*, unknown-node…',
  }),
})

const Victim = Type.Object({
  node: Type.String(),
  generation: Opt(Type.Integer()),
  status: Type.String({ description: 'waiting | race-wait | in-flight | fenced | retry-wait' }),
  why: Opt(Type.String()),
  executor: Opt(Type.String()),
  byReplica: Opt(
    Type.Object(
      { replica: Opt(Type.String()), op: Opt(Type.String()) },
      {
        description: 'replica mode: the replica that ran the fence this member asked for, and its operation',
      },
    ),
  ),
  attempts: Type.Integer(),
  lastError: Opt(Type.String()),
  sinceAgoMs: Ms,
})

export const HeartbeatReply = Type.Object({
  simulated: Type.Boolean(),
  node: Type.String(),
  generation: Type.Integer(),
  uuid: Type.String(),
  startedAt: Iso,
  keepaliveMs: Ms,
  warntimeMs: Ms,
  deadtimeMs: Ms,
  initdeadMs: Ms,
  authMethod: Type.String(),
  nodes: Type.Array(Node),
  links: Type.Array(Link),
  quorum: Type.Object({
    members: Type.Integer(),
    live: Type.Integer(),
    needed: Type.Integer(),
    quorate: Type.Boolean(),
    twoNode: Type.Boolean(),
    ping: Opt(Type.Object({ nodes: Type.Integer(), reached: Type.Array(Type.String()) })),
  }),
  ping: Opt(Type.Array(PingNode)),
  fencing: Type.Object({
    enabled: Type.Boolean(),
    blockedBy: Opt(Type.String()),
    action: Type.String(),
    preferred: Opt(Type.String()),
    canFence: Type.Array(Type.String()),
    victims: Type.Array(Victim),
  }),
  sent: Type.Object({ packets: Type.Integer(), maxTimerLagMs: Ms }),
})

const EventsReply = Type.Object({
  simulated: Type.Boolean(),
  events: Type.Array(
    Type.Object({ at: Iso, event: Type.Object({ kind: Type.String() }, { additionalProperties: true }) }),
  ),
})

export interface HeartbeatRoutesOptions {
  heartbeat: HeartbeatService
  simulated: boolean
}

export const heartbeatRoutes: FastifyPluginAsyncTypebox<HeartbeatRoutesOptions> = async (app, o) => {
  app.get(
    '/heartbeat',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Cluster membership: nodes, links, last heard, late heartbeats, quorum, fencing',
        tags: ['heartbeat'],
        response: { 200: HeartbeatReply, ...errors(401, 403, 503) },
      },
    },
    async () => ({ simulated: o.simulated, ...(await o.heartbeat.snapshot()) }),
  )

  app.get(
    '/heartbeat/events',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Recent membership events (newest last): nodes up/dead, links, late heartbeats, fences',
        tags: ['heartbeat'],
        querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })) }),
        response: { 200: EventsReply, ...errors(401, 403) },
      },
    },
    async (req) => ({ simulated: o.simulated, events: o.heartbeat.recent.slice(-(req.query.limit ?? 100)) }),
  )
}
