import { afterEach, expect, it } from 'vitest'
import type { ClusterStatus } from '../../src/coordination/cluster-view.js'
import { type ClusterView, unavailable } from '../../src/coordination/coordinator.js'
import { fakeReplica } from '../helpers/fake-coordinator.js'
import { newReplicaCounters } from '../../src/coordination/replica-counters.js'
import { type ApiGateway, bearer, startApi } from './helpers.js'

/** GET /v1/cluster and the replica metrics, through app.inject(). */
let g: ApiGateway
afterEach(async () => g?.stop())

const get = (url: string, who: Parameters<typeof bearer>[0] | null = 'viewer') =>
  g.app.inject({ method: 'GET', url, ...(who ? { headers: bearer(who) } : {}) })

it('one gateway: mode single, this gateway alone and leading, no device held; no replica metrics', async () => {
  g = await startApi()
  const r = await get('/v1/cluster')
  expect(r.statusCode).toBe(200)
  expect(r.json()).toEqual({
    simulated: false,
    mode: 'single',
    replica: 'local',
    leader: 'local',
    replicas: [{ name: 'local', self: true, leader: true, holding: [], waiting: [] }],
    devices: [],
    self: { mode: 'single', replica: 'local', state: 'ok', holding: [] },
  })
  const metrics = await get('/metrics')
  expect(metrics.statusCode).toBe(200)
  expect(metrics.body).not.toContain('fencegate_replica_')
})

it('needs a token (viewer and above)', async () => {
  g = await startApi()
  expect((await get('/v1/cluster', null)).statusCode).toBe(401)
  expect((await get('/v1/cluster', 'operator')).statusCode).toBe(200)
})

const VIEW: ClusterView = {
  mode: 'etcd',
  replica: 'gw1',
  state: 'ok',
  holding: ['pdu'],
  leaseAgeMs: 120,
  counters: {
    ...newReplicaCounters(),
    leaseGrants: 1,
    leaseRenewals: 40,
    lockAcquisitions: 7,
    lockMoves: 3,
    lockWaitMs: 1500,
    fenceReruns: 1,
  },
}

it('replica mode: the cluster as the coordinator reads it, through the schema unchanged', async () => {
  const status: ClusterStatus = {
    mode: 'etcd',
    replica: 'gw1',
    leader: 'gw2',
    replicas: [
      {
        name: 'gw2',
        lease: '7587',
        self: false,
        leader: true,
        since: '2026-12-05T05:00:00.000Z',
        ttlS: 2,
        remainingS: 1,
        leaseAgeMs: 1000,
        holding: [],
        waiting: ['pdu'],
      },
      {
        name: 'gw1',
        lease: '7590',
        self: true,
        leader: false,
        since: '2026-12-05T05:00:01.000Z',
        ttlS: 2,
        remainingS: 2,
        leaseAgeMs: 120,
        holding: ['pdu'],
        waiting: [],
      },
    ],
    devices: [{ device: 'pdu', holder: 'gw1', waiting: ['gw2'] }],
    self: VIEW,
    revision: '42',
  }
  g = await startApi({ engineOptions: { coordinator: fakeReplica(async () => status, VIEW) } })
  const r = await get('/v1/cluster')
  expect(r.statusCode).toBe(200)
  expect(r.json()).toEqual({ simulated: false, ...status })
})

it('replica mode, etcd unreachable: 503 COORDINATION_UNAVAILABLE naming the cause, with this replica’s own view', async () => {
  const lost: ClusterView = {
    ...VIEW,
    state: 'lost',
    cause: 'the etcd lease was not renewed in time',
    holding: [],
  }
  g = await startApi({
    engineOptions: {
      coordinator: fakeReplica(
        () =>
          Promise.reject(
            unavailable(
              'etcd: the cluster view could not be read: 14 UNAVAILABLE: No connection established',
            ),
          ),
        lost,
      ),
    },
  })
  const r = await get('/v1/cluster')
  expect(r.statusCode).toBe(503)
  const body = r.json()
  expect(body).toMatchObject({ statusCode: 503, code: 'COORDINATION_UNAVAILABLE', self: lost })
  expect(body.message).toContain('No connection established')
})

it('replica mode: /metrics carries the fencegate_replica_* figures of the coordinator’s view', async () => {
  g = await startApi({
    engineOptions: { coordinator: fakeReplica(() => Promise.reject(new Error('unused')), VIEW) },
  })
  const text = (await get('/metrics')).body
  expect(text).toContain('fencegate_replica_lease_up 1')
  expect(text).toContain('fencegate_replica_lease_age_seconds 0.12')
  expect(text).toContain('fencegate_replica_locks_held 1')
  expect(text).toContain('fencegate_replica_lease_grants_total 1')
  expect(text).toContain('fencegate_replica_lease_renewals_total 40')
  expect(text).toContain('fencegate_replica_lease_losses_total 0')
  expect(text).toContain('fencegate_replica_lock_acquisitions_total 7')
  expect(text).toContain('fencegate_replica_lock_moves_total 3')
  expect(text).toContain('fencegate_replica_lock_wait_seconds_total 1.5')
  expect(text).toContain('fencegate_replica_fence_reruns_total 1')
  expect(text).toContain('fencegate_replica_orphans_claimed_total 0')
})
