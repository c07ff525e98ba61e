/**
 * Named regressions: each counterexample the model checker found (docs/reliability.md), made
 * small and deterministic, directly against the Engine over simulated devices. Latencies are
 * scripted per call; the gaps between steps are wide (tens of ms) so the order does not depend
 * on the machine's speed.
 */
import { mkdtempSync, readFileSync, rmSync, truncateSync } from 'node:fs'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { Journal } from '../../src/audit/journal.js'
import type { Initiator } from '../../core/types.js'
import { type EngineLife, MODEL_TMP, initialPower, openEngine } from './run-scenario.js'
import type { Scenario, Settings } from './scenario.js'
import { type CallScript, Plant } from './sim-device.js'

const OPERATOR: Initiator = { name: 'op', role: 'operator', via: 'model' }
const VIEWER: Initiator = { name: 'viewer', role: 'viewer', via: 'model' }
const FENCER: Initiator = { name: 'fencer', role: 'fencer', via: 'model' }
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const ok = (latencyMs: number): CallScript => ({ latencyMs, fault: 'none', abortLagMs: 0 })

interface Rig {
  plant: Plant
  life: EngineLife
  dir: string
}
const rigs: Rig[] = []
afterEach(async () => {
  for (const r of rigs.splice(0)) {
    await r.life.engine?.close()
    r.plant.dispose()
    rmSync(r.dir, { recursive: true, force: true })
  }
})

/** An engine over one of the model's layouts, with scripted device calls and given plug power. */
async function rig(opts: {
  layout: number
  scripts: Record<string, CallScript[]>
  power?: Record<string, 'on' | 'off'>
  settings?: Partial<Settings>
}): Promise<Rig> {
  const s: Scenario = {
    layout: opts.layout,
    settings: {
      verifyPollMs: 2,
      fenceHoldMs: 5_000,
      onStaggerMs: 0,
      retries: 0,
      powerWaitMs: 0,
      transitionMs: 0,
      journalMaxBytes: 1_000_000,
      ...opts.settings,
    },
    initial: [true, true, true, true, true, true, true, true],
    scripts: [],
    healAtMs: 0,
    callers: [],
    cut: 1,
  }
  const plant = new Plant({ ...initialPower(s), ...opts.power }, opts.scripts, 0)
  const dir = mkdtempSync(path.join(MODEL_TMP, 'fencegate-regress-'))
  const life = await openEngine(s, plant, 1, path.join(dir, 'journal.jsonl'))
  const r = { plant, life, dir }
  rigs.push(r)
  return r
}

describe('model checker regressions', () => {
  it('an operator on queued before a fence never reaches the device after the fence verified off', async () => {
    // layout 1: n3 = pa:3 (no pending-command cancel on pa), off. The operator's `on` reads it
    // (a slow read); the fence arrives meanwhile, its read goes first in the queue, reads off and
    // the fence succeeds; the operator's set, queued behind it, must not follow
    const { plant, life } = await rig({
      layout: 1,
      scripts: { pa: [ok(40), ok(10), ok(10), ok(10), ok(10), ok(10)], pb: [ok(2)], bmc: [ok(2)] },
      power: { 'pa:3': 'off' },
    })
    const engine = life.engine!
    const on = engine.power('n3', 'on', { initiator: OPERATOR, timeoutMs: 2000 })
    await sleep(15)
    const fence = await engine.fence('n3', 'off', { initiator: FENCER, timeoutMs: 2000 })
    await on
    expect(fence.status).toBe('succeeded')
    const verifiedAt = Math.max(
      ...plant.calls.filter((c) => c.kind === 'status' && c.result?.['3'] === 'off').map((c) => c.start),
    )
    const onsAfter = plant.calls.filter(
      (c) => c.kind === 'set' && c.action === 'on' && c.reached !== undefined && c.reached > verifiedAt,
    )
    expect(onsAfter).toEqual([])
    expect(plant.power.get('pa:3')).toBe('off')
  })

  it('a status batch whose callers all left does not poison the device: the next read reaches it', async () => {
    // call 1 stalls (holds the device); a read queued behind it is abandoned by its caller;
    // after call 1 ends, a fresh read must reach the device and read the plug
    const { plant, life } = await rig({
      layout: 0,
      scripts: { pdu: [{ latencyMs: 0, fault: 'stall', abortLagMs: 0 }, ok(1), ok(1), ok(1)] },
    })
    const engine = life.engine!
    const first = engine.status(['n1'], { initiator: VIEWER, timeoutMs: 150 })
    await sleep(20)
    const abandoned = await engine.status(['n2'], { initiator: VIEWER, timeoutMs: 30 })
    expect(abandoned[0]!.state).toBe('unknown')
    await first
    const t = performance.now()
    const again = await engine.status(['n2'], { initiator: VIEWER, timeoutMs: 1000 })
    expect(plant.calls.some((c) => c.kind === 'status' && c.start >= t)).toBe(true)
    expect(again[0]!.state).toBe('on')
  })

  it("a fence's read goes ahead of operator work queued on the device before it", async () => {
    // layout 1: n1 = pa:1 + pb:1, n2 = bmc / pa:2 + pb:2, n3 = pa:3. A bulk `on` of n2 and n3
    // puts two sets on pa (the first slow, the second queued); a viewer's read of n1 queues a
    // batch behind them; the fence of n1 must read pa:1 before the operator's queued set runs
    const { plant, life } = await rig({
      layout: 1,
      scripts: { pa: [ok(2)], pb: [ok(2)], bmc: [ok(2)] },
      power: { 'pa:2': 'off', 'pb:2': 'off', 'pa:3': 'off' },
    })
    let slow = true
    plant.pick = (device, kind) => {
      if (device !== 'pa' || kind !== 'set' || !slow) return undefined
      slow = false
      return ok(150)
    }
    const engine = life.engine!
    const bulk = engine.bulk(['n2', 'n3'], 'on', { initiator: OPERATOR, timeoutMs: 3000 })
    while (!plant.calls.some((c) => c.device === 'pa' && c.kind === 'set')) await sleep(2)
    const status = engine.status(['n1'], { initiator: VIEWER, timeoutMs: 3000 })
    await sleep(5)
    const fenceAt = performance.now()
    const fence = engine.fence('n1', 'off', { initiator: FENCER, timeoutMs: 3000 })
    await Promise.all([bulk, status, fence])
    const queuedSet = plant.calls.find((c) => c.device === 'pa' && c.kind === 'set' && c.start > fenceAt)
    const fenceRead = plant.calls.find(
      (c) => c.device === 'pa' && c.kind === 'status' && c.start > fenceAt && c.plugs.includes('1'),
    )
    expect(queuedSet).toBeDefined()
    expect(fenceRead).toBeDefined()
    expect(fenceRead!.start).toBeLessThan(queuedSet!.start)
  })

  it('a driver call whose abort is slow to settle still holds the device: no second call overlaps it', async () => {
    // the first read stalls and notices its abort only 40 ms later; a read queued behind it
    // must not reach the driver before the first call has settled
    const { plant, life } = await rig({
      layout: 0,
      scripts: { pdu: [{ latencyMs: 0, fault: 'stall', abortLagMs: 40 }, ok(2), ok(2), ok(2)] },
    })
    const engine = life.engine!
    const a = engine.status(['n1'], { initiator: VIEWER, timeoutMs: 30 })
    await sleep(5)
    const b = engine.status(['n2'], { initiator: VIEWER, timeoutMs: 1000 })
    await Promise.all([a, b])
    expect(plant.calls.filter((c) => c.device === 'pdu').length).toBeGreaterThanOrEqual(2)
    expect(plant.overlaps).toEqual([])
  })

  it('a caller joining a fence in flight gets its answer by its own deadline', async () => {
    const { life } = await rig({
      layout: 0,
      scripts: { pdu: [{ latencyMs: 0, fault: 'stall', abortLagMs: 0 }] },
    })
    const engine = life.engine!
    const first = engine.fence('n1', 'off', { initiator: FENCER, timeoutMs: 2500 })
    await sleep(20)
    const t = performance.now()
    const joined = await engine.fence('n1', 'off', { initiator: FENCER, timeoutMs: 100 })
    const took = performance.now() - t
    expect(joined.status).toBe('failed')
    expect(took).toBeLessThan(1500)
    expect((await first).status).toBe('failed')
  })

  it('a caller who joins a fence and leaves at once is answered with an operation the journal knows, or an error', async () => {
    // the joiner arrives before the fence's intent is on disk and has already gone: its answer
    // names the fence it joined (an id history can find) or is an error, never an id nothing recorded
    const { life } = await rig({ layout: 0, scripts: { pdu: [ok(5)] } })
    const engine = life.engine!
    const first = engine.fence('n1', 'off', { initiator: FENCER, timeoutMs: 2000 })
    const joined = await engine
      .fence('n1', 'off', { initiator: FENCER, timeoutMs: 2000, signal: AbortSignal.abort() })
      .catch((e: { code: string }) => e)
    const op = await first
    expect(op.status).toBe('succeeded')
    if ('id' in joined) {
      const history = await engine.history({})
      expect(history.map((h) => h.op)).toContain(joined.id)
    } else expect(joined.code).toBe('ABORTED')
  })

  it('a record written after a torn last line (crash mid-write) survives the next start', async () => {
    const dir = mkdtempSync(path.join(MODEL_TMP, 'fencegate-regress-'))
    try {
      const cfg = { path: path.join(dir, 'journal.jsonl'), maxBytes: 1_000_000, keep: 5 }
      const ts = new Date().toISOString()
      const j = await Journal.open(cfg)
      await j.append(
        { t: 'intent', op: 'a', ts, kind: 'fence', action: 'off', nodes: ['n1'], initiator: FENCER },
        true,
      )
      await j.append({ t: 'result', op: 'a', ts, node: 'n1', outcome: 'success', level: 1 }, true)
      await j.close()
      // the crash: the result line lost its newline (or more) before reaching the disk
      const size = readFileSync(cfg.path).length
      truncateSync(cfg.path, size - 1)
      const k = await Journal.open(cfg)
      await k.append(
        { t: 'intent', op: 'b', ts, kind: 'fence', action: 'off', nodes: ['n2'], initiator: FENCER },
        true,
      )
      await k.close()
      const again = await Journal.open(cfg)
      const h = await again.history({})
      await again.close()
      expect(h.find((e) => e.op === 'a')?.outcome).toBe('success')
      expect(h.find((e) => e.op === 'b')?.outcome).toBe('unknown')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
