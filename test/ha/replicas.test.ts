import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ReplicaSet, call } from './replicas.js'

const NODES = 8
const nodes = Object.fromEntries(
  Array.from({ length: NODES }, (_, i) => [`n${i + 1}`, { plugs: [`pdu:${i + 1}`] }]),
)

/** Three real gateway processes, one lab, a real three-member etcd cluster. */
describe('replicas through etcd (real processes)', () => {
  let set: ReplicaSet
  beforeAll(async () => {
    set = await ReplicaSet.start({
      devices: { pdu: { kind: 'dummy', listen: '127.0.0.1:0', plugs: NODES, transitionDelay: '5ms' } },
      nodes,
    })
  }, 180_000)
  afterAll(async () => {
    await set?.stop()
  }, 60_000)

  it('concurrent operations on one device through three replicas: never two sessions on it at once', async () => {
    const before = await set.sessions('pdu')
    const asks: Promise<{ status: number; body: Record<string, unknown> }>[] = []
    for (let round = 0; round < 4; round++)
      for (const [i, r] of set.replicas.entries())
        for (let k = 0; k < 3; k++) {
          const node = `n${1 + ((round * 7 + i * 3 + k) % NODES)}`
          asks.push(
            k === 2
              ? call(r.url, 'GET', `/v1/nodes/${node}`)
              : call(r.url, 'POST', `/v1/nodes/${node}/power`, { action: (round + k) % 2 ? 'on' : 'off' }),
          )
        }
    const answers = await Promise.all(asks)
    for (const a of answers) expect(a.status, JSON.stringify(a.body)).toBe(200)
    const powered = answers.map((a) => a.body.operation as { status: string } | undefined).filter((o) => o)
    expect(powered.length).toBe(24)
    for (const o of powered) expect(o!.status, JSON.stringify(o)).toBe('succeeded')
    const read = answers.map((a) => a.body.node as { state: string } | undefined).filter((n) => n)
    expect(read.length).toBe(12)
    for (const n of read) expect(['on', 'off']).toContain(n!.state)
    const after = await set.sessions('pdu')
    // the device was handed between replicas (each hand-over ends a session and opens another)...
    expect(after.total - before.total).toBeGreaterThan(3)
    // ...and never had two at once
    expect(after.overlaps).toBe(0)
    expect(after.maxOpen).toBe(1)
  }, 120_000)

  it('etcd loses quorum: replicas stop driving devices and answer 503 naming the cause; they resume when etcd returns', async () => {
    const commands = set.lab.device('pdu')!.sim.commands.length
    await set.etcd.stopMember(1)
    await set.etcd.stopMember(2)
    try {
      // within a lease (2 s) every replica has given up its lease; poll, no wall-clock threshold
      for (const r of set.replicas) {
        let a = await call(r.url, 'POST', '/v1/nodes/n1/power', { action: 'off' })
        for (let i = 0; i < 100 && a.status !== 503; i++) {
          await new Promise((res) => setTimeout(res, 100))
          a = await call(r.url, 'POST', '/v1/nodes/n1/power', { action: 'off' })
        }
        expect(a.status, JSON.stringify(a.body)).toBe(503)
        expect(a.body.code).toBe('COORDINATION_UNAVAILABLE')
        expect(String(a.body.message)).toMatch(/lease/)
        const f = await call(r.url, 'POST', '/v1/nodes/n2/fence', {})
        expect(f.status).toBe(503)
        expect(f.body.code).toBe('COORDINATION_UNAVAILABLE')
      }
      // nothing reached the device once the leases were gone
      const during = set.lab.device('pdu')!.sim.commands.length
      await new Promise((res) => setTimeout(res, 500))
      expect(set.lab.device('pdu')!.sim.commands.length).toBe(during)
      expect(during - commands).toBeLessThanOrEqual(set.replicas.length)
    } finally {
      set.etcd.startMember(1)
      set.etcd.startMember(2)
    }
    await set.etcd.waitHealthy(30_000)
    for (const r of set.replicas) {
      let a = await call(r.url, 'POST', '/v1/nodes/n3/power', { action: 'on' })
      for (let i = 0; i < 200 && a.status !== 200; i++) {
        await new Promise((res) => setTimeout(res, 100))
        a = await call(r.url, 'POST', '/v1/nodes/n3/power', { action: 'on' })
      }
      expect(a.status, JSON.stringify(a.body)).toBe(200)
      expect((a.body.operation as { status: string }).status).toBe('succeeded')
    }
    expect((await set.sessions('pdu')).overlaps).toBe(0)
  }, 120_000)
})
