/**
 * Regression tests of issue 9 (fencing integrity under interleavings). Each reproduces a defect
 * found by driving the engine in interleavings and failed before its fix. The drivers are
 * FakeDrivers (test/helpers/fake-driver.ts): states in memory, a delay per call, calls that may
 * ignore their abort, an overlap counter.
 */
import { readFileSync } from 'node:fs'
import { afterEach, describe, expect, it } from 'vitest'
import { FakeDriver, startFakeGateway } from '../../test/helpers/fake-driver.js'
import { FENCER, OPERATOR, type TestGateway } from '../../test/helpers/gateway.js'
import type { PowerState } from '../../core/types.js'

let gw: TestGateway
afterEach(async () => gw?.stop())

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** A gateway whose devices are FakeDrivers (see startFakeGateway). */
async function fakeGateway(
  devices: Record<string, Record<string, PowerState>>,
  nodes: Record<string, unknown>,
  engine: Record<string, unknown> = {},
): Promise<Map<string, FakeDriver>> {
  const r = await startFakeGateway(devices, nodes, { engine })
  gw = r.gw
  return r.fakes
}

describe('per-node exclusion: a fence is never undone by work already under way', () => {
  it('an operator on queued behind a slow device is pre-empted by a fence 50 ms later', async () => {
    const f = await fakeGateway({ pdu: { '1': 'off' } }, { n1: { plugs: ['pdu:1'] } }, { fenceHold: '5s' })
    const pdu = f.get('pdu')!
    pdu.delay = 100
    const on = gw.engine.power('n1', 'on', { initiator: OPERATOR })
    await pdu.until((d) => d.inFlight === 1) // the operator's pre-read is at the device
    const fence = await gw.engine.fence('n1', 'off', { initiator: FENCER })
    expect(fence.status).toBe('succeeded')
    const opOn = await on
    await wait(300)
    expect(pdu.states.get('1')).toBe('off')
    expect(pdu.sets('on')).toHaveLength(0)
    expect(opOn.status).toBe('failed')
    expect(opOn.results[0]!.error).toMatchObject({ code: 'PREEMPTED' })
    expect(opOn.results[0]!.error!.message).toContain(`fence ${fence.id}`)
    // the journal says so too
    const lines = readFileSync(gw.config.journal.path, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    expect(lines).toContainEqual(
      expect.objectContaining({
        t: 'result',
        op: opOn.id,
        outcome: 'failed',
        error: expect.objectContaining({ code: 'PREEMPTED' }),
      }),
    )
  })

  it('an operator reboot waiting in powerWait never powers the node on after a fence', async () => {
    const f = await fakeGateway(
      { pdu: { '1': 'on' } },
      { n1: { plugs: ['pdu:1'], powerWait: '300ms' } },
      { fenceHold: '5s' },
    )
    const pdu = f.get('pdu')!
    const reboot = gw.engine.power('n1', 'reboot', { initiator: OPERATOR })
    // the reboot's off is verified (read, off, read back); it sits in powerWait
    await pdu.until((d) => d.calls.length >= 3 && d.inFlight === 0)
    expect(pdu.states.get('1')).toBe('off')
    const fence = await gw.engine.fence('n1', 'off', { initiator: FENCER })
    expect(fence.status).toBe('succeeded')
    const r = (await reboot).results[0]!
    await wait(400)
    expect(pdu.states.get('1')).toBe('off')
    expect(pdu.sets('on')).toHaveLength(0)
    expect(r.onVerified).toBe(false)
    expect(r.onError).toMatchObject({ code: 'PREEMPTED' })
    expect(r.onError!.message).toContain(fence.id)
  })

  it('a fence waits until the pre-empted call has left the device before its first read', async () => {
    const f = await fakeGateway({ pdu: { '1': 'off' } }, { n1: { plugs: ['pdu:1'] } })
    const pdu = f.get('pdu')!
    pdu.delay = 150
    pdu.ignoreAbort = true // the driver cannot be interrupted: its `on` lands whatever the engine does
    const on = gw.engine.power('n1', 'on', { initiator: OPERATOR })
    await pdu.until((d) => d.sets('on').length === 1) // its `set on` is at the device
    const fence = await gw.engine.fence('n1', 'off', { initiator: FENCER })
    await on
    expect(fence.status).toBe('succeeded')
    expect(pdu.maxInFlight).toBe(1)
    // the fence read the plug after the `on` landed, saw it on and switched it off
    expect(pdu.states.get('1')).toBe('off')
    expect(fence.results[0]!.already).toBeUndefined()
  })

  it('non-fence work on a node being fenced is refused at admission, whatever the role', async () => {
    const f = await fakeGateway({ pdu: { '1': 'on' } }, { n1: { plugs: ['pdu:1'] } })
    f.get('pdu')!.delay = 100
    const fence = gw.engine.fence('n1', 'off', { initiator: FENCER })
    await f.get('pdu')!.until((d) => d.inFlight === 1)
    await expect(gw.engine.power('n1', 'on', { initiator: FENCER })).rejects.toMatchObject({
      code: 'FENCE_HOLD',
    })
    await expect(gw.engine.power('n1', 'off', { initiator: OPERATOR })).rejects.toMatchObject({
      code: 'FENCE_HOLD',
    })
    expect((await fence).status).toBe('succeeded')
  })
})

describe('device queue', () => {
  it('one driver call in flight per device, even after its caller gave up', async () => {
    const f = await fakeGateway(
      { pdu: { '1': 'on', '2': 'on' } },
      { a: { plugs: ['pdu:1'] }, b: { plugs: ['pdu:2'] } },
    )
    const pdu = f.get('pdu')!
    pdu.delay = 200
    pdu.ignoreAbort = true
    const cut = await gw.engine.power('a', 'off', { initiator: OPERATOR, timeoutMs: 50 })
    expect(cut.status).toBe('failed')
    const next = await gw.engine.power('b', 'off', { initiator: OPERATOR, timeoutMs: 3000 })
    expect(next.status).toBe('succeeded')
    expect(pdu.maxInFlight).toBe(1)
  })

  it('a dead device on level 1 is not retried while level 2 is left', async () => {
    const f = await fakeGateway(
      { bmc: { chassis: 'on' }, pdu: { '1': 'on' } },
      { n: { levels: [['bmc:chassis'], ['pdu:1']] } },
      { retries: 2 },
    )
    const bmc = f.get('bmc')!
    bmc.delay = 100
    bmc.fail = 'DEVICE_TIMEOUT'
    const op = await gw.engine.fence('n', 'off', { initiator: FENCER, timeoutMs: 10_000 })
    expect(op.status).toBe('succeeded')
    expect(op.results[0]!.level).toBe(2)
    expect(bmc.calls).toHaveLength(1)
  })

  it('a garbled answer is still retried on level 1', async () => {
    const f = await fakeGateway(
      { bmc: { chassis: 'on' }, pdu: { '1': 'on' } },
      { n: { levels: [['bmc:chassis'], ['pdu:1']] } },
      { retries: 2 },
    )
    const bmc = f.get('bmc')!
    bmc.fail = 'PROTOCOL_ERROR'
    const op = await gw.engine.fence('n', 'off', { initiator: FENCER, timeoutMs: 10_000 })
    expect(op.results[0]!.level).toBe(2)
    expect(bmc.calls).toHaveLength(3)
  })
})

describe('joined fences, cycles, results', () => {
  it("a joined fence answers by its own caller's deadline and survives the first caller's hang-up", async () => {
    const f = await fakeGateway({ pdu: { '1': 'on' } }, { n1: { plugs: ['pdu:1'] } })
    f.get('pdu')!.delay = 150
    const first = new AbortController()
    const a = gw.engine.fence('n1', 'off', { initiator: FENCER, signal: first.signal })
    await f.get('pdu')!.until((d) => d.inFlight === 1)
    const t0 = performance.now()
    const short = await gw.engine.fence('n1', 'off', { initiator: FENCER, timeoutMs: 100 })
    expect(performance.now() - t0).toBeLessThan(1000)
    expect(short.status).toBe('failed')
    expect(short.results[0]).toMatchObject({ joined: true, error: { code: 'DEADLINE_EXCEEDED' } })
    const b = gw.engine.fence('n1', 'off', { initiator: FENCER, timeoutMs: 5000 })
    first.abort()
    const joined = await b
    expect(joined.status).toBe('succeeded')
    expect(joined.results[0]!.joined).toBe(true)
    await a
    expect(f.get('pdu')!.states.get('1')).toBe('off')
  })

  it('cycle with deviceCycle on a two-plug level is off, verify, on — never the device cycle', async () => {
    const f = await fakeGateway({ pdu: { '1': 'on', '2': 'on' } }, { dual: { plugs: ['pdu:1', 'pdu:2'] } })
    ;(gw.engine as unknown as { runners: Map<string, { deviceCycle: boolean }> }).runners.get(
      'pdu',
    )!.deviceCycle = true
    const op = await gw.engine.power('dual', 'cycle', { initiator: OPERATOR })
    expect(op.status).toBe('succeeded')
    const pdu = f.get('pdu')!
    expect(pdu.sets('cycle')).toHaveLength(0)
    expect(pdu.sets('off')).toHaveLength(2)
  })

  it('a fence cut by its deadline on a stuck relay says the plug still read on', async () => {
    const f = await fakeGateway({ pdu: { '1': 'on' } }, { n1: { plugs: ['pdu:1'] } }, { verifyPoll: '20ms' })
    const pdu = f.get('pdu')!
    pdu.lie = true
    pdu.delay = 40
    const op = await gw.engine.fence('n1', 'off', { initiator: FENCER, timeoutMs: 500 })
    expect(op.status).toBe('failed')
    const r = op.results[0]!
    expect(r.state).toBe('on')
    expect(r.error!.message).toContain('pdu:1 still read on')
    const verify = r.attempts.find((a) => a.step === 'verify')!
    expect(verify).toMatchObject({ outcome: 'failed', state: 'on' })
  })

  it('the result record carries onError', async () => {
    const f = await fakeGateway({ pdu: { '1': 'on' } }, { n1: { plugs: ['pdu:1'], powerWait: '10ms' } })
    f.get('pdu')!.lie = 'on' // the off lands; the on will not
    const done = await gw.engine.fence('n1', 'reboot', { initiator: FENCER, timeoutMs: 600 })
    expect(done.results[0]!.onVerified).toBe(false)
    const lines = readFileSync(gw.config.journal.path, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    expect(lines.find((l) => l.t === 'result')).toMatchObject({
      onVerified: false,
      onError: { code: expect.any(String) },
    })
  })

  it('an operation id is handed out only once its intent is on disk', async () => {
    await fakeGateway({ pdu: { '1': 'on' } }, { n1: { plugs: ['pdu:1'] } })
    const path = gw.config.journal.path
    let seen = ''
    await gw.engine.power('n1', 'off', {
      initiator: OPERATOR,
      onStart: (o) => {
        seen = readFileSync(path, 'utf8').includes(`"op":"${o.id}"`) ? 'durable' : 'not on disk'
      },
    })
    expect(seen).toBe('durable')
  })

  it('fenceHold survives a restart of the engine', async () => {
    await fakeGateway({ pdu: { '1': 'on' } }, { n1: { plugs: ['pdu:1'] } }, { fenceHold: '1h' })
    expect((await gw.engine.fence('n1', 'off', { initiator: FENCER })).status).toBe('succeeded')
    await gw.engine.close()
    const { Engine } = await import('./engine.js')
    const again = await Engine.create(gw.config, { createDriver: () => new FakeDriver({ '1': 'off' }) })
    try {
      await expect(again.power('n1', 'on', { initiator: OPERATOR })).rejects.toMatchObject({
        code: 'FENCE_HOLD',
      })
    } finally {
      await again.close()
    }
  })

  it('a caller who joins a fence and gives up before it started gets an error, never an unknown id', async () => {
    const f = await fakeGateway({ pdu: { '1': 'on' } }, { n1: { plugs: ['pdu:1'] } })
    f.get('pdu')!.delay = 100
    const gone = new AbortController()
    const a = gw.engine.fence('n1', 'off', { initiator: FENCER })
    gone.abort()
    const joiner = gw.engine.fence('n1', 'off', { initiator: FENCER, signal: gone.signal })
    const outcome = await joiner.then(
      (op) => ({ id: op.id }),
      (e) => ({ code: (e as { code: string }).code }),
    )
    const first = await a
    if ('id' in outcome) expect(outcome.id).toBe(first.id)
    else expect(outcome.code).toBe('ABORTED')
  })
})
