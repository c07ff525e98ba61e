import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { CoordinationConfig } from '../../src/config/coordination.js'
import type { ClusterStatus } from '../../src/coordination/cluster-view.js'
import { EtcdCoordinator } from '../../src/coordination/etcd.js'
import type { FenceError } from '../../core/errors.js'
import { EtcdCluster } from '../../firmware-mocks/etcd-cluster.js'

const quiet = { info() {}, warn() {} }

/** Wait (bounded) until `ok` holds of the cluster as `c` reads it; the last read either way. */
async function until(
  c: EtcdCoordinator,
  ok: (s: ClusterStatus) => boolean,
  ms = 15_000,
): Promise<ClusterStatus> {
  const end = Date.now() + ms
  for (;;) {
    const s = await c.cluster()
    if (ok(s) || Date.now() > end) return s
    await new Promise((r) => setTimeout(r, 100))
  }
}

/** The cluster view read from a real three-member etcd cluster, three coordinators on it. */
describe('cluster view (real etcd)', () => {
  let etcd: EtcdCluster
  let a: EtcdCoordinator
  let b: EtcdCoordinator
  let c: EtcdCoordinator
  const cfg = (replica: string): CoordinationConfig => ({
    replica,
    etcd: { endpoints: etcd.endpoints, prefix: `/fg-view-${process.pid}`, leaseTtlMs: 2000 },
  })

  beforeAll(async () => {
    etcd = await EtcdCluster.start()
    // one after the other: the lease order (and so the leader) is a, b, c
    a = await EtcdCoordinator.start(cfg('a'), quiet)
    b = await EtcdCoordinator.start(cfg('b'), quiet)
    c = await EtcdCoordinator.start(cfg('c'), quiet)
  }, 30_000)
  afterAll(async () => {
    await Promise.allSettled([a, b, c].map((r) => r?.close()))
    await etcd?.stop()
  }, 30_000)

  it('every replica, oldest lease first, the leader, and each lease as etcd has it', async () => {
    for (const from of [a, b, c]) {
      const s = await from.cluster()
      expect(s.mode).toBe('etcd')
      expect(s.replica).toBe(from.replica)
      expect(s.leader).toBe('a')
      expect(s.replicas.map((r) => r.name)).toEqual(['a', 'b', 'c'])
      expect(s.replicas.map((r) => r.leader)).toEqual([true, false, false])
      expect(s.replicas.filter((r) => r.self).map((r) => r.name)).toEqual([from.replica])
      for (const r of s.replicas) {
        expect(r.lease).toMatch(/^[0-9]+$/)
        expect(r.ttlS).toBe(2)
        expect(r.remainingS).toBeGreaterThanOrEqual(0)
        expect(r.remainingS).toBeLessThanOrEqual(2)
        expect(r.leaseAgeMs).toBeGreaterThanOrEqual(0)
        expect(Number.isNaN(Date.parse(r.since!))).toBe(false)
      }
      expect(s.devices).toEqual([])
      expect(s.self).toMatchObject({ mode: 'etcd', replica: from.replica, state: 'ok' })
    }
  }, 20_000)

  it('a device is held by the replica that took it; the others queue behind it in arrival order', async () => {
    const never = new AbortController().signal
    await b.acquire('pdu', never)
    const cWaits = c.acquire('pdu', never)
    // c's key first, then a's: the queue is the order of arrival
    await until(a, (s) => s.devices[0]?.waiting.length === 1)
    const aWaits = a.acquire('pdu', never)
    const s = await until(a, (x) => x.devices[0]?.waiting.length === 2)
    expect(s.devices).toEqual([{ device: 'pdu', holder: 'b', waiting: ['c', 'a'] }])
    const byName = Object.fromEntries(s.replicas.map((r) => [r.name, r]))
    expect(byName.b).toMatchObject({ holding: ['pdu'], waiting: [] })
    expect(byName.c).toMatchObject({ holding: [], waiting: ['pdu'] })
    expect(byName.a).toMatchObject({ holding: [], waiting: ['pdu'] })
    expect(s.self.holding).toEqual([])
    // the lock moves on: c holds, a waits; c counts a lock taken over from another replica
    await b.release('pdu', true, async () => {})
    await cWaits
    const moved = await until(b, (x) => x.devices[0]?.holder === 'c')
    expect(moved.devices).toEqual([{ device: 'pdu', holder: 'c', waiting: ['a'] }])
    expect(c.view().counters).toMatchObject({ lockAcquisitions: 1, lockWaits: 1, lockMoves: 1 })
    expect(b.view().counters).toMatchObject({ lockAcquisitions: 1, lockWaits: 0, lockMoves: 0 })
    await c.release('pdu', true, async () => {})
    await aWaits
    await a.release('pdu', true, async () => {})
    expect((await until(b, (x) => x.devices.length === 0)).devices).toEqual([])
  }, 30_000)

  it('a replica that closes leaves the view; the next oldest leads', async () => {
    await a.close()
    const s = await until(b, (x) => !x.replicas.some((r) => r.name === 'a'))
    expect(s.replicas.map((r) => r.name)).toEqual(['b', 'c'])
    expect(s.leader).toBe('b')
    expect(s.replicas[0]).toMatchObject({ name: 'b', leader: true, self: true })
  }, 20_000)

  it('a replica that dies without a word (its lease not renewed) leaves the view once etcd expires its lease', async () => {
    // c stops renewing, as a killed process would: etcd drops its lease after the TTL
    ;(c as unknown as { timer: NodeJS.Timeout }).timer.close()
    const s = await until(b, (x) => x.replicas.length === 1, 20_000)
    expect(s.replicas.map((r) => r.name)).toEqual(['b'])
    expect(s.leader).toBe('b')
  }, 30_000)

  it('etcd without quorum: the view cannot be read (COORDINATION_UNAVAILABLE naming etcd); view() still answers', async () => {
    await etcd.stopMember(1)
    await etcd.stopMember(2)
    const err = (await b.cluster().catch((e) => e)) as FenceError
    expect(err.code).toBe('COORDINATION_UNAVAILABLE')
    expect(err.message).toContain('the cluster view could not be read')
    expect(b.view()).toMatchObject({ mode: 'etcd', replica: 'b' })
    // and the lease goes within its TTL: counted as a loss, after renewals that etcd acknowledged
    for (let i = 0; i < 100 && b.view().state !== 'lost'; i++) await new Promise((r) => setTimeout(r, 100))
    expect(b.view()).toMatchObject({ state: 'lost', holding: [] })
    expect(b.view().counters!.leaseLosses).toBe(1)
    expect(b.view().counters!.leaseGrants).toBe(1)
    expect(b.view().counters!.leaseRenewals).toBeGreaterThan(0)
  }, 30_000)
})
