/**
 * A deadline on everything, in replica mode too: the engine's etcd calls count against the
 * caller's deadline. An etcd call that has not come back by then ends the wait (before any device
 * is touched: the operation fails, nothing driven; after: the answer is given, the write goes on
 * and close() waits for it). The coordinator here is a stand-in whose calls wait for the test to
 * let them go, so "answered while etcd still had not" is an order of events, not a timing.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { FenceError } from '../../core/errors.js'
import { startFakeGateway } from '../../test/helpers/fake-driver.js'
import { FENCER, OPERATOR, type TestGateway } from '../../test/helpers/gateway.js'
import { EmbeddedCoordinator, type RemoteFence } from '../coordination/coordinator.js'

type Call = 'recordIntent' | 'recordResult' | 'holdNode' | 'checkNodeHold' | 'fenceElsewhere'

/** A replica whose chosen etcd calls hang until `open()`; every call and its end logged in order. */
class HeldEtcd extends EmbeddedCoordinator {
  readonly log: string[] = []
  private readonly gates: (() => void)[] = []
  constructor(private readonly held: Set<Call>) {
    super('r1')
    ;(this as { mode: string }).mode = 'etcd'
  }
  private call<T>(name: Call, value: T): Promise<T> {
    this.log.push(`${name} sent`)
    if (!this.held.has(name)) {
      this.log.push(`${name} done`)
      return Promise.resolve(value)
    }
    return new Promise((resolve) =>
      this.gates.push(() => {
        this.log.push(`${name} done`)
        resolve(value)
      }),
    )
  }
  open(): void {
    this.held.clear()
    for (const g of this.gates.splice(0)) g()
  }
  override recordIntent(): Promise<void> {
    return this.call('recordIntent', undefined)
  }
  override recordResult(): Promise<void> {
    return this.call('recordResult', undefined)
  }
  override holdNode(): Promise<void> {
    return this.call('holdNode', undefined)
  }
  override checkNodeHold(): Promise<void> {
    return this.call('checkNodeHold', undefined)
  }
  override fenceElsewhere(): Promise<RemoteFence | undefined> {
    return this.call('fenceElsewhere', undefined)
  }
}

let gw: TestGateway | undefined
let etcd: HeldEtcd | undefined
afterEach(async () => {
  // a call left hanging would hold up close(): the real ones end within their own budget
  etcd?.open()
  await gw?.stop()
  gw = undefined
})

async function gateway(c: HeldEtcd) {
  etcd = c
  const r = await startFakeGateway({ pdu: { '1': 'on' } }, { n1: { plugs: ['pdu:1'] } }, { coordinator: c })
  gw = r.gw
  return { engine: r.gw.engine, pdu: r.fakes.get('pdu')! }
}

describe('replica mode: the caller is answered by its deadline whatever etcd does', () => {
  it('an intent etcd has not taken by the deadline: the fence fails, no device touched; its result goes after the intent', async () => {
    const c = new HeldEtcd(new Set(['recordIntent']))
    const { engine, pdu } = await gateway(c)
    const op = await engine.fence('n1', 'off', { initiator: FENCER, timeoutMs: 200 })
    expect(c.log.filter((l) => l.startsWith('record'))).toEqual(['recordIntent sent'])
    expect(op.status).toBe('failed')
    expect(op.results[0]!.error?.code).toBe('DEADLINE_EXCEEDED')
    expect(pdu.sets()).toEqual([])
    c.open()
    await engine.close()
    expect(c.log.filter((l) => l.startsWith('record'))).toEqual([
      'recordIntent sent',
      'recordIntent done',
      'recordResult sent',
      'recordResult done',
    ])
  })

  it('a fence hold etcd has not taken by the deadline: the fence fails before the device is touched', async () => {
    const c = new HeldEtcd(new Set(['holdNode']))
    const { engine, pdu } = await gateway(c)
    const op = await engine.fence('n1', 'off', { initiator: FENCER, timeoutMs: 200 })
    expect(c.log).toContain('holdNode sent')
    expect(c.log).not.toContain('holdNode done')
    expect(op.results[0]!.error?.code).toBe('DEADLINE_EXCEEDED')
    expect(pdu.sets()).toEqual([])
  })

  it('a result etcd has not taken: the fence is answered (off, read back) and close() waits for the write', async () => {
    const c = new HeldEtcd(new Set(['recordResult']))
    const { engine, pdu } = await gateway(c)
    const op = await engine.fence('n1', 'off', { initiator: FENCER, timeoutMs: 500 })
    expect(op.status).toBe('succeeded')
    expect(op.results[0]!.state).toBe('off')
    expect(pdu.sets('off').length).toBeGreaterThan(0)
    expect(c.log).toContain('recordResult sent')
    expect(c.log).not.toContain('recordResult done')
    let closed = false
    const closing = engine.close().then(() => {
      closed = true
    })
    await new Promise((r) => setImmediate(r))
    expect(closed).toBe(false)
    c.open()
    await closing
    expect(c.log).toContain('recordResult done')
  })

  it('a look for a fence elsewhere that etcd does not answer: DEADLINE_EXCEEDED, nothing run', async () => {
    const c = new HeldEtcd(new Set(['fenceElsewhere']))
    const { engine, pdu } = await gateway(c)
    const err = (await engine
      .fence('n1', 'off', { initiator: FENCER, timeoutMs: 200 })
      .catch((e) => e)) as FenceError
    expect(err).toBeInstanceOf(FenceError)
    expect(err.code).toBe('DEADLINE_EXCEEDED')
    expect(c.log).not.toContain('recordIntent sent')
    expect(pdu.calls).toEqual([])
  })

  it("an operator's power-off whose fence-hold look etcd does not answer: failed by its deadline, nothing driven", async () => {
    const c = new HeldEtcd(new Set(['checkNodeHold']))
    const { engine, pdu } = await gateway(c)
    const op = await engine.power('n1', 'off', { initiator: OPERATOR, timeoutMs: 200 })
    expect(op.status).toBe('failed')
    expect(op.results[0]!.error?.code).toBe('DEADLINE_EXCEEDED')
    expect(c.log).not.toContain('checkNodeHold done')
    expect(pdu.sets()).toEqual([])
  })

  it('a fence of another action waiting on a fence whose hold renewal etcd has not taken runs (it never spins on the settled fence)', async () => {
    // the first fence's hold goes through; its renewal after the fence (the 2nd call) hangs
    class RenewalHangs extends HeldEtcd {
      private holdCalls = 0
      private readonly hung: (() => void)[] = []
      override holdNode(): Promise<void> {
        return ++this.holdCalls === 2 ? new Promise((r) => this.hung.push(r)) : Promise.resolve()
      }
      override open(): void {
        for (const r of this.hung.splice(0)) r()
        super.open()
      }
    }
    const c = new RenewalHangs(new Set())
    const { engine, pdu } = await gateway(c)
    const first = engine.fence('n1', 'off', { initiator: FENCER, timeoutMs: 1000 })
    const second = engine.fence('n1', 'reboot', { initiator: FENCER, timeoutMs: 5000 })
    const op = await second
    expect(op.action).toBe('reboot')
    expect(op.status).toBe('succeeded')
    expect(pdu.sets('on').length).toBeGreaterThan(0)
    expect((await first).status).toBe('succeeded')
  })
})
