/**
 * Rule 7 across replicas, engine side: a fence of a node that another live replica is fencing is
 * joined (same action) or waited for (another action); an orphan is fenced here. The coordinator
 * is a scripted stand-in for etcd (test/ha/replicas.test.ts does it with real etcd and processes).
 */
import { afterEach, describe, expect, it } from 'vitest'
import { abortError } from '../../core/errors.js'
import type { FenceAction } from '../../core/types.js'
import { type FakeDriver, startFakeGateway } from '../../test/helpers/fake-driver.js'
import { FENCER, type TestGateway } from '../../test/helpers/gateway.js'
import { EmbeddedCoordinator, type OperationRecord, type RemoteFence } from '../coordination/coordinator.js'
import type { Operation } from './types.js'

let gw: TestGateway
afterEach(async () => gw?.stop())

/** Another replica fences n1 (`action`) as operation `remote-1` until `finish` is called. */
class RemoteFencing extends EmbeddedCoordinator {
  private done: OperationRecord | undefined
  private readonly waiters: (() => void)[] = []
  constructor(
    private readonly action: FenceAction,
    private readonly record: OperationRecord,
  ) {
    super('r1')
    // a replica: the engine asks etcd (this fake) for fences elsewhere only in replica mode
    ;(this as { mode: string }).mode = 'etcd'
  }
  override fenceElsewhere(node: string): Promise<RemoteFence | undefined> {
    return Promise.resolve(
      node === 'n1' && !this.done ? { op: 'remote-1', action: this.action, replica: 'r2' } : undefined,
    )
  }
  override findOperation(id: string): Promise<OperationRecord | undefined> {
    return Promise.resolve(id === 'remote-1' ? (this.done ?? this.record) : undefined)
  }
  override awaitOperation(_id: string, signal: AbortSignal): Promise<OperationRecord> {
    if (this.done) return Promise.resolve(this.done)
    return new Promise((resolve, reject) => {
      signal.addEventListener('abort', () => reject(abortError(signal)), { once: true })
      this.waiters.push(() => resolve(this.done!))
    })
  }
  finish(rec: OperationRecord): void {
    this.done = rec
    for (const w of this.waiters.splice(0)) w()
  }
}

function remoteOp(action: FenceAction, status: Operation['status']): Operation {
  return {
    id: 'remote-1',
    kind: 'fence',
    action,
    nodes: ['n1'],
    initiator: FENCER,
    startedAt: new Date().toISOString(),
    status,
    simulated: false,
    results:
      status === 'running'
        ? []
        : [{ node: 'n1', action, outcome: 'success', state: 'off', attempts: [], durationMs: 5 }],
  }
}

async function gateway(c: RemoteFencing): Promise<FakeDriver> {
  const r = await startFakeGateway({ pdu: { '1': 'on' } }, { n1: { plugs: ['pdu:1'] } }, { coordinator: c })
  gw = r.gw
  return r.fakes.get('pdu')!
}

describe('a fence running on another replica', () => {
  it('of the same action is joined: its result, the id handed out at once, no device touched here', async () => {
    const c = new RemoteFencing('off', { op: remoteOp('off', 'running'), replica: 'r2' })
    const pdu = await gateway(c)
    let started: string | undefined
    const p = gw.engine.fence('n1', 'off', { initiator: FENCER, onStart: (o) => (started = o.id) })
    await new Promise((r) => setTimeout(r, 50))
    expect(started).toBe('remote-1')
    c.finish({ op: remoteOp('off', 'succeeded'), replica: 'r2' })
    const op = await p
    expect(op).toMatchObject({ id: 'remote-1', status: 'succeeded' })
    expect(op.results[0]).toMatchObject({ state: 'off', joined: true })
    expect(pdu.calls).toHaveLength(0)
  })

  it("not ended by this caller's deadline: a failure that says it goes on, state unknown, never off", async () => {
    const c = new RemoteFencing('off', { op: remoteOp('off', 'running'), replica: 'r2' })
    const pdu = await gateway(c)
    const op = await gw.engine.fence('n1', 'off', { initiator: FENCER, timeoutMs: 200 })
    expect(op.status).toBe('failed')
    expect(op.results[0]).toMatchObject({
      state: 'unknown',
      joined: true,
      error: { code: 'DEADLINE_EXCEEDED' },
    })
    expect(op.results[0]!.error!.message).toContain('on replica r2')
    expect(pdu.calls).toHaveLength(0)
  })

  it('whose replica died before anyone ran it again: fenced here, read back off', async () => {
    const c = new RemoteFencing('off', { op: remoteOp('off', 'running'), replica: 'r2' })
    const pdu = await gateway(c)
    const p = gw.engine.fence('n1', 'off', { initiator: FENCER })
    await new Promise((r) => setTimeout(r, 50))
    c.finish({ op: { ...remoteOp('off', 'running'), status: 'failed' }, replica: 'r2', orphaned: true })
    const op = await p
    expect(op.id).not.toBe('remote-1')
    expect(op.status).toBe('succeeded')
    expect(op.results[0]!.state).toBe('off')
    expect(pdu.sets('off')).toHaveLength(1)
  })

  it('of another action is waited for, then this fence runs', async () => {
    const c = new RemoteFencing('reboot', { op: remoteOp('reboot', 'running'), replica: 'r2' })
    const pdu = await gateway(c)
    const p = gw.engine.fence('n1', 'off', { initiator: FENCER })
    await new Promise((r) => setTimeout(r, 50))
    expect(pdu.calls).toHaveLength(0)
    c.finish({ op: remoteOp('reboot', 'succeeded'), replica: 'r2' })
    const op = await p
    expect(op.id).not.toBe('remote-1')
    expect(op.results[0]).toMatchObject({ state: 'off' })
    expect(op.results[0]!.joined).toBeUndefined()
    expect(pdu.sets('off')).toHaveLength(1)
  })
})
