import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { FenceError } from '../../core/errors.js'
import { LOCAL_ONLY } from '../../src/api/routes/history.js'
import type { JournalHistoryQuery } from '../../src/audit/journal.js'
import { EmbeddedCoordinator, unavailable } from '../../src/coordination/coordinator.js'
import type { HistoryEntry } from '../../src/engine/types.js'
import { type ApiGateway, bearer, startApi } from './helpers.js'

/** The cluster's history as a test says it is: entries, or etcd that does not answer, or a cursor it does not know. */
class FakeCluster extends EmbeddedCoordinator {
  answer: HistoryEntry[] | Error = []
  readonly asked: JournalHistoryQuery[] = []
  override operationPage(q: JournalHistoryQuery): Promise<HistoryEntry[] | undefined> {
    this.asked.push(q)
    return this.answer instanceof Error ? Promise.reject(this.answer) : Promise.resolve(this.answer)
  }
}

const remote = (i: number, node: string): HistoryEntry => ({
  op: `remote-${i}`,
  kind: 'fence',
  action: 'off',
  node,
  initiator: { name: 'pacemaker', role: 'fencer', via: 'api' },
  startedAt: new Date(Date.UTC(2026, 11, 5, 6, 0, i)).toISOString(),
  outcome: i === 0 ? 'unknown' : 'success',
  ...(i === 0 ? { error: { code: 'REPLICA_LOST', message: 'outcome unknown: replica r1 died' } } : {}),
})

const cluster = new FakeCluster('r2')
let g: ApiGateway
let local: string
beforeAll(async () => {
  g = await startApi({ engineOptions: { coordinator: cluster } })
  const r = await g.app.inject({
    method: 'POST',
    url: '/v1/nodes/n1/power',
    headers: bearer('operator'),
    payload: { action: 'off' },
  })
  local = (r.json() as { operation: { id: string } }).operation.id
})
afterAll(async () => g?.stop())
beforeEach(() => {
  cluster.asked.length = 0
})

type Page = { entries: HistoryEntry[]; next?: string; warning?: string; field?: string; message?: string }
const get = async (url: string, who: 'viewer' | 'lab' = 'viewer') => {
  const r = await g.app.inject({ method: 'GET', url, headers: bearer(who) })
  return { status: r.statusCode, body: r.json() as Page }
}

describe('GET /v1/history in replica mode', () => {
  it("answers the cluster's page (other replicas' operations too), with the journal's paging and no warning", async () => {
    cluster.answer = [remote(3, 'n1'), remote(2, 'n1'), remote(1, 'n1'), remote(0, 'n1')]
    const { status, body } = await get(
      '/v1/history?limit=3&node=n1&outcome=success&since=2026-12-05T00:00:00Z',
    )
    expect(status).toBe(200)
    expect(body.entries.map((e) => e.op)).toEqual(['remote-3', 'remote-2', 'remote-1'])
    expect(body.entries.map((e) => e.op)).not.toContain(local)
    expect(body.next).toBe(Buffer.from('remote-1\u0000n1').toString('base64url'))
    expect(body.warning).toBeUndefined()
    // the filters reach the cluster's reader as the journal would get them; one more than asked
    expect(cluster.asked[0]).toMatchObject({
      node: 'n1',
      outcome: 'success',
      since: new Date('2026-12-05T00:00:00Z'),
      limit: 4,
    })
  })

  it("a restricted token's query names its nodes, and it never sees another node's entry", async () => {
    cluster.answer = [remote(3, 'n1'), remote(2, 'lv')]
    const { body } = await get('/v1/history', 'lab')
    expect(cluster.asked[0]!.nodes).toEqual(['n1', 'dual'])
    expect(body.entries.map((e) => e.node)).toEqual(['n1'])
  })

  it("etcd cannot be read: this replica's own journal, and a warning saying so and why", async () => {
    cluster.answer = unavailable('etcd: reading the cluster history failed: deadline exceeded')
    const { status, body } = await get('/v1/history')
    expect(status).toBe(200)
    expect(body.entries.map((e) => e.op)).toEqual([local])
    expect(body.warning).toBe(`${LOCAL_ONLY} (etcd: reading the cluster history failed: deadline exceeded)`)
  })

  it('a cursor the cluster does not know is a 400 naming querystring.before (not a silent fall back)', async () => {
    cluster.answer = new FenceError('BAD_REQUEST', 'before: cursor "x" is not in the cluster\'s history', {
      field: 'before',
    })
    const { status, body } = await get('/v1/history?before=eA')
    expect(status).toBe(400)
    expect(body.field).toBe('querystring.before')
    expect(body.message).toMatch(/^querystring\.before: cursor "x" is not in the cluster's history/)
  })

  it('any other failure of the reader is an error, never a page that looks complete', async () => {
    cluster.answer = new Error('bug')
    const { status, body } = await get('/v1/history')
    expect(status).toBe(500)
    expect(body.entries).toBeUndefined()
  })
})
