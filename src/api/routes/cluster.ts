/**
 * /v1/cluster: the replicas as etcd has them (src/coordination/cluster-view.ts) — every live
 * replica and its lease, the leader, who holds and who waits for each device — with the
 * answering replica's own view. One gateway answers `mode: single`, itself alone.
 *
 * When etcd cannot be read the answer is 503 COORDINATION_UNAVAILABLE naming the cause, and still
 * carries `self`, this replica's own view (lease state, devices it holds, counters): that is what
 * an operator looking at a broken cluster needs first.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { FenceError } from '../../../core/errors.js'
import { EmbeddedCoordinator } from '../../coordination/coordinator.js'
import type { ApiContext } from '../context.js'
import { errorBody } from '../errors.js'
import { ErrorBody, errors } from '../schemas.js'

const Opt = Type.Optional
const Count = Type.Integer({ minimum: 0 })
const Mode = Type.Enum(['single', 'etcd'], {
  description: 'single: one gateway; etcd: replicas through etcd',
})

const Counters = Type.Object(
  {
    leaseGrants: Count,
    leaseRenewals: Count,
    leaseRenewalFailures: Count,
    leaseLosses: Count,
    lockAcquisitions: Count,
    lockWaits: Count,
    lockWaitMs: Count,
    lockMoves: Type.Integer({
      minimum: 0,
      description: 'locks taken over from another replica (fencegate moves locks instead of forwarding)',
    }),
    orphanSweeps: Count,
    orphansClaimed: Count,
    fenceReruns: Count,
  },
  { description: 'what this replica counted since it started (the fencegate_replica_* metrics)' },
)

const SelfView = Type.Object(
  {
    mode: Mode,
    replica: Type.String(),
    state: Type.Enum(['ok', 'lost'], {
      description: 'ok: may drive devices; lost: its lease is gone (etcd unreachable, no quorum)',
    }),
    cause: Opt(Type.String({ description: 'why the lease is lost' })),
    holding: Type.Array(Type.String(), { description: 'devices whose lock this replica holds now' }),
    leaseAgeMs: Opt(Type.Number({ minimum: 0, description: 'ms since etcd last acknowledged a renewal' })),
    counters: Opt(Counters),
  },
  { description: "the answering replica's own view (no etcd read)" },
)

const Replica = Type.Object({
  name: Type.String(),
  lease: Opt(Type.String({ description: 'etcd lease id (decimal); absent in single mode' })),
  self: Type.Boolean({ description: 'the replica that answered' }),
  leader: Type.Boolean(),
  since: Opt(Type.String({ description: 'when it took this lease, by its own clock (ISO 8601)' })),
  ttlS: Opt(Type.Integer({ description: 'the lease TTL as granted, seconds' })),
  remainingS: Opt(
    Type.Integer({ description: 'what etcd says is left of the lease, whole seconds (expires within +1 s)' }),
  ),
  leaseAgeMs: Opt(
    Type.Number({
      minimum: 0,
      description:
        'since the last renewal: exact for the answering replica; for the others an upper bound, ttlS - remainingS (whole seconds)',
    }),
  ),
  holding: Type.Array(Type.String(), { description: 'devices whose lock it holds' }),
  waiting: Type.Array(Type.String(), { description: 'devices it is queued for' }),
})

const DeviceLock = Type.Object({
  device: Type.String(),
  holder: Type.String({ description: 'the replica holding the device lock' }),
  waiting: Type.Array(Type.String(), { description: 'replicas queued for it, in the order they get it' }),
})

const ClusterReply = Type.Object({
  simulated: Type.Boolean(),
  mode: Mode,
  replica: Type.String({ description: 'the replica that answered' }),
  leader: Opt(Type.String({ description: 'the leading replica (the oldest live lease)' })),
  replicas: Type.Array(Replica, {
    description: 'live replicas, oldest lease first (the order they would lead in)',
  }),
  devices: Type.Array(DeviceLock, { description: 'devices some replica holds or waits for' }),
  self: SelfView,
  revision: Opt(Type.String({ description: 'the etcd revision the picture was read at' })),
})

const ClusterUnavailable = Type.Object(
  { ...ErrorBody.properties, self: Opt(SelfView) },
  { description: "etcd could not be read: the cause, and this replica's own view" },
)

export const clusterRoutes: FastifyPluginAsyncTypebox<ApiContext> = async (app, ctx) => {
  const coordinator = ctx.engine.coordinator ?? new EmbeddedCoordinator()
  app.get(
    '/cluster',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Replicas, their leases, the leader, and which replica holds (or waits for) which device',
        description:
          'Replica mode reads it from etcd (live replicas oldest lease first, lease TTLs as etcd has them, device lock queues in order); one gateway answers `mode: single`, itself alone. When etcd cannot be read: 503 COORDINATION_UNAVAILABLE naming the cause, whose body also carries `self`, what the answering replica knows of itself (lease state, devices held, counters).',
        tags: ['system'],
        response: { 200: ClusterReply, ...errors(401, 403), 503: ClusterUnavailable },
      },
    },
    async (req, reply) => {
      try {
        return { simulated: ctx.simulated, ...(await coordinator.cluster()) }
      } catch (e) {
        if (!(e instanceof FenceError) || e.code !== 'COORDINATION_UNAVAILABLE') throw e
        // the error table's status (503), with what this replica knows of itself
        return reply
          .code(503)
          .send({ ...errorBody(e, req), simulated: ctx.simulated, self: coordinator.view() })
      }
    },
  )
}
