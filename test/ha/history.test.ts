import { readFileSync } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LOCAL_ONLY } from '../../src/api/routes/history.js'
import { run } from '../cli/helpers.js'
import { ReplicaSet, TOKEN, admitting, call } from './replicas.js'

const NODES = 4
const nodes = Object.fromEntries(
  Array.from({ length: NODES }, (_, i) => [`n${i + 1}`, { plugs: [`pdu:${i + 1}`] }]),
)

type Entry = { op: string; node: string; outcome: string; error?: { code: string; message: string } }
type Page = { entries: Entry[]; next?: string; warning?: string }
const page = async (url: string, query = '') => {
  const a = await call(url, 'GET', `/v1/history${query}`)
  expect(a.status, JSON.stringify(a.body)).toBe(200)
  return a.body as unknown as Page
}

/** Every page of /v1/history from one replica, `limit` at a time. */
async function pages(url: string, limit: number): Promise<Page[]> {
  const out: Page[] = []
  for (let before = ''; ; ) {
    const p = await page(url, `?limit=${limit}${before ? `&before=${before}` : ''}`)
    out.push(p)
    if (!p.next) return out
    before = p.next
  }
}

/** Three real gateway processes over one lab and a real three-member etcd: one history for all. */
describe('history across replicas (real processes, real etcd)', () => {
  let set: ReplicaSet
  const ran: string[] = []
  beforeAll(async () => {
    set = await ReplicaSet.start({
      devices: { pdu: { kind: 'dummy', listen: '127.0.0.1:0', plugs: NODES, transitionDelay: '5ms' } },
      nodes,
    })
    // a loaded machine can starve a replica's first lease renewals right after start: wait until
    // each one admits work again (a status read is refused without a live lease)
    for (const r of set.replicas) await admitting(r.url)
  }, 180_000)
  afterAll(async () => {
    await set?.stop()
  }, 60_000)

  it('operations through r1 and r2: r3 (which ran none) answers all of them, newest first; every replica gives the same pages', async () => {
    for (let i = 0; i < 6; i++) {
      const via = set.replica(i % 2 ? 'r2' : 'r1')
      const a = await call(via.url, 'POST', `/v1/nodes/n${1 + (i % 3)}/power`, {
        action: i % 4 < 2 ? 'off' : 'on',
      })
      expect(a.status, JSON.stringify(a.body)).toBe(200)
      ran.push((a.body.operation as { id: string }).id)
    }
    const bulk = await call(set.replica('r2').url, 'POST', '/v1/power', { targets: 'n[1-3]', action: 'on' })
    expect(bulk.status, JSON.stringify(bulk.body)).toBe(200)
    ran.push((bulk.body.operation as { id: string }).id)
    // r3's own journal has none of them
    expect(readFileSync(path.join(set.dir, 'r3.jsonl'), 'utf8')).not.toContain(ran[0])

    const all = await page(set.replica('r3').url)
    expect(all.warning).toBeUndefined()
    // newest first; the bulk operation has one entry per node
    expect([...new Set(all.entries.map((e) => e.op))]).toEqual([...ran].reverse())
    expect(all.entries.filter((e) => e.op === ran.at(-1)).map((e) => e.node)).toEqual(['n3', 'n2', 'n1'])
    for (const e of all.entries) expect(e.outcome).toBe('success')

    const [a, b, c] = await Promise.all(set.replicas.map((r) => pages(r.url, 3)))
    expect(a!.length).toBe(3)
    expect(a).toEqual(b)
    expect(a).toEqual(c)
    expect(a!.flatMap((p) => p.entries)).toEqual(all.entries)
    // a cursor from one replica pages on through another
    const second = await page(set.replica('r1').url, `?limit=3&before=${a![0]!.next}`)
    expect(second).toEqual(a![1])
  }, 120_000)

  it("node status is the device's: the same on every replica, whichever ran the power", async () => {
    const off = await call(set.replica('r1').url, 'POST', '/v1/nodes/n4/power', { action: 'off' })
    expect((off.body.operation as { status: string }).status).toBe('succeeded')
    ran.push((off.body.operation as { id: string }).id)
    const read = await Promise.all(set.replicas.map((r) => call(r.url, 'GET', '/v1/nodes/n4')))
    for (const x of read) expect((x.body.node as { state: string }).state).toBe('off')
    const on = await call(set.replica('r3').url, 'POST', '/v1/nodes/n4/power', { action: 'on' })
    ran.push((on.body.operation as { id: string }).id)
    const again = await Promise.all(set.replicas.map((r) => call(r.url, 'GET', '/v1/nodes?refresh=true')))
    const states = again.map((x) =>
      (x.body.nodes as { name: string; state: string }[]).map((n) => [n.name, n.state]),
    )
    expect(states[0]).toContainEqual(['n4', 'on'])
    expect(states[1]).toEqual(states[0])
    expect(states[2]).toEqual(states[0])
  }, 60_000)

  it("etcd without quorum: each replica answers its own journal, with the warning; the cluster's page when etcd is back", async () => {
    await set.etcd.stopMember(1)
    await set.etcd.stopMember(2)
    try {
      const p = await page(set.replica('r3').url, '?limit=100')
      expect(p.warning, JSON.stringify(p)).toMatch(new RegExp(`^${LOCAL_ONLY}`))
      // r3's own: the one power-on it ran
      expect(p.entries.map((e) => e.op)).toEqual([ran.at(-1)])
      // the CLI prints the page as ever, and the warning on stderr
      const cli = await run(['history', '--url', set.replica('r3').url], {
        env: { FENCEGATE_TOKEN: TOKEN },
        home: set.dir,
      })
      expect(cli.code, cli.err).toBe(0)
      expect(cli.out).toContain('n4')
      expect(cli.err).toContain(`warning: ${LOCAL_ONLY}`)
      const p1 = await page(set.replica('r1').url, '?limit=100')
      expect(p1.warning).toMatch(new RegExp(`^${LOCAL_ONLY}`))
      expect(new Set(p1.entries.map((e) => e.op))).toEqual(new Set([ran[0], ran[2], ran[4], ran.at(-2)]))
    } finally {
      set.etcd.startMember(1)
      set.etcd.startMember(2)
    }
    await set.etcd.waitHealthy(30_000)
    let back = await call(set.replica('r3').url, 'GET', '/v1/history?limit=100')
    for (let i = 0; i < 100 && back.body.warning !== undefined; i++) {
      await new Promise((r) => setTimeout(r, 100))
      back = await call(set.replica('r3').url, 'GET', '/v1/history?limit=100')
    }
    expect(back.body.warning).toBeUndefined()
    expect([...new Set((back.body.entries as Entry[]).map((e) => e.op))]).toEqual([...ran].reverse())
  }, 120_000)

  it('kill -9 of a replica mid-fence: every live replica lists its operation as unknown (REPLICA_LOST) and the fence run again', async () => {
    const sim = set.lab.device('pdu')!.sim
    await fetch(`${set.control}/devices/pdu/plugs/2`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ state: 'on' }),
    })
    // every replica must have a lease again after the quorum loss before the fence is admitted
    for (const r of set.replicas) await admitting(r.url)
    const offs = () => sim.commands.filter((c) => c.plug === '2' && c.action === 'off').length
    const before = offs()
    sim.transitionDelayMs = 1500 // the fence's read-back waits for the relay: time to kill its replica
    const r1 = set.replica('r1')
    const first = fetch(`${r1.url}/v1/nodes/n2/fence`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: '{}',
    }).catch((e: Error) => ({ error: e.message }))
    for (let i = 0; i < 1000 && offs() === before; i++) await new Promise((res) => setTimeout(res, 10))
    expect(offs()).toBeGreaterThan(before)
    r1.child.kill('SIGKILL')
    await r1.exited
    await first
    sim.transitionDelayMs = 5
    const orphanId = readFileSync(path.join(set.dir, 'r1.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { t: string; op: string; kind?: string; nodes?: string[] })
      .find((e) => e.t === 'intent' && e.kind === 'fence' && e.nodes?.includes('n2'))!.op
    // once r1's lease has expired its fence is unknown, and another replica runs it again
    const look = async (url: string) => {
      const p = await page(url, '?node=n2&limit=10')
      return { orphan: p.entries.find((e) => e.op === orphanId), all: p.entries }
    }
    let seen = await look(set.replica('r2').url)
    for (
      let i = 0;
      i < 300 && !(seen.orphan?.outcome === 'unknown' && seen.orphan.error?.message.includes(' as '));
      i++
    ) {
      await new Promise((res) => setTimeout(res, 100))
      seen = await look(set.replica('r2').url)
    }
    expect(seen.orphan, JSON.stringify(seen.all)).toMatchObject({
      outcome: 'unknown',
      error: { code: 'REPLICA_LOST' },
    })
    const rerun = /as ([0-9a-f-]{36})/.exec(seen.orphan!.error!.message)![1]!
    let done = await look(set.replica('r3').url)
    for (let i = 0; i < 300 && done.all.find((e) => e.op === rerun)?.outcome !== 'success'; i++) {
      await new Promise((res) => setTimeout(res, 100))
      done = await look(set.replica('r3').url)
    }
    // the re-run is newer: it comes first; r2 and r3 give the same page
    expect(done.all.map((e) => [e.op, e.outcome]).slice(0, 2)).toEqual([
      [rerun, 'success'],
      [orphanId, 'unknown'],
    ])
    expect(await page(set.replica('r2').url, '?node=n2&limit=10')).toEqual(
      await page(set.replica('r3').url, '?node=n2&limit=10'),
    )
    expect(sim.state('2')).toBe('off')
  }, 120_000)
})
