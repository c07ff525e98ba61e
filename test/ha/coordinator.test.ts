import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { CoordinationConfig } from '../../src/config/coordination.js'
import { EtcdCoordinator } from '../../src/coordination/etcd.js'
import type { FenceError } from '../../core/errors.js'
import { EtcdCluster } from '../../firmware-mocks/etcd-cluster.js'

const quiet = { info() {}, warn() {} }

/** Device locks in a real three-member etcd cluster, through the etcd3 client. */
describe('etcd coordinator (real etcd, three members)', () => {
  let etcd: EtcdCluster
  const replicas: EtcdCoordinator[] = []
  const cfg = (replica: string, endpoints = etcd.endpoints): CoordinationConfig => ({
    replica,
    etcd: { endpoints, prefix: `/fg-test-${process.pid}`, leaseTtlMs: 2000 },
  })

  beforeAll(async () => {
    etcd = await EtcdCluster.start()
  }, 30_000)
  afterAll(async () => {
    await Promise.allSettled(replicas.map((r) => r.close()))
    await etcd?.stop()
  }, 30_000)

  it('refuses to start when etcd cannot be reached, naming the endpoint', async () => {
    const err = (await EtcdCoordinator.start(cfg('nowhere', ['http://127.0.0.1:1']), quiet).catch(
      (e) => e,
    )) as FenceError
    expect(err.code).toBe('COORDINATION_UNAVAILABLE')
    expect(err.message).toContain('http://127.0.0.1:1')
  }, 15_000)

  it('one holder of a device at a time; a waiter gets it when the holder lets go', async () => {
    const a = await EtcdCoordinator.start(cfg('a'), quiet)
    const b = await EtcdCoordinator.start(cfg('b'), quiet)
    replicas.push(a, b)
    const never = new AbortController().signal
    await a.acquire('pdu', never)
    let bHas = false
    const bWaits = b.acquire('pdu', never).then(() => {
      bHas = true
    })
    await new Promise((r) => setTimeout(r, 300))
    expect(bHas).toBe(false)
    expect(a.view().holding).toEqual(['pdu'])
    let closed = 0
    await a.release('pdu', true, async () => {
      closed++
    })
    await bWaits
    expect(closed).toBe(1)
    expect(b.view().holding).toEqual(['pdu'])
    expect(a.view().holding).toEqual([])
    await b.release('pdu', true, async () => {})
  }, 20_000)

  it('a waiter that gives up leaves the queue (the next one is not blocked)', async () => {
    const [a, b] = replicas as [EtcdCoordinator, EtcdCoordinator]
    const c = await EtcdCoordinator.start(cfg('c'), quiet)
    replicas.push(c)
    const never = new AbortController().signal
    await a.acquire('bmc', never)
    const gone = new AbortController()
    const bTry = b.acquire('bmc', gone.signal).catch((e: FenceError) => e.code)
    await new Promise((r) => setTimeout(r, 100))
    const cTry = c.acquire('bmc', never)
    gone.abort()
    expect(await bTry).toBe('ABORTED')
    await a.release('bmc', true, async () => {})
    await cTry
    expect(c.view().holding).toEqual(['bmc'])
    await c.release('bmc', true, async () => {})
  }, 20_000)

  it('an aborted attempt whose key is deleted late never takes the key of the next attempt (model seed 92026)', async () => {
    const [a, b, c] = replicas as [EtcdCoordinator, EtcdCoordinator, EtcdCoordinator]
    const never = new AbortController().signal
    await c.acquire('kvm', never)
    // a's etcd requests to delete a key arrive late (a slow network): its aborted attempt's
    // background delete lands after a's next attempt has been granted the device
    const ns = (a as unknown as { ns: { delete: () => unknown } }).ns
    const del = ns.delete.bind(ns) as () => {
      key: (k: string) => { options: (o: object) => Promise<unknown> }
    }
    const late: Promise<unknown>[] = []
    ns.delete = () => ({
      key: (k: string) => ({
        options: (o: object) => {
          const p = new Promise((r) => setTimeout(r, 300)).then(() => del().key(k).options(o))
          late.push(p.catch(() => {}))
          return p
        },
      }),
    })
    try {
      const gone = new AbortController()
      const first = a.acquire('kvm', gone.signal).catch((e: FenceError) => e.code)
      await new Promise((r) => setTimeout(r, 100))
      gone.abort()
      expect(await first).toBe('ABORTED')
      await c.release('kvm', true, async () => {})
      await a.acquire('kvm', never)
      expect(a.view().holding).toEqual(['kvm'])
      await Promise.all(late)
      // a holds the device: its lock key must still be in etcd, so b waits behind it
      const bTry = await b.acquire('kvm', AbortSignal.timeout(800)).then(
        () => 'acquired',
        (e: FenceError) => e.code,
      )
      expect(bTry).not.toBe('acquired')
      expect(b.view().holding).toEqual([])
    } finally {
      ns.delete = del
    }
    await a.release('kvm', true, async () => {})
    await b.acquire('kvm', AbortSignal.timeout(5000))
    await b.release('kvm', true, async () => {})
  }, 20_000)

  it('a lock whose delete etcd refused is deleted again: it never blocks the device for good (model seed 7)', async () => {
    const [a, b] = replicas as [EtcdCoordinator, EtcdCoordinator]
    await a.acquire('sts', new AbortController().signal)
    // etcd refuses a's first delete (a member restarting): the key must not stay behind
    const ns = (a as unknown as { ns: { delete: () => unknown } }).ns
    const del = ns.delete.bind(ns)
    let refused = 0
    ns.delete = () => {
      if (refused++ > 0) return del()
      return { key: () => ({ options: () => Promise.reject(new Error('etcd member unavailable')) }) }
    }
    try {
      await a.release('sts', true, async () => {})
      expect(refused).toBe(1)
      await b.acquire('sts', AbortSignal.timeout(5000))
      expect(b.view().holding).toContain('sts')
      expect(refused).toBeGreaterThan(1)
    } finally {
      ns.delete = del
    }
    await b.release('sts', true, async () => {})
  }, 20_000)

  it('the oldest live replica leads; every replica names the same leader', async () => {
    const [a, b, c] = replicas as [EtcdCoordinator, EtcdCoordinator, EtcdCoordinator]
    expect(await Promise.all([a.leader(), b.leader(), c.leader()])).toEqual(['a', 'a', 'a'])
    expect(await Promise.all([a.isLeader(), b.isLeader(), c.isLeader()])).toEqual([true, false, false])
  }, 20_000)

  it('loss of quorum: the lease is lost, held calls are aborted, 503 cause; back when etcd returns', async () => {
    const [a] = replicas as [EtcdCoordinator]
    const lease = await a.acquire('ups', new AbortController().signal)
    expect(lease?.aborted).toBe(false)
    await etcd.stopMember(1)
    await etcd.stopMember(2)
    await new Promise<void>((r) => lease!.addEventListener('abort', () => r(), { once: true }))
    expect((lease!.reason as FenceError).code).toBe('COORDINATION_UNAVAILABLE')
    let err: FenceError | undefined
    try {
      a.checkAvailable()
    } catch (e) {
      err = e as FenceError
    }
    expect(err?.code).toBe('COORDINATION_UNAVAILABLE')
    expect(err?.message).toMatch(/lease/)
    expect(a.view()).toMatchObject({ state: 'lost', holding: [] })
    etcd.startMember(1)
    etcd.startMember(2)
    await etcd.waitHealthy(20_000)
    for (let i = 0; i < 200 && a.view().state !== 'ok'; i++) await new Promise((r) => setTimeout(r, 100))
    expect(a.view().state).toBe('ok')
    // the lock held under the lost lease is gone: another replica can take the device
    const [, b] = replicas as [EtcdCoordinator, EtcdCoordinator]
    for (let i = 0; i < 200 && b.view().state !== 'ok'; i++) await new Promise((r) => setTimeout(r, 100))
    await b.acquire('ups', AbortSignal.timeout(10_000))
    expect(b.view().holding).toContain('ups')
    await b.release('ups', true, async () => {})
  }, 60_000)
})
