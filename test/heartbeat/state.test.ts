import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { PeerGenerations, bumpGeneration } from '../../src/heartbeat/state.js'

const dir = mkdtempSync(join(tmpdir(), 'fghb-state-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('persisted generation', () => {
  it('only ever increases, keeps the uuid, survives a lost file without going back', () => {
    const a = bumpGeneration(dir, 1000)
    const b = bumpGeneration(dir, 1000)
    const c = bumpGeneration(dir, 900) // the clock went back: still higher
    expect([a.generation, b.generation, c.generation]).toEqual([1000, 1001, 1002])
    expect(b.uuid.equals(a.uuid)).toBe(true)
    expect(statSync(join(dir, 'state.json')).mode & 0o077).toBe(0)
    rmSync(join(dir, 'state.json'))
    // file lost: unix time keeps us above what peers remember (unless the clock is far behind)
    expect(bumpGeneration(dir, 5000).generation).toBe(5000)
  })

  it("peers' generations are written in the background and read back at the next start", async () => {
    const p = new PeerGenerations(dir)
    p.save({ n2: 7 })
    p.save({ n2: 8, n3: 3 })
    await p.idle()
    expect(JSON.parse(readFileSync(join(dir, 'peers.json'), 'utf8'))).toEqual({ n2: 8, n3: 3 })
    expect(bumpGeneration(dir).peers).toEqual({ n2: 8, n3: 3 })
  })
})
