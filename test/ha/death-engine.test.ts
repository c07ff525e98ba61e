import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { EtcdCoordinator } from '../../src/coordination/etcd.js'
import { engineFence } from '../../src/heartbeat/index.js'
import { EtcdCluster } from '../../firmware-mocks/etcd-cluster.js'
import { FakeDriver } from '../helpers/fake-driver.js'
import { type TestGateway, startTestGateway } from '../helpers/gateway.js'

/**
 * The heartbeat's fence path in replica mode, engine included: two gateways (real engines over one
 * shared fake PDU, as replicas share the real one) are replicas over a real etcd cluster and both
 * hear the same death. One engine drives the device; the other reports the fence as done by that
 * replica — the heartbeat's fence callback says `by` — and touches nothing.
 */
const quiet = { info() {}, warn() {} }

describe('heartbeat fencing through the engines of two replicas (real etcd)', () => {
  let etcd: EtcdCluster
  let gws: { gw: TestGateway; replica: string }[] = []
  let pdu: FakeDriver
  let prefixes = 0

  beforeAll(async () => {
    etcd = await EtcdCluster.start()
  }, 30_000)
  afterEach(async () => {
    await Promise.allSettled(gws.map((g) => g.gw.stop()))
    gws = []
  })
  afterAll(async () => {
    await etcd?.stop()
  }, 30_000)

  async function replicas(...names: string[]) {
    const prefix = `/fg-death-engine-${process.pid}-${++prefixes}`
    pdu = new FakeDriver({ '1': 'on', '2': 'on' })
    for (const replica of names) {
      const coordinator = await EtcdCoordinator.start(
        { replica, etcd: { endpoints: etcd.endpoints, prefix, leaseTtlMs: 4000 } },
        quiet,
      )
      const gw = await startTestGateway({
        devices: { pdu: { kind: 'dummy', listen: '127.0.0.1:0', plugs: 2 } },
        nodes: { n1: { plugs: ['pdu:1'] }, n2: { plugs: ['pdu:2'] } },
        engineOptions: { coordinator, createDriver: () => pdu },
      })
      gws.push({ gw, replica })
    }
    return gws
  }

  it('one death, two replicas hearing it: one engine fences (off, read back); the other reports it as that replica’s', async () => {
    const [g1, g2] = await replicas('gw1', 'gw2')
    const results = await Promise.all(
      [g1!, g2!].map((g) => engineFence(g.gw.engine, 15_000)('n2', 'off', 41)),
    )
    expect(results.every((r) => r.ok)).toBe(true)
    // one fence in all: the device was switched off once
    expect(pdu.sets('off')).toHaveLength(1)
    expect(pdu.states.get('2')).toBe('off')
    const i = results.findIndex((r) => r.by === undefined)
    expect(i).toBeGreaterThanOrEqual(0)
    const ran = [g1!, g2!][i]!
    const other = [g1!, g2!][1 - i]!
    const byOther = results[1 - i]!
    expect(byOther.by?.replica).toBe(ran.replica)
    // the operation it names is the running replica's, read back off, initiated by the heartbeat
    const op = await other.gw.engine.findOperation(byOther.by!.op!)
    expect(op).toMatchObject({
      kind: 'fence',
      status: 'succeeded',
      nodes: ['n2'],
      initiator: { name: 'heartbeat', via: 'heartbeat' },
    })
    expect(op?.results[0]).toMatchObject({ outcome: 'success', state: 'off' })
    // the other replica's journal has no fence of its own; the running one's has it
    expect((await other.gw.engine.history({ limit: 100 })).filter((h) => h.kind === 'fence')).toEqual([])
    expect((await ran.gw.engine.history({ limit: 100 })).filter((h) => h.kind === 'fence')).toHaveLength(1)
  }, 60_000)

  it('a death without a known generation (never heard) is fenced here, as on one gateway', async () => {
    const [g1] = await replicas('gw1')
    const r = await engineFence(g1!.gw.engine, 15_000)('n1', 'off', undefined)
    expect(r).toEqual({ ok: true })
    expect(pdu.sets('off')).toHaveLength(1)
  }, 60_000)
})
