/**
 * Devices that cannot read their outlets back (the unverified class) and the manual fencing level
 * (meatware: a person confirms a node off). Issue 11.
 */
import { readFileSync } from 'node:fs'
import { afterEach, describe, expect, it } from 'vitest'
import type { DriverFactory } from '../../drivers/driver.js'
import { DRIVERS } from '../../drivers/registry.js'
import { type FakeDriver, startFakeGateway } from '../../test/helpers/fake-driver.js'
import { FENCER, OPERATOR, type TestGateway } from '../../test/helpers/gateway.js'
import { readConfig } from '../config/config.js'
import type { PowerState } from '../../core/types.js'

let gw: TestGateway
afterEach(async () => gw?.stop())

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** A gateway over FakeDrivers; devices named in `blind` cannot read back (see startFakeGateway). */
async function fakeGateway(
  devices: Record<string, Record<string, PowerState>>,
  nodes: Record<string, unknown>,
  blind: string[] = [],
): Promise<Map<string, FakeDriver>> {
  const r = await startFakeGateway(devices, nodes, { blind })
  gw = r.gw
  return r.fakes
}

function journal(): Record<string, unknown>[] {
  return readFileSync(gw.config.journal.path, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
}

describe('config: the unverified class and the manual level', () => {
  const blind: DriverFactory = { ...DRIVERS.get('dummy')!, kind: 'blind-test', verifies: false }
  const doc = (node: Record<string, unknown>) => ({
    journal: '/tmp/unused.jsonl',
    devices: { relay: { driver: 'blind-test', port: 9 } },
    nodes: { board: node },
  })
  const read = (node: Record<string, unknown>) => {
    ;(DRIVERS as Map<string, DriverFactory>).set('blind-test', blind)
    try {
      return readConfig(doc(node)).problems.map((p) => `${p.path.join('.')}: ${p.message}`)
    } finally {
      ;(DRIVERS as Map<string, DriverFactory>).delete('blind-test')
    }
  }

  it('refuses a device that cannot read back as a fencing level, and says why', () => {
    const problems = read({ plugs: ['relay:1'] })
    expect(problems).toHaveLength(1)
    expect(problems[0]).toMatch(
      /^nodes\.board\.plugs: device relay \(blind-test\) cannot read its outlets back/,
    )
    expect(problems[0]).toContain('fence: false')
  })

  it('accepts it for operator power with fence: false', () => {
    expect(read({ plugs: ['relay:1'], fence: false })).toEqual([])
  })

  it('manual is the last level only, and only for fencing', () => {
    const dummyDoc = (levels: unknown, extra = {}) =>
      readConfig({
        journal: '/tmp/unused.jsonl',
        devices: { pdu: { driver: 'dummy', port: 9 } },
        nodes: { n: { levels, ...extra } },
      }).problems.map((p) => p.message)
    expect(dummyDoc([['pdu:1'], 'manual'])).toEqual([])
    expect(dummyDoc(['manual'])).toEqual([])
    expect(dummyDoc(['manual', ['pdu:1']])[0]).toContain('manual can only be the last level')
    expect(dummyDoc([['pdu:1'], 'manual'], { fence: false })[0]).toContain('a manual level is for fencing')
  })
})

describe('unverified devices: operator power only', () => {
  it('off and on are sent and said unverified, never off or on', async () => {
    const f = await fakeGateway({ relay: { '1': 'on' } }, { board: { plugs: ['relay:1'], fence: false } }, [
      'relay',
    ])
    const off = await gw.engine.power('board', 'off', { initiator: OPERATOR })
    expect(off.status).toBe('succeeded')
    expect(off.results[0]).toMatchObject({ outcome: 'unverified', state: 'unknown' })
    expect(f.get('relay')!.sets('off')).toHaveLength(1)
    const on = await gw.engine.power('board', 'on', { initiator: OPERATOR })
    expect(on.results[0]).toMatchObject({ outcome: 'unverified', state: 'unknown' })
    const cycle = await gw.engine.power('board', 'cycle', { initiator: OPERATOR })
    expect(cycle.results[0]).toMatchObject({ outcome: 'unverified', state: 'unknown' })
    expect(gw.engine.device('relay').verifies).toBe(false)
    // its probe succeeds when the device answers, although it reads nothing
    expect((await gw.engine.probe('relay', { initiator: OPERATOR })).state).toBe('ok')
  })

  it('a node that cannot be fenced refuses a fence', async () => {
    await fakeGateway({ relay: { '1': 'on' } }, { board: { plugs: ['relay:1'], fence: false } }, ['relay'])
    await expect(gw.engine.fence('board', 'off', { initiator: FENCER })).rejects.toMatchObject({
      code: 'UNSUPPORTED_ACTION',
    })
  })
})

describe('meatware: the manual level and confirm', () => {
  it('a fence whose devices all failed waits for a confirmation, which completes it', async () => {
    const f = await fakeGateway({ pdu: { '1': 'on' } }, { n1: { levels: [['pdu:1'], 'manual'] } })
    f.get('pdu')!.fail = 'DEVICE_ERROR'
    const fence = gw.engine.fence('n1', 'off', { initiator: FENCER, timeoutMs: 10_000 })
    let waiting: Awaited<ReturnType<typeof gw.engine.status>>[number] | undefined
    for (let i = 0; i < 200 && !waiting?.awaitingConfirmation; i++) {
      await wait(10)
      waiting = (await gw.engine.status(['n1'], { initiator: OPERATOR }))[0]
    }
    expect(waiting!.awaitingConfirmation).toMatchObject({ op: expect.any(String), since: expect.any(String) })
    const operator = { name: 'alice', role: 'fencer' as const, via: 'test' }
    const confirmed = await gw.engine.confirm('n1', {
      initiator: operator,
      reason: 'pulled both cords, rack 4',
    })
    const op = await fence
    expect(confirmed.id).toBe(op.id)
    expect(op.status).toBe('succeeded')
    const r = op.results[0]!
    expect(r).toMatchObject({
      outcome: 'confirmed-by-operator',
      state: 'unknown',
      level: 2,
      confirmation: { by: 'alice', reason: 'pulled both cords, rack 4' },
    })
    expect(r.attempts.find((a) => a.step === 'confirm')).toMatchObject({ outcome: 'ok', device: 'manual' })
    expect(journal()).toContainEqual(
      expect.objectContaining({
        t: 'result',
        op: op.id,
        outcome: 'confirmed-by-operator',
        confirmation: expect.objectContaining({ by: 'alice' }),
      }),
    )
    const [h] = await gw.engine.history({ node: 'n1' })
    expect(h).toMatchObject({ outcome: 'confirmed-by-operator', confirmation: { by: 'alice' } })
    // a confirmed fence holds like any other
    await expect(gw.engine.power('n1', 'on', { initiator: OPERATOR })).rejects.toMatchObject({
      code: 'FENCE_HOLD',
    })
  })

  it('with nobody confirming, the fence fails at its deadline and says so', async () => {
    const f = await fakeGateway({ pdu: { '1': 'on' } }, { n1: { levels: [['pdu:1'], 'manual'] } })
    f.get('pdu')!.fail = 'DEVICE_ERROR'
    const op = await gw.engine.fence('n1', 'off', { initiator: FENCER, timeoutMs: 600 })
    expect(op.status).toBe('failed')
    expect(op.results[0]!.error!.message).toContain('no operator confirmed n1 off in time')
    expect((await gw.engine.status(['n1'], { initiator: OPERATOR }))[0]!.awaitingConfirmation).toBeUndefined()
  })

  it('confirm completes a fence that failed (no manual level), and refuses when there is nothing to confirm', async () => {
    const f = await fakeGateway({ pdu: { '1': 'on' } }, { n1: { plugs: ['pdu:1'] } })
    await expect(
      gw.engine.confirm('n1', { initiator: FENCER, reason: 'looked at it' }),
    ).rejects.toMatchObject({
      code: 'NOTHING_TO_CONFIRM',
    })
    f.get('pdu')!.fail = 'DEVICE_ERROR'
    const fence = await gw.engine.fence('n1', 'off', { initiator: FENCER, timeoutMs: 2000 })
    expect(fence.status).toBe('failed')
    const c = await gw.engine.confirm('n1', { initiator: FENCER, reason: 'the node is unplugged' })
    expect(c).toMatchObject({ kind: 'confirm', status: 'succeeded' })
    expect(c.results[0]).toMatchObject({
      outcome: 'confirmed-by-operator',
      confirmation: { reason: 'the node is unplugged' },
    })
    expect(journal()).toContainEqual(expect.objectContaining({ t: 'intent', op: c.id, kind: 'confirm' }))
    // once confirmed there is nothing more to confirm
    await expect(gw.engine.confirm('n1', { initiator: FENCER, reason: 'again' })).rejects.toMatchObject({
      code: 'NOTHING_TO_CONFIRM',
    })
  })
})
