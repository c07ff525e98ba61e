import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ClusterStatus } from '../../src/coordination/cluster-view.js'
import { run } from '../cli/helpers.js'
import { ReplicaSet, TOKEN, call } from './replicas.js'

type Answer = ClusterStatus & { simulated: boolean }

/** Poll `url`'s GET /v1/cluster (bounded) until `ok` holds; the last answer either way. */
async function clusterUntil(url: string, ok: (s: Answer) => boolean, ms = 20_000): Promise<Answer> {
  const end = Date.now() + ms
  for (;;) {
    const r = await call(url, 'GET', '/v1/cluster')
    const s = r.body as unknown as Answer
    if ((r.status === 200 && ok(s)) || Date.now() > end) return s
    await new Promise((res) => setTimeout(res, 50))
  }
}

/** GET /v1/cluster, `fencegate cluster` and the replica metrics over real `fencegate serve` replicas. */
describe('the cluster view of real replicas', () => {
  let set: ReplicaSet
  beforeAll(async () => {
    set = await ReplicaSet.start({
      devices: { pdu: { kind: 'dummy', listen: '127.0.0.1:0', plugs: 2 } },
      nodes: { n1: { plugs: ['pdu:1'] }, n2: { plugs: ['pdu:2'] } },
      count: 2,
    })
  }, 180_000)
  afterAll(async () => {
    await set?.stop()
  }, 60_000)

  let leader = ''
  let other = ''

  it('every replica sees both replicas and the same leader', async () => {
    const answers = await Promise.all(
      set.replicas.map((r) => clusterUntil(r.url, (s) => s.replicas.length === 2)),
    )
    for (const [i, s] of answers.entries()) {
      expect(s.mode).toBe('etcd')
      expect(s.replica).toBe(set.replicas[i]!.name)
      expect(s.replicas.map((r) => r.name).sort()).toEqual(['r1', 'r2'])
      expect(s.replicas.filter((r) => r.leader).map((r) => r.name)).toEqual([s.leader])
      expect(s.replicas.find((r) => r.self)?.name).toBe(s.replica)
      expect(s.self.state).toBe('ok')
    }
    expect(answers[0]!.leader).toBe(answers[1]!.leader)
    leader = answers[0]!.leader!
    other = leader === 'r1' ? 'r2' : 'r1'
  }, 60_000)

  it('a device is shown held by the replica that drives it, seen from the other', async () => {
    const sim = set.lab.device('pdu')!.sim
    sim.faults.add({ type: 'delay', ms: 1000 }) // each device round takes a second: the lock stays a while
    try {
      const driving = call(set.replica(other).url, 'POST', '/v1/nodes/n1/power', { action: 'off' })
      const seen = await clusterUntil(set.replica(leader).url, (s) => s.devices.length > 0)
      expect(seen.devices).toEqual([{ device: 'pdu', holder: other, waiting: [] }])
      expect(seen.replicas.find((r) => r.name === other)?.holding).toEqual(['pdu'])
      expect(seen.replicas.find((r) => r.name === leader)?.holding).toEqual([])
      const done = await driving
      expect(done.status, JSON.stringify(done.body)).toBe(200)
    } finally {
      sim.faults.clear()
    }
    // the driver's metrics count the lock it took
    const metrics = await fetch(`${set.replica(other).url}/metrics`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    }).then((r) => r.text())
    expect(metrics).toContain('fencegate_replica_lease_up 1')
    expect(metrics).toMatch(/^fencegate_replica_lock_acquisitions_total [1-9][0-9]*$/m)
    expect(metrics).toMatch(/^fencegate_replica_lease_renewals_total [1-9][0-9]*$/m)
  }, 60_000)

  it('fencegate cluster: the table, exit 0', async () => {
    const r = await run(['cluster', '--url', set.replica(other).url], { env: { FENCEGATE_TOKEN: TOKEN } })
    expect(r.code, r.err).toBe(0)
    expect(r.out).toContain(`leader ${leader}, answered by ${other}`)
    expect(r.out).toMatch(new RegExp(`^${leader} \\(leader\\) `, 'm'))
    expect(r.out).toMatch(new RegExp(`^${other} \\(this one\\) `, 'm'))
  }, 30_000)

  it('the leader killed (SIGKILL): it leaves the view when its lease expires, the other leads', async () => {
    const dead = set.replica(leader)
    dead.child.kill('SIGKILL')
    await dead.exited
    const s = await clusterUntil(set.replica(other).url, (x) => x.replicas.length === 1)
    expect(s.replicas.map((r) => r.name)).toEqual([other])
    expect(s.leader).toBe(other)
  }, 60_000)
})
