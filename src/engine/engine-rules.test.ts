import { readFileSync } from 'node:fs'
import { afterEach, describe, expect, it } from 'vitest'
import type { PowerDriver } from '../../drivers/driver.js'
import { DRIVERS } from '../../drivers/registry.js'
import { readSecret } from '../config/secrets.js'
import { FENCER, OPERATOR, type TestGateway, startTestGateway } from '../../test/helpers/gateway.js'

let gw: TestGateway
afterEach(async () => gw?.stop())

describe('engine rules beyond the basics', () => {
  it('rule 8: the intent is on disk before the device is touched', async () => {
    let journalAtSet = ''
    let journalPath = ''
    gw = await startTestGateway({
      devices: { sw: { kind: 'dummy', listen: '127.0.0.1:0', plugs: 2 } },
      nodes: { n1: { plugs: ['sw:1'] } },
      engineOptions: {
        createDriver: (dev) => {
          const f = DRIVERS.get(dev.driver)!
          const d = f.create(dev.config, { deviceId: dev.id, readSecret, log: () => {} })
          const wrapped: PowerDriver = {
            kind: d.kind,
            plugs: (c) => d.plugs(c),
            status: (p, c) => {
              journalAtSet ||= readFileSync(journalPath, 'utf8')
              return d.status(p, c)
            },
            set: (p, a, c) => d.set(p, a, c),
            close: () => d.close(),
          }
          return wrapped
        },
      },
    }).then((g) => {
      journalPath = g.config.journal.path
      return g
    })
    const op = await gw.engine.fence('n1', 'off', { initiator: FENCER })
    expect(op.status).toBe('succeeded')
    expect(journalAtSet).toContain(`"t":"intent","op":"${op.id}"`)
  })

  it('rule 2: a fence cancels commands the device still has pending (a delayed on)', async () => {
    gw = await startTestGateway({
      devices: { sw: { kind: 'dummy', listen: '127.0.0.1:0', plugs: 2 } },
      nodes: { n1: { plugs: ['sw:1'] } },
    })
    const sim = gw.lab.device('sw')!.sim
    sim.setPhysical('1', 'off')
    sim.command('1', 'on', 300) // the device will power the node back on in 300 ms
    const op = await gw.engine.fence('n1', 'off', { initiator: FENCER })
    expect(op.results[0]).toMatchObject({ outcome: 'success', already: true })
    expect(op.results[0]!.attempts[0]).toMatchObject({ step: 'cancel', outcome: 'ok' })
    await new Promise((r) => setTimeout(r, 450))
    expect(sim.state('1')).toBe('off')
  })

  it('rule 7: bulk on is staggered per device, devices in parallel', async () => {
    gw = await startTestGateway({
      devices: {
        a: { kind: 'dummy', listen: '127.0.0.1:0', plugs: 3, initial: 'off' },
        b: { kind: 'dummy', listen: '127.0.0.1:0', plugs: 3, initial: 'off' },
      },
      nodes: {
        n1: { plugs: ['a:1'] },
        n2: { plugs: ['a:2'] },
        n3: { plugs: ['a:3'] },
        m1: { plugs: ['b:1'] },
      },
      engine: { onStagger: '100ms' },
    })
    const op = await gw.engine.bulk(['n1', 'n2', 'n3', 'm1'], 'on', { initiator: OPERATOR })
    expect(op.status).toBe('succeeded')
    const onsA = gw.lab
      .device('a')!
      .sim.commands.filter((c) => c.action === 'on')
      .map((c) => c.at)
    expect(onsA).toHaveLength(3)
    for (let i = 1; i < onsA.length; i++) expect(onsA[i]! - onsA[i - 1]!).toBeGreaterThanOrEqual(95)
    const onB = gw.lab.device('b')!.sim.commands[0]!.at
    expect(onB - onsA[0]!).toBeLessThan(onsA[2]! - onsA[0]!) // b did not wait behind a's stagger
  })

  it('rule 9: devices are probed on a schedule; a dead one is reported failing with the error', async () => {
    gw = await startTestGateway({
      devices: {
        ok: { kind: 'dummy', listen: '127.0.0.1:0', plugs: 1 },
        dead: { kind: 'dummy', listen: '127.0.0.1:0', plugs: 1 },
      },
      nodes: { n1: { plugs: ['ok:1'] }, n2: { plugs: ['dead:1'] } },
      engine: { probeInterval: '100ms', probeTimeout: '300ms' },
      driverOverrides: { dead: { requestTimeout: '100ms' } },
    })
    gw.lab.device('dead')!.sim.faults.add({ type: 'drop' })
    await new Promise((r) => setTimeout(r, 900))
    const ok = gw.engine.device('ok')
    const dead = gw.engine.device('dead')
    expect(ok.state).toBe('ok')
    expect(ok.counts.probes).toBeGreaterThan(1)
    expect(ok.latencyMs).toBeGreaterThanOrEqual(0)
    expect(dead.state).toBe('failing')
    expect(dead.lastError?.code).toMatch(/DEVICE_TIMEOUT/)
    expect(dead.counts.probeFailures).toBeGreaterThan(0)
  })

  it('rule 5: cycling a node that is off powers it on; an operator cycle never fences', async () => {
    gw = await startTestGateway({
      devices: { sw: { kind: 'dummy', listen: '127.0.0.1:0', plugs: 2 } },
      nodes: { n1: { plugs: ['sw:1'] } },
    })
    const sim = gw.lab.device('sw')!.sim
    sim.setPhysical('1', 'off')
    const op = await gw.engine.power('n1', 'cycle', { initiator: OPERATOR })
    expect(op.results[0]).toMatchObject({ outcome: 'success', state: 'on', onVerified: true })
    expect(sim.commands.map((c) => c.action)).toEqual(['on'])
  })

  it('a software cycle of an on node is off, verify, wait, on', async () => {
    gw = await startTestGateway({
      devices: { sw: { kind: 'dummy', listen: '127.0.0.1:0', plugs: 2 } },
      nodes: { n1: { plugs: ['sw:1'], powerWait: '150ms' } },
    })
    const sim = gw.lab.device('sw')!.sim
    const op = await gw.engine.power('n1', 'cycle', { initiator: OPERATOR })
    expect(op.results[0]).toMatchObject({ outcome: 'success', onVerified: true })
    const [off, on] = sim.commands
    expect([off!.action, on!.action]).toEqual(['off', 'on'])
    expect(on!.at - off!.at).toBeGreaterThanOrEqual(140)
  })

  it('rule 7: fence work goes ahead of operator work queued for the same device', async () => {
    gw = await startTestGateway({
      devices: { sw: { kind: 'dummy', listen: '127.0.0.1:0', plugs: 5 } },
      nodes: {
        a1: { plugs: ['sw:1'] },
        a2: { plugs: ['sw:2'] },
        a3: { plugs: ['sw:3'] },
        a4: { plugs: ['sw:4'] },
        victim: { plugs: ['sw:5'] },
      },
      engine: { onStagger: '0ms' },
    })
    const sim = gw.lab.device('sw')!.sim
    for (const p of ['1', '2', '3', '4']) sim.setPhysical(p, 'off')
    sim.faults.add({ type: 'delay', ms: 80 }) // every answer takes 80 ms: work piles up in the queue
    const bulk = gw.engine.bulk(['a1', 'a2', 'a3', 'a4'], 'on', { initiator: OPERATOR })
    await new Promise((r) => setTimeout(r, 10))
    const fence = await gw.engine.fence('victim', 'off', { initiator: FENCER })
    await bulk
    expect(fence.status).toBe('succeeded')
    const order = sim.commands.map((c) => `${c.action}${c.plug}`)
    expect(order).toHaveLength(5)
    // without priorities the fence's off would come after all four queued ons
    expect(order.indexOf('off5')).toBeLessThan(4)
  })

  it('probes feed the last-known states; close() waits for operations under way', async () => {
    gw = await startTestGateway({
      devices: { sw: { kind: 'dummy', listen: '127.0.0.1:0', plugs: 2, transitionDelay: '200ms' } },
      nodes: { n1: { plugs: ['sw:1'] }, n2: { plugs: ['sw:2'] } },
      engine: { probeInterval: '50ms' },
    })
    gw.lab.device('sw')!.sim.setPhysical('2', 'off')
    await new Promise((r) => setTimeout(r, 300))
    expect(gw.engine.cached(['n1', 'n2']).map((s) => s.state)).toEqual(['on', 'off'])
    let finished = false
    const op = gw.engine.fence('n1', 'off', { initiator: FENCER }).then((o) => {
      finished = true
      return o
    })
    await new Promise((r) => setTimeout(r, 30))
    await gw.engine.close()
    expect(finished).toBe(true)
    expect((await op).status).toBe('succeeded')
    const lines = readFileSync(gw.config.journal.path, 'utf8').trim().split('\n')
    expect(JSON.parse(lines.at(-1)!)).toMatchObject({ t: 'result', outcome: 'success' })
  })
})
