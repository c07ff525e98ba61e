import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { Journal } from './journal.js'

const who = { name: 't', role: 'fencer' as const, via: 'test' }
const dir = () => mkdtempSync(path.join(tmpdir(), 'fencegate-journal-'))

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
