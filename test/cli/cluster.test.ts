import { afterEach, describe, expect, it } from 'vitest'
import { clusterTable } from '../../src/cli/commands/cluster.js'
import type { ClusterStatus } from '../../src/coordination/cluster-view.js'
import { type ClusterView, unavailable } from '../../src/coordination/coordinator.js'
import { fakeReplica } from '../helpers/fake-coordinator.js'
import { newReplicaCounters } from '../../src/coordination/replica-counters.js'
import { type ApiGateway, TOKENS, startApi } from '../api/helpers.js'
import { run } from './helpers.js'

/** `fencegate cluster` against a listening gateway (the app of test/api, on a free loopback port). */
let g: ApiGateway | undefined
afterEach(async () => {
  await g?.stop()
  g = undefined
})

async function listening(opts: Parameters<typeof startApi>[0] = {}): Promise<string> {
  g = await startApi(opts)
  return g.app.listen({ host: '127.0.0.1', port: 0 })
}
const viewer = { env: { FENCEGATE_TOKEN: TOKENS.viewer } }

const VIEW: ClusterView = {
  mode: 'etcd',
  replica: 'gw2',
  state: 'ok',
  holding: [],
  leaseAgeMs: 41,
  counters: {
    ...newReplicaCounters(),
    leaseGrants: 1,
    leaseRenewals: 1234,
    lockAcquisitions: 12,
    lockMoves: 3,
  },
}
const NOW = Date.parse('2026-12-05T06:00:00.000Z')
const STATUS: ClusterStatus = {
  mode: 'etcd',
  replica: 'gw2',
  leader: 'gw1',
  replicas: [
    {
      name: 'gw1',
      lease: '7587880990339733763',
      self: false,
      leader: true,
      since: '2026-12-05T05:30:00.000Z',
      ttlS: 2,
      remainingS: 1,
      leaseAgeMs: 1000,
      holding: ['pdu1'],
      waiting: [],
    },
    {
      name: 'gw2',
      lease: '7587880990339733771',
      self: true,
      leader: false,
      since: '2026-12-05T05:45:00.000Z',
      ttlS: 2,
      remainingS: 1,
      leaseAgeMs: 41,
      holding: [],
      waiting: ['pdu1'],
    },
    {
      name: 'gw3',
      lease: '7587880990339733790',
      self: false,
      leader: false,
      since: '2026-12-05T05:59:30.000Z',
      ttlS: 2,
      remainingS: 2,
      leaseAgeMs: 0,
      holding: [],
      waiting: [],
    },
  ],
  devices: [{ device: 'pdu1', holder: 'gw1', waiting: ['gw2'] }],
  self: VIEW,
  revision: '4711',
}

describe('fencegate cluster', () => {
  it('the table: replicas with hex lease ids (as etcdctl), leader, holders and waiters, this replica’s line', () => {
    expect(clusterTable(STATUS, NOW)).toBe(
      [
        'mode: etcd — 3 live replicas, leader gw1, answered by gw2 (etcd revision 4711)',
        '',
        'REPLICA         LEASE             LEASE LEFT  RENEWED   JOINED   HOLDING  WAITING FOR',
        'gw1 (leader)    694d918ef3239903  1s of 2s    ≤1s ago   30m ago  pdu1     -',
        'gw2 (this one)  694d918ef323990b  1s of 2s    41ms ago  15m ago  -        pdu1',
        'gw3             694d918ef323991e  2s of 2s    just now  30s ago  -        -',
        '',
        'DEVICE  HELD BY  WAITING (in order)',
        'pdu1    gw1      gw2',
        '',
        'this replica: gw2, lease ok, last renewed 41ms ago, holds no device; renewals 1234 (0 failed), lease losses 0, locks taken 12 (3 moved here from another replica), orphans claimed 0, fences run again 0',
        '',
      ].join('\n'),
    )
  })

  it('one gateway: mode single, exit 0; --json is the API answer', async () => {
    const url = await listening()
    const r = await run(['cluster', '--url', url], viewer)
    expect(r.code, r.err).toBe(0)
    expect(r.out).toContain('mode: single — one gateway (local), no replicas, no device locks')
    const j = await run(['cluster', '--url', url, '--json'], viewer)
    expect(j.code).toBe(0)
    expect(JSON.parse(j.out)).toMatchObject({
      mode: 'single',
      replica: 'local',
      leader: 'local',
      devices: [],
    })
  })

  it('replica mode over REST: the table of what the gateway answered, exit 0', async () => {
    const url = await listening({ engineOptions: { coordinator: fakeReplica(async () => STATUS, VIEW) } })
    const r = await run(['cluster', '--url', url], viewer)
    expect(r.code, r.err).toBe(0)
    expect(r.out).toContain('leader gw1, answered by gw2')
    expect(r.out).toMatch(/^pdu1 +gw1 +gw2$/m)
  })

  it('the answering replica lost its lease: exit 1', async () => {
    const lost: ClusterView = { ...VIEW, state: 'lost', cause: 'etcd says this replica’s lease has expired' }
    const url = await listening({
      engineOptions: { coordinator: fakeReplica(async () => ({ ...STATUS, self: lost }), lost) },
    })
    const r = await run(['cluster', '--url', url], viewer)
    expect(r.code).toBe(1)
    expect(r.out).toContain('this replica: gw2, lease LOST (etcd says this replica’s lease has expired)')
  })

  it('etcd cannot be read: this replica’s own view on stdout, the cause on stderr, exit 1', async () => {
    const lost: ClusterView = { ...VIEW, state: 'lost', cause: 'the etcd lease was not renewed in time' }
    const url = await listening({
      engineOptions: {
        coordinator: fakeReplica(
          () => Promise.reject(unavailable('etcd: the cluster view could not be read: deadline exceeded')),
          lost,
        ),
      },
    })
    const r = await run(['cluster', '--url', url], viewer)
    expect(r.code).toBe(1)
    expect(r.out).toContain('this replica: gw2, lease LOST (the etcd lease was not renewed in time)')
    expect(r.err).toMatch(/^fencegate: COORDINATION_UNAVAILABLE: .*could not be read: deadline exceeded/)
    const j = await run(['cluster', '--url', url, '--json'], viewer)
    expect(j.code).toBe(1)
    expect(JSON.parse(j.out)).toMatchObject({ code: 'COORDINATION_UNAVAILABLE', self: { state: 'lost' } })
  })

  it('no gateway at the URL: a clear message, exit 1, nothing on stdout', async () => {
    const r = await run(['cluster', '--url', 'http://127.0.0.1:1'], viewer)
    expect(r.code).toBe(1)
    expect(r.out).toBe('')
    expect(r.err).toMatch(
      /^fencegate: cannot reach the gateway at http:\/\/127\.0\.0\.1:1: connection refused/,
    )
  })

  it('no token: the refusal says where a token comes from', async () => {
    const url = await listening()
    const r = await run(['cluster', '--url', url])
    expect(r.code).toBe(1)
    expect(r.err).toContain('UNAUTHORIZED: no token')
  })

  it('takes no --config (replicas exist only in a running gateway)', async () => {
    const r = await run(['cluster', '--config', '/x.yaml'])
    expect(r.code).toBe(2)
    expect(r.err).toMatch(/unknown option '--config'/)
  })
})
