import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { CoordinationConfig } from '../../src/config/coordination.js'
import { EtcdCoordinator } from '../../src/coordination/etcd.js'
import { EtcdCluster } from '../../firmware-mocks/etcd-cluster.js'
import { EtcdGate } from '../model/etcd-gate.js'

const quiet = { info() {}, warn() {} }

/**
 * One etcd member of three hangs (its connections stay open, nothing comes back: a stalled disk,
 * a stopped process, a half-dead link). The other two hold quorum, so every call must still
 * succeed: a call stuck on the hung member moves to another one within its budget, and the hung
 * member is skipped for the calls after it. (The replica model found this: a final status read
 * failed "DEADLINE_EXCEEDED after 0.000s" because the first try had spent the whole budget.)
 */
describe('etcd coordinator with one member hung (real etcd, three members)', () => {
  let etcd: EtcdCluster
  let gate: EtcdGate
  const replicas: EtcdCoordinator[] = []
  const cfg = (replica: string, endpoints = gate.endpoints): CoordinationConfig => ({
    replica,
    etcd: { endpoints, prefix: `/fg-hung-${process.pid}`, leaseTtlMs: 2000 },
  })

  beforeAll(async () => {
    etcd = await EtcdCluster.start()
    gate = await EtcdGate.open(etcd.endpoints)
  }, 30_000)
  afterAll(async () => {
    await Promise.allSettled(replicas.map((r) => r.close()))
    await gate?.close()
    await etcd?.stop()
  }, 30_000)

  it('locks, intents and reads keep working, and the lease holds', async () => {
    const a = await EtcdCoordinator.start(cfg('a'), quiet)
    replicas.push(a)
    gate.cut([0])
    const never = new AbortController().signal
    const failures: string[] = []
    for (let i = 0; i < 24; i++) {
      try {
        await a.acquire('pdu', never)
        await a.release('pdu', true, async () => {})
        await a.findOperation(`none-${i}`)
      } catch (e) {
        failures.push(`round ${i}: ${(e as Error).message}`)
      }
    }
    expect(failures).toEqual([])
    expect(a.view().state).toBe('ok')
    gate.mend()
  }, 60_000)

  it('a replica starts while the member it may dial first is hung', async () => {
    gate.cut([0])
    try {
      for (const name of ['b', 'c', 'd']) {
        const r = await EtcdCoordinator.start(cfg(name), quiet)
        replicas.push(r)
        expect(r.view().state).toBe('ok')
      }
    } finally {
      gate.mend()
    }
  }, 60_000)

  it('a replica starts and locks while a listed member is stopped (its port refuses)', async () => {
    // port 1 refuses on loopback: a member whose process is gone
    const endpoints = ['http://127.0.0.1:1', ...etcd.endpoints]
    const never = new AbortController().signal
    for (const name of ['e', 'f']) {
      const r = await EtcdCoordinator.start(cfg(name, endpoints), quiet)
      replicas.push(r)
      for (let i = 0; i < 8; i++) {
        await r.acquire('pdu-2', never)
        await r.release('pdu-2', true, async () => {})
      }
      expect(r.view().state).toBe('ok')
    }
  }, 60_000)
})
