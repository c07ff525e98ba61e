import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { CoordinationConfig } from '../../src/config/coordination.js'
import type { Death, DeathOutcome, DeathRunner } from '../../src/coordination/death.js'
import { EtcdCoordinator } from '../../src/coordination/etcd.js'
import type { Operation } from '../../src/engine/types.js'
import { EtcdCluster } from '../../firmware-mocks/etcd-cluster.js'

/**
 * Heartbeat deaths across replicas (src/coordination/death-fence.ts) in a real three-member etcd
 * cluster: every replica that sees a death asks, one runs the fence, the others get its outcome.
 * The runners stand in for the engine: they record their operation in etcd as the engine does
 * (intent, then result), so the waiters' read-back of the operation record is the real one.
 */
const quiet = { info() {}, warn() {} }
const DEADLINE_MS = 20_000

describe('heartbeat deaths across replicas (real etcd)', () => {
  let etcd: EtcdCluster
  let open: EtcdCoordinator[] = []
  let prefixes = 0
  let ops = 0
  /** Who ran what: one entry per run of a fence. */
  let runs: string[] = []

  beforeAll(async () => {
    etcd = await EtcdCluster.start()
  }, 30_000)
  afterEach(async () => {
    await Promise.allSettled(open.map((c) => c.close()))
    open = []
    runs = []
  })
  afterAll(async () => {
    await etcd?.stop()
  }, 30_000)

  /** Replicas on a fresh prefix, started in order: the first leads (the oldest candidate). */
  async function replicas(...names: string[]): Promise<EtcdCoordinator[]> {
    const prefix = `/fg-death-${process.pid}-${++prefixes}`
    const out: EtcdCoordinator[] = []
    for (const replica of names) {
      const cfg: CoordinationConfig = {
        replica,
        etcd: { endpoints: etcd.endpoints, prefix, leaseTtlMs: 6000 },
      }
      const c = await EtcdCoordinator.start(cfg, quiet)
      out.push(c)
      open.push(c)
    }
    return out
  }

  const death = (generation: number, over: Partial<Death> = {}): Death => ({
    node: 'n3',
    generation,
    action: 'off',
    timeoutMs: DEADLINE_MS,
    canRun: true,
    ...over,
  })

  /**
   * A fence run on replica `c`, recorded in etcd like the engine's: intent (then onStart), then
   * the result. `recorded` lets the record in etcd differ from what the runner returns.
   */
  function runner(
    c: EtcdCoordinator,
    o: { status?: 'succeeded' | 'failed'; recorded?: 'succeeded' | 'failed'; hold?: Promise<void> } = {},
  ): DeathRunner {
    return async (_timeoutMs, onStart) => {
      runs.push(c.replica)
      const op: Operation = {
        id: `op-${c.replica}-${++ops}`,
        kind: 'fence',
        action: 'off',
        nodes: ['n3'],
        initiator: { name: 'heartbeat', role: 'fencer', via: 'heartbeat' },
        startedAt: new Date().toISOString(),
        status: 'running',
        simulated: true,
        results: [],
      }
      await c.recordIntent(op)
      onStart(op)
      await o.hold
      const finished = (status: 'succeeded' | 'failed'): Operation => ({
        ...op,
        status,
        finishedAt: new Date().toISOString(),
        results: [
          {
            node: 'n3',
            action: 'off',
            outcome: status === 'succeeded' ? 'success' : 'failed',
            state: status === 'succeeded' ? 'off' : 'unknown',
            ...(status === 'failed'
              ? { error: { code: 'DEVICE_UNREACHABLE' as const, message: 'pdu: no answer' } }
              : {}),
            attempts: [],
            durationMs: 1,
          },
        ],
      })
      await c.recordResult(finished(o.recorded ?? o.status ?? 'succeeded'))
      return finished(o.status ?? 'succeeded')
    }
  }

  function expectOneRunAnsweredByIt(outs: DeathOutcome[]): void {
    expect(runs).toHaveLength(1)
    const ran = outs.filter((o) => o.ranHere)
    expect(ran).toHaveLength(1)
    expect(ran[0]).toMatchObject({ ok: true, replica: runs[0] })
    for (const o of outs.filter((x) => !x.ranHere))
      expect(o).toMatchObject({ ranHere: false, ok: true, replica: runs[0], op: ran[0]!.op })
  }

  it('one death seen by three replicas: one fence run; the others get its outcome (replica and operation)', async () => {
    const [a, b, c] = await replicas('a', 'b', 'c')
    const outs = await Promise.all([a, b, c].map((r) => r!.fenceDeath(death(7), runner(r!))))
    expectOneRunAnsweredByIt(outs)
    // the same death asked again (a late replica): answered by the record, not run again
    const late = await c!.fenceDeath(death(7), runner(c!))
    expect(late).toMatchObject({ ranHere: false, ok: true, replica: runs[0] })
    expect(runs).toHaveLength(1)
  }, 60_000)

  it('the same node dies again with a new generation: fenced again', async () => {
    const [a, b] = await replicas('a', 'b')
    await Promise.all([a, b].map((r) => r!.fenceDeath(death(7), runner(r!))))
    expect(runs).toHaveLength(1)
    const outs = await Promise.all([a, b].map((r) => r!.fenceDeath(death(8), runner(r!))))
    expect(runs).toHaveLength(2)
    expect(outs.filter((o) => o.ranHere)).toHaveLength(1)
    expect(outs.every((o) => o.ok)).toBe(true)
  }, 60_000)

  it('a success older than the fence deadline does not answer a new call (a stale record): fenced again', async () => {
    const [a] = await replicas('a')
    expect((await a!.fenceDeath(death(9), runner(a!))).ok).toBe(true)
    // the record is now older than the next call's deadline (300 ms)
    await new Promise((r) => setTimeout(r, 400))
    const again = await a!.fenceDeath(death(9, { timeoutMs: 300 }), runner(a!))
    expect(again).toMatchObject({ ranHere: true, ok: true })
    expect(runs).toEqual(['a', 'a'])
  }, 60_000)

  it('a failed round answers the replicas that waited for it; a retry runs a new round', async () => {
    const [a, b] = await replicas('a', 'b')
    const outs = await Promise.all(
      [a, b].map((r) => r!.fenceDeath(death(3), runner(r!, { status: 'failed' }))),
    )
    expect(runs).toHaveLength(1)
    expect(outs.every((o) => !o.ok)).toBe(true)
    expect(outs.find((o) => !o.ranHere)?.error).toContain('DEVICE_UNREACHABLE')
    // the heartbeat retries: the failed round does not answer a new call, a new round runs
    const again = await b!.fenceDeath(death(3), runner(b!))
    expect(runs).toHaveLength(2)
    expect(again.ok).toBe(true)
  }, 60_000)

  it('off only if the running replica read it back off: its operation record decides, not its word', async () => {
    const [a, b] = await replicas('a', 'b')
    // a's runner says succeeded, its operation record in etcd says failed
    const [outA, outB] = await Promise.all([
      a!.fenceDeath(death(4), runner(a!, { recorded: 'failed' })),
      b!.fenceDeath(death(4, { canRun: false }), runner(b!)),
    ])
    expect(runs).toEqual(['a'])
    expect(outA.ranHere).toBe(true)
    expect(outB).toMatchObject({ ranHere: false, ok: false, replica: 'a' })
    expect(outB.error).toContain('DEVICE_UNREACHABLE')
  }, 60_000)

  it('the runner dies mid-fence: its claim goes with its lease, another replica runs it again', async () => {
    const [a, b, c] = await replicas('a', 'b', 'c')
    let release = () => {}
    const stuck = new Promise<void>((r) => {
      release = r
    })
    // a leads and claims; its fence hangs
    const aOut = a!.fenceDeath(death(11), runner(a!, { hold: stuck }))
    for (let i = 0; i < 200 && runs.length === 0; i++) await new Promise((r) => setTimeout(r, 25))
    expect(runs).toEqual(['a'])
    const waiting = [b, c].map((r) => r!.fenceDeath(death(11), runner(r!)))
    // a dies: its lease is revoked, its runner key and its leadership go with it
    await a!.close()
    const outs = await Promise.all(waiting)
    expect(runs).toHaveLength(2)
    expect(runs[0]).toBe('a')
    const second = runs[1]
    expect(['b', 'c']).toContain(second)
    for (const o of outs) expect(o).toMatchObject({ ok: true, replica: second })
    expect(outs.filter((o) => o.ranHere)).toHaveLength(1)
    // the dead runner's late end is never recorded over the round that replaced it
    release()
    const late = await aOut
    expect(late.ranHere).toBe(true)
    const after = await b!.fenceDeath(death(11), runner(b!))
    expect(after).toMatchObject({ ranHere: false, ok: true, replica: second })
    expect(runs).toHaveLength(2)
  }, 60_000)

  it('the leader never hears the death: another replica claims it after the leader wait, exactly one runs', async () => {
    const [, b, c] = await replicas('a', 'b', 'c')
    const outs = await Promise.all([b, c].map((r) => r!.fenceDeath(death(5), runner(r!))))
    expectOneRunAnsweredByIt(outs)
  }, 60_000)

  it('the leader cannot reach the devices: it never runs the fence, another does, the leader gets the outcome', async () => {
    const [a, b, c] = await replicas('a', 'b', 'c')
    const outs = await Promise.all([
      a!.fenceDeath(death(6, { canRun: false }), runner(a!)),
      b!.fenceDeath(death(6), runner(b!)),
      c!.fenceDeath(death(6), runner(c!)),
    ])
    expectOneRunAnsweredByIt(outs)
    expect(runs[0]).not.toBe('a')
    expect(outs[0]).toMatchObject({ ranHere: false, ok: true })
  }, 60_000)

  it('a waiter whose deadline passes while another replica still fences: not ok, naming that replica', async () => {
    const [a, b] = await replicas('a', 'b')
    let release = () => {}
    const stuck = new Promise<void>((r) => {
      release = r
    })
    const aOut = a!.fenceDeath(death(12), runner(a!, { hold: stuck }))
    for (let i = 0; i < 200 && runs.length === 0; i++) await new Promise((r) => setTimeout(r, 25))
    const out = await b!.fenceDeath(death(12, { timeoutMs: 500 }), runner(b!))
    expect(out).toMatchObject({ ranHere: false, ok: false, replica: 'a' })
    expect(out.error).toMatch(/had not ended by our deadline; it goes on/)
    release()
    expect((await aOut).ok).toBe(true)
    expect(runs).toEqual(['a'])
  }, 60_000)

  it('bad input names the field', async () => {
    const [a] = await replicas('a')
    await expect(a!.fenceDeath(death(-1), runner(a!))).rejects.toThrow(/death\.generation/)
    await expect(a!.fenceDeath(death(1, { node: '' }), runner(a!))).rejects.toThrow(/death\.node/)
  }, 30_000)
})
