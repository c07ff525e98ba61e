import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FenceError } from '../../core/errors.js'
import { type JournalHistoryQuery, Journal, historyCursor } from '../audit/journal.js'
import type { HistoryEntry, NodeResult, Operation } from '../engine/types.js'
import type { OperationRecord } from './coordinator.js'
import { type HistoryStore, entriesOf, historyKey, readHistory } from './etcd-history.js'

const who = { name: 't', role: 'operator' as const, via: 'test' }
const T0 = Date.parse('2026-12-05T06:00:00.000Z')
const at = (ms: number) => new Date(T0 + ms).toISOString()

/** The index and the records as etcd holds them, in memory; counts the key reads. */
class MemStore implements HistoryStore {
  readonly recs = new Map<string, OperationRecord>()
  readonly ranges: { start: string; end: string; limit: number }[] = []
  async keys(start: string, end: string, limit: number): Promise<string[]> {
    this.ranges.push({ start, end, limit })
    return [...this.recs.values()]
      .map((r) => historyKey(r.op))
      .filter((k) => k >= start && k < end)
      .sort()
      .reverse()
      .slice(0, limit)
  }
  async records(ids: readonly string[]): Promise<Map<string, OperationRecord>> {
    const out = new Map<string, OperationRecord>()
    for (const id of ids) {
      const r = this.recs.get(id)
      if (r) out.set(id, structuredClone(r))
    }
    return out
  }
}

function result(node: string, outcome: NodeResult['outcome'], extra: Partial<NodeResult> = {}): NodeResult {
  return { node, action: 'off', outcome, state: 'off', attempts: [], durationMs: 1, ...extra }
}

function op(i: number, nodes: string[], results: NodeResult[], status: Operation['status']): Operation {
  return {
    id: `op-${String(i).padStart(3, '0')}`,
    kind: nodes.length > 1 ? 'bulk' : 'power',
    action: 'off',
    nodes,
    initiator: who,
    startedAt: at(i * 10),
    ...(status !== 'running' ? { finishedAt: at(i * 10 + 5) } : {}),
    status,
    results,
    simulated: false,
  }
}

/** 40 finished operations over n1..n3 (some bulk, some failed), then one still running. */
function operations(): Operation[] {
  const ops: Operation[] = []
  for (let i = 0; i < 40; i++) {
    const nodes = i % 5 === 0 ? ['n1', 'n2', 'n3'] : [`n${1 + (i % 3)}`]
    const results = nodes.map((n, k) =>
      (i + k) % 4 === 0
        ? result(n, 'failed', { error: { code: 'DEVICE_UNREACHABLE', message: 'no answer' } })
        : result(n, 'success', { level: 1 }),
    )
    ops.push(op(i, nodes, results, results.some((r) => r.outcome === 'failed') ? 'failed' : 'succeeded'))
  }
  ops.push(op(40, ['n2'], [], 'running'))
  return ops
}

/** Every page of a query, following `next` as the API does (one more than asked: is there a next page). */
async function allPages(
  read: (q: JournalHistoryQuery) => Promise<HistoryEntry[]>,
  q: JournalHistoryQuery,
  limit: number,
): Promise<HistoryEntry[][]> {
  const pages: HistoryEntry[][] = []
  let before: string | undefined
  for (;;) {
    const got = await read({ ...q, limit: limit + 1, ...(before ? { before } : {}) })
    const page = got.slice(0, limit)
    pages.push(page)
    if (got.length <= limit) return pages
    before = historyCursor(page.at(-1)!)
  }
}

describe('the cluster history reader, against the journal it stands in for', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'fencegate-etcd-history-'))
  const store = new MemStore()
  let journal: Journal
  beforeAll(async () => {
    journal = await Journal.open({ path: path.join(dir, 'j.jsonl'), maxBytes: 1 << 24, keep: 1 })
    for (const o of operations()) {
      store.recs.set(o.id, { op: o, replica: 'r1' })
      await journal.append(
        {
          t: 'intent',
          op: o.id,
          ts: o.startedAt,
          kind: o.kind,
          action: o.action,
          nodes: o.nodes,
          initiator: o.initiator,
        },
        false,
      )
      for (const r of o.results)
        await journal.append(
          {
            t: 'result',
            op: o.id,
            ts: o.finishedAt!,
            node: r.node,
            outcome: r.outcome,
            ...(r.level !== undefined ? { level: r.level } : {}),
            ...(r.error ? { error: r.error } : {}),
          },
          false,
        )
    }
  })
  afterAll(async () => {
    await journal?.close()
    rmSync(dir, { recursive: true, force: true })
  })

  const queries: [string, JournalHistoryQuery][] = [
    ['everything', {}],
    ['one node', { node: 'n2' }],
    ["a token's nodes", { nodes: ['n1', 'n3'] }],
    ['failed only', { outcome: 'failed' }],
    ['running only', { outcome: 'running' }],
    ['a time window, both ends inclusive', { since: new Date(T0 + 50), until: new Date(T0 + 250) }],
    ['a node within a window', { node: 'n3', since: new Date(T0 + 100) }],
  ]
  for (const [name, q] of queries)
    it(`${name}: the same entries, the same order, the same pages`, async () => {
      const fromJournal = await journal.history({ ...q, limit: 10_000 })
      expect(fromJournal.length).toBeGreaterThan(0)
      expect(await readHistory(store, { ...q, limit: 10_000 })).toEqual(fromJournal)
      for (const size of [1, 3, 7]) {
        const a = await allPages((x) => readHistory(store, x), q, size)
        const b = await allPages((x) => journal.history(x), q, size)
        expect(a).toEqual(b)
        expect(a.flat()).toEqual(fromJournal)
      }
    })

  it('bounds the key range by since/until instead of reading the whole index', async () => {
    store.ranges.length = 0
    const got = await readHistory(store, { since: new Date(T0 + 100), until: new Date(T0 + 200), limit: 100 })
    expect(got.map((e) => e.startedAt)).toContain(at(200))
    expect(got.map((e) => e.startedAt)).toContain(at(100))
    expect(store.ranges[0]).toMatchObject({ start: `history/${at(100)}`, end: `history/${at(200)}0` })
  })

  it('a cursor etcd does not have (expired, or never there) is a BAD_REQUEST naming `before`', async () => {
    const gone = historyCursor({ op: 'op-999', node: 'n1' })
    const err = (await readHistory(store, { before: gone }).catch((e) => e)) as FenceError
    expect(err.code).toBe('BAD_REQUEST')
    expect(err.details?.field).toBe('before')
    expect(err.message).toMatch(/^before: cursor .* is not in the cluster's history/)
    // an operation it has, but a node that was not in it
    const wrong = historyCursor({ op: 'op-001', node: 'n9' })
    expect(((await readHistory(store, { before: wrong }).catch((e) => e)) as FenceError).code).toBe(
      'BAD_REQUEST',
    )
  })

  it('reads the index in batches: more operations than one batch, all of them once', async () => {
    const big = new MemStore()
    for (let i = 0; i < 700; i++) {
      const o = op(i, ['n1'], [result('n1', 'success')], 'succeeded')
      big.recs.set(o.id, { op: o, replica: 'r2' })
    }
    const got = await readHistory(big, { limit: 10_000 })
    expect(got).toHaveLength(700)
    expect(new Set(got.map((e) => e.op)).size).toBe(700)
    expect(got[0]!.op).toBe('op-699')
    expect(big.ranges.length).toBeGreaterThan(1)
  })
})

describe('entries of one operation record', () => {
  it('an orphan (its replica died): every node without a result of its own is unknown, naming REPLICA_LOST', () => {
    const o = op(1, ['n1', 'n2'], [], 'running')
    const e = entriesOf({ op: o, replica: 'r1', orphaned: true })
    expect(e.map((x) => [x.node, x.outcome])).toEqual([
      ['n2', 'unknown'],
      ['n1', 'unknown'],
    ])
    expect(e[0]!.error).toEqual({
      code: 'REPLICA_LOST',
      message: 'outcome unknown: replica r1 died during the operation',
    })
  })

  it('a swept orphan (failed with REPLICA_LOST, run again) is unknown, its message naming the re-run', () => {
    const lost = result('n1', 'failed', {
      state: 'unknown',
      error: {
        code: 'REPLICA_LOST',
        message: 'outcome unknown: replica r1 died during the operation; fence run again by replica r3 as X',
      },
    })
    const o = { ...op(2, ['n1'], [lost], 'failed'), kind: 'fence' as const }
    const [e] = entriesOf({ op: o, replica: 'r1', orphaned: true, rerunAs: 'X' })
    expect(e).toMatchObject({ outcome: 'unknown', error: { code: 'REPLICA_LOST' }, finishedAt: o.finishedAt })
    expect(e!.error!.message).toContain('as X')
  })

  it('a running operation is running; a finished one carries its result', () => {
    expect(entriesOf({ op: op(3, ['n1'], [], 'running'), replica: 'r1' })[0]!.outcome).toBe('running')
    const done = op(4, ['n1'], [result('n1', 'success', { level: 2, onVerified: true })], 'succeeded')
    expect(entriesOf({ op: done, replica: 'r1' })[0]).toEqual({
      op: done.id,
      kind: 'power',
      action: 'off',
      node: 'n1',
      initiator: who,
      startedAt: done.startedAt,
      finishedAt: done.finishedAt,
      outcome: 'success',
      level: 2,
      onVerified: true,
    })
  })
})
