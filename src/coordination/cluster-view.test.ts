import { describe, expect, it } from 'vitest'
import { readCluster } from './cluster-view.js'

/** etcd as the view reads it: key ranges by prefix at one revision, and each lease's TTL. */
function fakeEtcd(keys: Record<string, [string, string][]>, ttl: Record<string, number>) {
  const range = (prefix: string) => {
    const res = {
      header: { revision: '7' },
      kvs: (keys[prefix] ?? []).map(([k, v]) => ({ key: Buffer.from(prefix + k), value: Buffer.from(v) })),
    }
    const b = { sort: () => b, revision: () => b, options: () => b, exec: async () => res }
    return b
  }
  return {
    getAll: () => ({ prefix: range }),
    leaseClient: {
      leaseTimeToLive: async ({ ID }: { ID: string }) => ({ TTL: String(ttl[ID] ?? -1), grantedTTL: '2' }),
    },
  }
}

const record = (replica: string, lease: string) => JSON.stringify({ replica, lease })
/** r1 (lease L1, the older candidate) and r2 (L2), both with their keys at the read revision. */
const twoReplicas = (ttl: Record<string, number>) =>
  fakeEtcd(
    {
      'replicas/': [
        ['r1', record('r1', 'L1')],
        ['r2', record('r2', 'L2')],
      ],
      'election/leader/': [
        ['L1', 'r1'],
        ['L2', 'r2'],
      ],
    },
    ttl,
  )
const view = { mode: 'etcd' as const, replica: 'r2', state: 'ok' as const, holding: [] }

describe('readCluster', () => {
  it('a leader whose lease ran out (keys not yet revoked by etcd) is neither listed nor named leader', async () => {
    // r1's keys are still at the read revision, but etcd already says its lease is gone
    const ns = twoReplicas({ L1: -1, L2: 1 })
    const s = await readCluster(ns as never, { view, lease: 'L2' }, 1000)
    expect(s.replicas.map((r) => r.name)).toEqual(['r2'])
    expect(s.leader).toBe('r2')
    expect(s.replicas[0]!.leader).toBe(true)
  })

  it('the oldest live candidate leads', async () => {
    const ns = twoReplicas({ L1: 1, L2: 2 })
    const s = await readCluster(ns as never, { view, lease: 'L2' }, 1000)
    expect(s.leader).toBe('r1')
    expect(s.replicas.filter((r) => r.leader).map((r) => r.name)).toEqual(['r1'])
  })
})
