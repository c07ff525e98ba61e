import { readFileSync } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { OPERATOR_TOKEN, ReplicaSet, TOKEN, call } from './replicas.js'

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
    for (const a of answers)
      expect(a.status, `${JSON.stringify(a.body)}\n${set.replicas.map((r) => r.log()).join('\n')}`).toBe(200)
    const powered = answers.map((a) => a.body.operation as { status: string } | undefined).filter((o) => o)
    expect(powered.length).toBe(24)
    for (const o of powered) expect(o!.status, JSON.stringify(o)).toBe('succeeded')
    const read = answers.map((a) => a.body.node as { state: string } | undefined).filter((n) => n)
    expect(read.length).toBe(12)
    for (const n of read) expect(['on', 'off']).toContain(n!.state)
    // any replica answers for an operation another one ran
    const one = answers.find((a) => a.body.operation)!.body.operation as { id: string }
    for (const r of set.replicas) {
      const got = await call(r.url, 'GET', `/v1/operations/${one.id}`)
      expect(got.status).toBe(200)
      expect(got.body.operation).toEqual(one)
    }
    const after = await set.sessions('pdu')
    // the device was handed between replicas (each hand-over ends a session and opens another)...
    expect(after.total - before.total).toBeGreaterThan(3)
    // ...and never had two at once
    expect(after.overlaps).toBe(0)
    expect(after.maxOpen).toBe(1)
  }, 120_000)

  it('a fence through one replica holds the node on the others (fenceHold is cluster-wide)', async () => {
    const fenced = await call(set.replica('r2').url, 'POST', '/v1/nodes/n6/fence', {})
    expect(fenced.status).toBe(200)
    const id = (fenced.body.operation as { id: string; status: string }).id
    expect((fenced.body.operation as { status: string }).status).toBe('succeeded')
    for (const name of ['r1', 'r3']) {
      const on = await call(
        set.replica(name).url,
        'POST',
        '/v1/nodes/n6/power',
        { action: 'on' },
        OPERATOR_TOKEN,
      )
      expect(on.status, JSON.stringify(on.body)).toBe(409)
      expect(on.body.code).toBe('FENCE_HOLD')
      expect(String(on.body.message)).toContain(id)
    }
    expect(set.lab.device('pdu')!.sim.state('6')).toBe('off')
    // the fencer role may power it on (as on one gateway)
    const back = await call(set.replica('r3').url, 'POST', '/v1/nodes/n6/power', { action: 'on' })
    expect((back.body.operation as { status: string }).status).toBe('succeeded')
  }, 60_000)

  it('a fence of a node being fenced through another replica joins it (rule 7 across replicas): one fence, one result', async () => {
    const sim = set.lab.device('pdu')!.sim
    const offs = () => sim.commands.filter((c) => c.plug === '7' && c.action === 'off').length
    await fetch(`${set.control}/devices/pdu/plugs/7`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ state: 'on' }),
    })
    const before = offs()
    sim.transitionDelayMs = 800 // the fence's read-back waits for the relay: time for the others to join
    try {
      const first = call(set.replica('r1').url, 'POST', '/v1/nodes/n7/fence', {})
      let answered: unknown
      void first.then((v) => {
        answered = v
      })
      while (offs() === before && answered === undefined) await new Promise((res) => setTimeout(res, 10))
      expect(offs(), JSON.stringify(answered)).toBeGreaterThan(before)
      const [a, b, c] = await Promise.all([
        first,
        call(set.replica('r2').url, 'POST', '/v1/nodes/n7/fence', {}),
        call(set.replica('r3').url, 'POST', '/v1/nodes/n7/fence', {}),
      ])
      type Fenced = { id: string; status: string; results: { state: string; joined?: boolean }[] }
      const [opA, opB, opC] = [a, b, c].map((x) => x.body.operation as Fenced) as [Fenced, Fenced, Fenced]
      expect(opA.status, JSON.stringify(a.body)).toBe('succeeded')
      for (const o of [opB, opC]) {
        expect(o.id, JSON.stringify(o)).toBe(opA.id)
        expect(o.status).toBe('succeeded')
        expect(o.results[0]).toMatchObject({ state: 'off', joined: true })
      }
      expect(offs() - before).toBe(1)
    } finally {
      sim.transitionDelayMs = 5
    }
  }, 60_000)

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
        expect(String(a.body.message)).toMatch(/etcd/)
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

  it('kill -9 of the replica holding the device mid-fence: another replica runs the fence again; the retry with the same Idempotency-Key gets its result; nothing is lost', async () => {
    const sim = set.lab.device('pdu')!.sim
    await fetch(`${set.control}/devices/pdu/plugs/5`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ state: 'on' }),
    })
    sim.transitionDelayMs = 1500 // the fence's read-back waits for the relay: time to kill its replica
    const r1 = set.replica('r1')
    const offs = () => sim.commands.filter((c) => c.plug === '5' && c.action === 'off').length
    const before = offs()
    const key = 'fence-n5-after-kill'
    const first = fetch(`${r1.url}/v1/nodes/n5/fence`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${TOKEN}`,
        'content-type': 'application/json',
        'idempotency-key': key,
      },
      body: JSON.stringify({}),
    }).then(
      (r) => ({ status: r.status }),
      (e: Error) => ({ error: e.message }),
    )
    let settled: unknown
    void first.then((v) => {
      settled = v
    })
    while (offs() === before && settled === undefined) await new Promise((res) => setTimeout(res, 10))
    expect(offs(), JSON.stringify(settled)).toBeGreaterThan(before)
    r1.child.kill('SIGKILL')
    await r1.exited
    // the caller of the dead replica gets an error (its connection is gone), never a result it cannot trust
    expect(await first).toHaveProperty('error')
    sim.transitionDelayMs = 5
    // it retries with the same key on another replica: the result of the fence, run again there or by r3
    const r2 = set.replica('r2')
    const retry = await fetch(`${r2.url}/v1/nodes/n5/fence`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${TOKEN}`,
        'content-type': 'application/json',
        'idempotency-key': key,
      },
      body: JSON.stringify({}), // the same request: a key names one request
    })
    const body = (await retry.json()) as {
      operation: { id: string; status: string; results: { state: string }[] }
    }
    expect(retry.status, JSON.stringify(body)).toBe(200)
    expect(retry.headers.get('idempotent-replayed')).toBe('true')
    expect(body.operation.status).toBe('succeeded')
    expect(body.operation.results[0]!.state).toBe('off')
    expect(sim.state('5')).toBe('off')
    // the dead replica's operation is not lost: any replica reports it, outcome unknown, and names the re-run
    // (its id: the intent in the dead replica's own journal, synced before it touched the device)
    const orphanId = readFileSync(path.join(set.dir, 'r1.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { t: string; op: string; kind?: string; nodes?: string[] })
      .find((e) => e.t === 'intent' && e.kind === 'fence' && e.nodes?.includes('n5'))!.op
    expect(orphanId).not.toBe(body.operation.id)
    const orphan = await call(set.replica('r3').url, 'GET', `/v1/operations/${orphanId}`)
    expect(orphan.status).toBe(200)
    const op = orphan.body.operation as {
      status: string
      results: { state: string; error: { code: string; message: string } }[]
    }
    expect(op.status).toBe('failed')
    expect(op.results[0]!.state).toBe('unknown')
    expect(op.results[0]!.error.code).toBe('REPLICA_LOST')
    expect(op.results[0]!.error.message).toContain(`as ${body.operation.id}`)
    expect((await set.sessions('pdu')).overlaps).toBe(0)
  }, 120_000)
})
