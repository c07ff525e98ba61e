import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { Journal, historyCursor } from './journal.js'

const who = { name: 't', role: 'fencer' as const, via: 'test' }
const made: string[] = []
const dir = () => {
  const d = mkdtempSync(path.join(tmpdir(), 'fencegate-journal-'))
  made.push(d)
  return d
}
afterAll(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true })
})

describe('journal', () => {
  it('rotates past maxBytes and carries open intents into the new file', async () => {
    const p = path.join(dir(), 'j.jsonl')
    const j = await Journal.open({ path: p, maxBytes: 2000, keep: 2 })
    await j.append(
      {
        t: 'intent',
        op: 'open-op',
        ts: new Date().toISOString(),
        kind: 'fence',
        action: 'off',
        nodes: ['n1'],
        initiator: who,
      },
      true,
    )
    for (let i = 0; i < 30; i++) {
      const ts = new Date().toISOString()
      await j.append(
        { t: 'intent', op: `op${i}`, ts, kind: 'power', action: 'on', nodes: ['n2'], initiator: who },
        true,
      )
      await j.append({ t: 'result', op: `op${i}`, ts, node: 'n2', outcome: 'success' }, true)
    }
    const current = readFileSync(p, 'utf8')
    expect(current).toContain('"op":"open-op"')
    expect(readFileSync(`${p}.1`, 'utf8').length).toBeGreaterThan(0)
    const h = await j.history({ node: 'n1' })
    expect(h).toHaveLength(1)
    expect(h[0]).toMatchObject({ op: 'open-op', outcome: 'running' })
    await j.close()
    // after a restart the open intent is still there and reported unknown
    const again = await Journal.open({ path: p, maxBytes: 2000, keep: 2 })
    expect(again.recovered.map((r) => r.op)).toEqual(['open-op'])
    expect((await again.history({ node: 'n1' }))[0]).toMatchObject({ op: 'open-op', outcome: 'unknown' })
    await again.close()
  })

  it('history filters by node, outcome and time, newest first', async () => {
    const p = path.join(dir(), 'j.jsonl')
    const j = await Journal.open({ path: p, maxBytes: 1e9, keep: 1 })
    await j.append(
      {
        t: 'intent',
        op: 'a',
        ts: '2026-01-01T00:00:00.000Z',
        kind: 'fence',
        action: 'off',
        nodes: ['n1', 'n2'],
        initiator: who,
      },
      true,
    )
    await j.append(
      { t: 'result', op: 'a', ts: '2026-01-01T00:00:01.000Z', node: 'n1', outcome: 'success', level: 1 },
      true,
    )
    await j.append(
      {
        t: 'result',
        op: 'a',
        ts: '2026-01-01T00:00:01.000Z',
        node: 'n2',
        outcome: 'failed',
        error: { code: 'VERIFY_FAILED', message: 'x' },
      },
      true,
    )
    await j.append(
      {
        t: 'intent',
        op: 'b',
        ts: '2026-02-01T00:00:00.000Z',
        kind: 'power',
        action: 'on',
        nodes: ['n1'],
        initiator: who,
      },
      true,
    )
    await j.append(
      { t: 'result', op: 'b', ts: '2026-02-01T00:00:01.000Z', node: 'n1', outcome: 'success' },
      true,
    )
    expect((await j.history({ node: 'n1' })).map((e) => e.op)).toEqual(['b', 'a'])
    expect((await j.history({ outcome: 'failed' })).map((e) => `${e.op}/${e.node}`)).toEqual(['a/n2'])
    expect((await j.history({ since: new Date('2026-01-15T00:00:00Z') })).map((e) => e.op)).toEqual(['b'])
    expect((await j.history({ until: new Date('2026-01-15T00:00:00Z') })).length).toBe(2)
    await j.close()
  })

  it('takes over the lock of a process that is gone', async () => {
    const p = path.join(dir(), 'j.jsonl')
    const { writeFileSync } = await import('node:fs')
    writeFileSync(`${p}.lock`, '999999\n')
    const j = await Journal.open({ path: p, maxBytes: 1e9, keep: 1 })
    expect(readFileSync(`${p}.lock`, 'utf8').trim()).toBe(String(process.pid))
    await j.close()
  })
})

describe('journal: group commit, fence first, directory sync, lock takeover, history index', () => {
  const intent = (op: string, kind: 'fence' | 'power', node = 'n1') => ({
    t: 'intent' as const,
    op,
    ts: new Date().toISOString(),
    kind,
    action: 'off' as const,
    nodes: [node],
    initiator: who,
  })
  const result = (op: string, node = 'n1') => ({
    t: 'result' as const,
    op,
    ts: new Date().toISOString(),
    node,
    outcome: 'success' as const,
  })
  const lines = (p: string) =>
    readFileSync(p, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { t: string; op: string })

  it('many concurrent synced appends share fdatasyncs (group commit)', async () => {
    const p = path.join(dir(), 'j.jsonl')
    const j = await Journal.open({ path: p, maxBytes: 1e9, keep: 1 })
    const fh = await open(p, 'r')
    const proto = Object.getPrototypeOf(fh) as { datasync: () => Promise<void> }
    await fh.close()
    const spy = vi.spyOn(proto, 'datasync')
    try {
      await Promise.all(Array.from({ length: 200 }, (_, i) => j.append(intent(`op${i}`, 'power'), true)))
      // every record is on disk, and far fewer syncs than records were needed
      expect(lines(p)).toHaveLength(200)
      expect(spy.mock.calls.length).toBeGreaterThan(0)
      expect(spy.mock.calls.length).toBeLessThanOrEqual(2)
    } finally {
      spy.mockRestore()
      await j.close()
    }
  })

  it('writes fence records ahead of operator records waiting with them', async () => {
    const p = path.join(dir(), 'j.jsonl')
    const j = await Journal.open({ path: p, maxBytes: 1e9, keep: 1 })
    await j.append(intent('f1', 'fence', 'n9'), true)
    const order: string[] = []
    const waits = [
      ...Array.from({ length: 600 }, (_, i) =>
        j.append(intent(`p${i}`, 'power'), true).then(() => order.push(`p${i}`)),
      ),
      // the result of the open fence, then a new fence intent: both behind 600 operator records
      j.append(result('f1', 'n9'), true).then(() => order.push('f1-result')),
      j.append(intent('f2', 'fence', 'n8'), true).then(() => order.push('f2')),
    ]
    await Promise.all(waits)
    const ops = lines(p).map((r) => `${r.t}:${r.op}`)
    expect(ops.slice(0, 3)).toEqual(['intent:f1', 'result:f1', 'intent:f2'])
    // synced (resolved) first too: before any operator record of the batch after them
    expect(order.indexOf('f1-result')).toBeLessThan(order.indexOf('p599'))
    expect(order.indexOf('f2')).toBeLessThan(order.indexOf('p599'))
    // the records of one operation stay in order
    expect(ops.indexOf('intent:f1')).toBeLessThan(ops.indexOf('result:f1'))
    await j.close()
  })

  it('syncs the directory after creating the file and after rotation', async () => {
    const d = dir()
    const p = path.join(d, 'j.jsonl')
    const seen: string[] = []
    const j = await Journal.open(
      { path: p, maxBytes: 300, keep: 2 },
      {
        syncDir: async (x) => {
          seen.push(`${x} ${existsSync(`${p}.1`) ? 'rotated' : 'created'}`)
        },
      },
    )
    expect(seen).toEqual([`${d} created`])
    for (let i = 0; i < 3; i++) await j.append(intent(`op${i}`, 'power'), true)
    expect(seen.at(-1)).toBe(`${d} rotated`)
    await j.close()
    // reopening an existing file creates nothing: no directory sync needed
    seen.length = 0
    const again = await Journal.open(
      { path: p, maxBytes: 1e9, keep: 2 },
      { syncDir: async (x) => void seen.push(x) },
    )
    expect(seen).toEqual([])
    await again.close()
  })

  it('two openers taking over one stale lock: exactly one wins, and its lock survives', async () => {
    const p = path.join(dir(), 'j.jsonl')
    writeFileSync(`${p}.lock`, '999999\n')
    let second: Journal | undefined
    // the first opener has judged the lock stale; the second takes it over right then
    const first = Journal.open(
      { path: p, maxBytes: 1e9, keep: 1 },
      {
        beforeTakeover: async () => {
          second = await Journal.open({ path: p, maxBytes: 1e9, keep: 1 })
        },
      },
    )
    await expect(first).rejects.toMatchObject({ code: 'JOURNAL_LOCKED' })
    expect(second).toBeDefined()
    // the winner's lock is still there (the loser did not delete it), and no helper file is left
    expect(readFileSync(`${p}.lock`, 'utf8').trim()).toBe(String(process.pid))
    expect(readdirSync(path.dirname(p)).filter((f) => f.includes('.lock'))).toEqual(['j.jsonl.lock'])
    await second!.close()
    expect(existsSync(`${p}.lock`)).toBe(false)
  })

  it('history pages with a cursor, filters by a node list, and is served from memory', async () => {
    const p = path.join(dir(), 'j.jsonl')
    const j = await Journal.open({ path: p, maxBytes: 1e9, keep: 1 })
    for (let i = 0; i < 10; i++) {
      await j.append(intent(`op${i}`, 'power', i % 2 ? 'odd' : 'even'), true)
      await j.append(result(`op${i}`, i % 2 ? 'odd' : 'even'), true)
    }
    const page1 = await j.history({ limit: 4 })
    expect(page1.map((e) => e.op)).toEqual(['op9', 'op8', 'op7', 'op6'])
    const page2 = await j.history({ limit: 4, before: historyCursor(page1.at(-1)!) })
    expect(page2.map((e) => e.op)).toEqual(['op5', 'op4', 'op3', 'op2'])
    expect((await j.history({ nodes: ['odd'], limit: 2 })).map((e) => e.op)).toEqual(['op9', 'op7'])
    await expect(j.history({ before: historyCursor({ op: 'nope', node: 'x' }) })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    })
    // the files are not read again per query
    rmSync(p)
    expect(await j.history({ limit: 100 })).toHaveLength(10)
    await j.close()
  })

  it('a long history scan lets the event loop run (fence timers) between slices', async () => {
    const p = path.join(dir(), 'j.jsonl')
    const j = await Journal.open({ path: p, maxBytes: 1e9, keep: 1 })
    await Promise.all(
      Array.from({ length: 20_000 }, (_, i) => j.append(intent(`op${i}`, 'power'), i === 19_999)),
    )
    let ran = false
    setImmediate(() => {
      ran = true
    })
    // no entry matches: the whole index is scanned
    expect(await j.history({ node: 'nobody' })).toEqual([])
    expect(ran).toBe(true)
    await j.close()
  })

  it('history after a restart and after rotation drops only what rotation dropped', async () => {
    const p = path.join(dir(), 'j.jsonl')
    const j = await Journal.open({ path: p, maxBytes: 1000, keep: 1 })
    await j.append(intent('open-fence', 'fence', 'n9'), true)
    for (let i = 0; i < 40; i++) {
      await j.append(intent(`op${i}`, 'power'), true)
      await j.append(result(`op${i}`), true)
    }
    const live = (await j.history({ limit: 1000 })).map((e) => e.op)
    expect(live).toContain('open-fence') // carried at every rotation
    expect(live).not.toContain('op0') // its file was rotated away
    await j.close()
    const again = await Journal.open({ path: p, maxBytes: 1000, keep: 1 })
    const reread = (await again.history({ limit: 1000 })).map((e) => e.op)
    expect(new Set(reread)).toEqual(new Set(live))
    expect((await again.history({ node: 'n9' }))[0]).toMatchObject({ op: 'open-fence', outcome: 'unknown' })
    await again.close()
  })
})
