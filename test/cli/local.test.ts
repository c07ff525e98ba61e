import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config/config.js'
import { Engine } from '../../src/engine/engine.js'
import { type LabGateway, labWithConfig, run } from './helpers.js'

/**
 * `--config FILE`: the engine runs in the CLI's process against real mock devices on loopback.
 * Every command opens and closes its own engine (and journal lock).
 */
let g: LabGateway
beforeAll(async () => {
  g = await labWithConfig({
    devices: {
      d1: { kind: 'dummy', listen: '127.0.0.1:0', plugs: 4 },
      d2: { kind: 'dummy', listen: '127.0.0.1:0', plugs: 4 },
      dead: { kind: 'dummy', listen: '127.0.0.1:0', plugs: 1 },
    },
    nodes: {
      n1: { plugs: ['d1:1'] },
      n2: { plugs: ['d1:2', 'd2:2'] },
      n3: { levels: [['d1:3'], ['d2:3']] },
      n4: { plugs: ['d1:4'], fenceAction: 'reboot' },
      gone: { plugs: ['dead:1'] },
    },
    // nothing listens on port 1: the device is unreachable
    driverOverrides: { dead: { port: 1, connectTimeout: '200ms' } },
  })
})
afterAll(() => g.stop())
beforeEach(() => {
  for (const id of ['d1', 'd2']) {
    const sim = g.lab.device(id)!.sim
    sim.faults.clear()
    for (const p of ['1', '2', '3', '4']) sim.setPhysical(p, 'on')
  }
})

const cfg = () => ['--config', g.configFile]
const physical = (dev: string, plug: string) =>
  g.lab
    .device(dev)!
    .sim.describe()
    .find((p) => p.id === plug)!.state

describe('in-process --config', () => {
  it('status --json: every node read now, exit 0', async () => {
    g.lab.device('d2')!.sim.setPhysical('2', 'off')
    const r = await run(['status', 'n[1-3]', '--json', ...cfg()])
    expect(r.code).toBe(0)
    const j = JSON.parse(r.out)
    expect(j.simulated).toBe(false)
    expect(j.nodes.map((n: { name: string; state: string }) => [n.name, n.state])).toEqual([
      ['n1', 'on'],
      ['n2', 'on'], // one supply on is on
      ['n3', 'on'],
    ])
    expect(j.nodes[1].plugs).toEqual([
      { device: 'd1', plug: '2', level: 1, state: 'on' },
      { device: 'd2', plug: '2', level: 1, state: 'off' },
    ])
    expect(j.nodes[2].levels).toEqual([[{ device: 'd1', plug: '3' }], [{ device: 'd2', plug: '3' }]])
  })

  it('status table: a row per node, levels shown', async () => {
    const r = await run(['status', 'n2', 'n3', ...cfg()])
    expect(r.code).toBe(0)
    expect(r.out).toBe(
      'NODE  STATE  PLUGS\n' + 'n2    on     d1:2 on, d2:2 on\n' + 'n3    on     L1: d1:3 on | L2: d2:3 on\n',
    )
  })

  it('status of an unreachable device: unknown, the error shown, exit 1', async () => {
    const r = await run(['status', 'n1,gone', ...cfg()])
    expect(r.code).toBe(1)
    expect(r.out).toMatch(/^gone +unknown +dead:1 unknown$/m)
    expect(r.out).toMatch(/^gone: dead:1: DEVICE_UNREACHABLE: /m)
  })

  it('off: read back off, table and summary, exit 0; the devices are off', async () => {
    const r = await run(['off', 'n[1-2]', ...cfg()])
    expect(r.code).toBe(0)
    const rows = r.out.split('\n')
    expect(rows[0]).toMatch(/^NODE +ACTION +RESULT +STATE +LEVEL +TIME +DETAIL$/)
    expect(rows[1]).toMatch(/^n1 +off +success +off +1 +\d+ms/)
    expect(rows[2]).toMatch(/^n2 +off +success +off +1 +\d+ms/)
    expect(rows[3]).toMatch(/^2 succeeded, 0 failed \(operation [0-9a-f-]{36}\)$/)
    expect([physical('d1', '1'), physical('d1', '2'), physical('d2', '2')]).toEqual(['off', 'off', 'off'])
  })

  it('off of a plug that lies (acknowledges, stays on): failed, exit 1', async () => {
    g.lab.device('d1')!.sim.faults.add({ type: 'lie', plugs: ['1'] })
    const r = await run(['off', 'n1', '--json', '--timeout', '2s', ...cfg()])
    expect(r.code).toBe(1)
    const op = JSON.parse(r.out).operation
    expect(op.status).toBe('failed')
    expect(op.results[0].outcome).toBe('failed')
    expect(op.results[0].state).not.toBe('off')
    expect(physical('d1', '1')).toBe('on')
  })

  it('fence falls through to level 2 when level 1 lies; the detail says why', async () => {
    g.lab.device('d1')!.sim.faults.add({ type: 'lie', plugs: ['3'] })
    const r = await run(['fence', 'n3', '--timeout', '4s', ...cfg()])
    expect(r.code).toBe(0)
    expect(r.out).toMatch(/^n3 +off +success +off +2 +\S+ +level 1 failed: /m)
    expect(physical('d2', '3')).toBe('off')
  })

  it('fence --json of several nodes: one operation each, exit 1 if any failed', async () => {
    const r = await run(['fence', 'n1,gone', '--json', '--timeout', '2s', ...cfg()])
    expect(r.code).toBe(1)
    const j = JSON.parse(r.out)
    expect(j.operations.map((o: { nodes: string[]; status: string }) => [o.nodes[0], o.status])).toEqual([
      ['n1', 'succeeded'],
      ['gone', 'failed'],
    ])
    expect(j.errors).toEqual([])
  })

  it('reboot: off verified, then on', async () => {
    const r = await run(['reboot', 'n4', '--json', ...cfg()])
    expect(r.code).toBe(0)
    const res = JSON.parse(r.out).operation.results[0]
    expect(res).toMatchObject({ node: 'n4', action: 'reboot', outcome: 'success', onVerified: true })
    expect(physical('d1', '4')).toBe('on')
  })

  it('an unknown node: exit 1 naming it', async () => {
    const r = await run(['off', 'n1,n9', ...cfg()])
    expect(r.code).toBe(1)
    expect(r.err).toMatch(/^fencegate: UNKNOWN_NODE: no node n9/)
  })

  it('history: what was done, with outcomes', async () => {
    await run(['off', 'n2', ...cfg()])
    const r = await run(['history', '--node', 'n2', '--json', ...cfg()])
    expect(r.code).toBe(0)
    const entries = JSON.parse(r.out).entries as { node: string; action: string; outcome: string }[]
    expect(entries.length).toBeGreaterThan(0)
    expect(entries.every((e) => e.node === 'n2')).toBe(true)
    expect(entries.some((e) => e.action === 'off' && e.outcome === 'success')).toBe(true)
    const table = await run(['history', '--outcome', 'failed', '--since', '1h', ...cfg()])
    expect(table.code).toBe(0)
    expect(table.out.split('\n')[0]).toMatch(/^STARTED +NODE +KIND +ACTION +OUTCOME/)
    expect(table.out).not.toMatch(/ success /)
  })

  it('list: nodes with their fence action; --devices: health, exit 1 when one fails', async () => {
    const r = await run(['list', 'n[3-4]', ...cfg()])
    expect(r.code).toBe(0)
    expect(r.out).toMatch(/^NODE +STATE +FENCE +PLUGS$/m)
    expect(r.out).toMatch(/^n4 +on +reboot +d1:4 on$/m)
    const d = await run(['list', '--devices', '--json', ...cfg()])
    expect(d.code).toBe(1)
    const health = Object.fromEntries(
      JSON.parse(d.out).devices.map((x: { id: string; state: string }) => [x.id, x.state]),
    )
    expect(health).toEqual({ d1: 'ok', d2: 'ok', dead: 'failing' })
  })

  it('progress goes to stderr on a terminal only; stdout stays clean', async () => {
    const tty = await run(['off', 'n[1-2]', ...cfg()], { tty: true })
    expect(tty.code).toBe(0)
    const ESC = String.fromCharCode(27)
    expect(tty.err).toContain(`\r${ESC}[K`)
    expect(tty.err).toMatch(/off n\[1-2\]: \d\/2 done/)
    expect(tty.out).not.toContain('\r')
    expect(tty.out).not.toContain(ESC)
    const pipe = await run(['off', 'n[1-2]', ...cfg()])
    expect(pipe.err).toBe('')
  })

  it('refuses to run beside another engine on the same journal', async () => {
    const other = await Engine.create(loadConfig(g.configFile))
    try {
      const r = await run(['status', 'n1', ...cfg()])
      expect(r.code).toBe(1)
      expect(r.err).toMatch(/JOURNAL_LOCKED/)
      expect(r.err.trimEnd().split('\n')).toHaveLength(1)
    } finally {
      await other.close()
    }
  })

  it('a bad config file: FILE:LINE problems, exit 1, nothing done', async () => {
    const r = await run(['off', 'n1', '--config', `${g.dir}/nope.yaml`])
    expect(r.code).toBe(1)
    expect(r.err).toMatch(/nope.yaml: cannot read: ENOENT/)
  })
})
