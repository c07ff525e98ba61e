import { afterEach, describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import { FENCER, OPERATOR, type TestGateway, startTestGateway } from '../../test/helpers/gateway.js'

let gw: TestGateway
afterEach(async () => gw?.stop())

const twoDevices = {
  pdu: { kind: 'dummy', listen: '127.0.0.1:0', plugs: 4 },
  bmc: { kind: 'dummy', listen: '127.0.0.1:0', plugs: 1 },
}
const nodes = {
  n1: { plugs: ['pdu:1'] },
  dual: { plugs: ['pdu:2', 'pdu:3'] },
  lv: { levels: [['bmc:1'], ['pdu:4']] },
}

describe('engine with the dummy driver', () => {
  it('fences a dual-PSU node: both plugs off and read back, journaled', async () => {
    gw = await startTestGateway({ devices: twoDevices, nodes })
    const op = await gw.engine.fence('dual', 'off', { initiator: FENCER })
    expect(op.status).toBe('succeeded')
    const r = op.results[0]!
    expect(r.state).toBe('off')
    expect(r.level).toBe(1)
    const pdu = gw.lab.device('pdu')!.sim
    expect(pdu.state('2')).toBe('off')
    expect(pdu.state('3')).toBe('off')
    expect(
      r.attempts
        .filter((a) => a.step === 'verify' && a.outcome === 'ok')
        .map((a) => a.plug)
        .sort(),
    ).toEqual(['2', '3'])
    const lines = readFileSync(gw.config.journal.path, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    expect(lines[0]).toMatchObject({ t: 'intent', op: op.id, action: 'off', nodes: ['dual'] })
    expect(lines.at(-1)).toMatchObject({ t: 'result', op: op.id, outcome: 'success', level: 1 })
  })

  it('a device that lies (acknowledges, stays on) is a failure, never a success', async () => {
    gw = await startTestGateway({ devices: twoDevices, nodes })
    gw.lab.device('pdu')!.sim.faults.add({ type: 'lie' })
    const op = await gw.engine.fence('n1', 'off', { initiator: FENCER, timeoutMs: 400 })
    expect(op.status).toBe('failed')
    expect(op.results[0]!.state).not.toBe('off')
    expect(op.results[0]!.error!.code).toMatch(/VERIFY_FAILED|DEADLINE_EXCEEDED/)
    expect(gw.lab.device('pdu')!.sim.state('1')).toBe('on')
  })

  it('falls through to level 2 when level 1 fails, and lists both attempts', async () => {
    gw = await startTestGateway({
      devices: twoDevices,
      nodes,
      driverOverrides: { bmc: { requestTimeout: '100ms' } },
    })
    gw.lab.device('bmc')!.sim.faults.add({ type: 'drop' })
    const op = await gw.engine.fence('lv', 'off', { initiator: FENCER, timeoutMs: 5000 })
    expect(op.status).toBe('succeeded')
    const r = op.results[0]!
    expect(r.level).toBe(2)
    expect(
      r.attempts.some((a) => a.level === 1 && a.outcome === 'failed' && a.code === 'DEVICE_TIMEOUT'),
    ).toBe(true)
    expect(gw.lab.device('pdu')!.sim.state('4')).toBe('off')
    expect(gw.lab.device('bmc')!.sim.state('1')).toBe('on')
  })

  it('reboot = off verified, wait, on; reports the power-on separately', async () => {
    gw = await startTestGateway({ devices: twoDevices, nodes })
    const op = await gw.engine.fence('dual', 'reboot', { initiator: FENCER })
    expect(op.status).toBe('succeeded')
    expect(op.results[0]!.onVerified).toBe(true)
    const cmds = gw.lab.device('pdu')!.sim.commands.map((c) => `${c.plug}${c.action}`)
    // both off before any on (rule 3), never a device cycle (rule 2)
    expect(cmds.slice(0, 2).sort()).toEqual(['2off', '3off'])
    expect(cmds.slice(2).sort()).toEqual(['2on', '3on'])
  })

  it('a failed power-on does not fail a fence reboot', async () => {
    gw = await startTestGateway({ devices: twoDevices, nodes })
    const sim = gw.lab.device('pdu')!.sim
    sim.on('change', (plug, state) => {
      if (plug === '1' && state === 'off') sim.faults.add({ type: 'lie' })
    })
    const op = await gw.engine.fence('n1', 'reboot', { initiator: FENCER, timeoutMs: 600 })
    expect(op.status).toBe('succeeded')
    expect(op.results[0]!.onVerified).toBe(false)
    expect(sim.state('1')).toBe('off')
  })

  it('already off: success after a read, no command sent', async () => {
    gw = await startTestGateway({ devices: twoDevices, nodes })
    gw.lab.device('pdu')!.sim.setPhysical('1', 'off')
    const op = await gw.engine.power('n1', 'off', { initiator: OPERATOR })
    expect(op.results[0]).toMatchObject({ outcome: 'success', already: true, state: 'off' })
    expect(gw.lab.device('pdu')!.sim.commands).toHaveLength(0)
  })

  it('a second fence of the same node joins the first; on is refused during and after', async () => {
    gw = await startTestGateway({
      devices: { pdu: { kind: 'dummy', listen: '127.0.0.1:0', plugs: 2, transitionDelay: '150ms' } },
      nodes: { n1: { plugs: ['pdu:1'] } },
    })
    const a = gw.engine.fence('n1', 'off', { initiator: FENCER })
    await new Promise((r) => setTimeout(r, 20))
    await expect(gw.engine.power('n1', 'on', { initiator: OPERATOR })).rejects.toMatchObject({
      code: 'FENCE_HOLD',
    })
    const b = await gw.engine.fence('n1', 'off', { initiator: FENCER })
    const first = await a
    expect(b.id).toBe(first.id)
    expect(b.results[0]!.joined).toBe(true)
    expect(gw.lab.device('pdu')!.sim.commands.filter((c) => c.action === 'off')).toHaveLength(1)
    await expect(gw.engine.power('n1', 'on', { initiator: OPERATOR })).rejects.toMatchObject({
      code: 'FENCE_HOLD',
    })
    const on = await gw.engine.power('n1', 'on', { initiator: FENCER })
    expect(on.status).toBe('succeeded')
  })

  it('past the deadline no mutating step is issued and the caller gets an answer', async () => {
    gw = await startTestGateway({
      devices: twoDevices,
      nodes,
      driverOverrides: { pdu: { requestTimeout: '5s' } },
    })
    gw.lab.device('pdu')!.sim.faults.add({ type: 'stall' })
    const t0 = Date.now()
    const op = await gw.engine.fence('n1', 'off', { initiator: FENCER, timeoutMs: 300 })
    expect(Date.now() - t0).toBeLessThan(5000)
    expect(op.status).toBe('failed')
    expect(op.results[0]!.error!.code).toBe('DEADLINE_EXCEEDED')
    expect(gw.lab.device('pdu')!.sim.commands).toHaveLength(0)
  })

  it('batches the status of many plugs of one device into one round', async () => {
    gw = await startTestGateway({ devices: twoDevices, nodes })
    const rounds: number[] = []
    const sim = gw.lab.device('pdu')!.sim
    const orig = sim.faults.decide.bind(sim.faults)
    sim.faults.decide = () => {
      rounds.push(1)
      return orig()
    }
    const st = await gw.engine.status(['n1', 'dual', 'lv'], { initiator: OPERATOR })
    expect(st.map((s) => s.state)).toEqual(['on', 'on', 'on'])
    expect(rounds).toHaveLength(1)
  })

  it('an interrupted operation shows as unknown after restart, never dropped', async () => {
    gw = await startTestGateway({ devices: twoDevices, nodes })
    await gw.engine.journal.append(
      {
        t: 'intent',
        op: 'crashed-op',
        ts: new Date().toISOString(),
        kind: 'fence',
        action: 'off',
        nodes: ['n1'],
        initiator: FENCER,
      },
      true,
    )
    await gw.engine.close()
    const { Engine } = await import('./engine.js')
    const again = await Engine.create(gw.config)
    try {
      const h = await again.history({ node: 'n1' })
      expect(h.find((e) => e.op === 'crashed-op')?.outcome).toBe('unknown')
      expect(again.journal.recovered.map((r) => r.op)).toEqual(['crashed-op'])
    } finally {
      await again.close()
    }
  })

  it('a second engine on the same journal refuses to start', async () => {
    gw = await startTestGateway({ devices: twoDevices, nodes })
    const { Journal } = await import('../audit/journal.js')
    await expect(Journal.open(gw.config.journal)).rejects.toMatchObject({ code: 'JOURNAL_LOCKED' })
  })
})
