import path from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { type RunningServer, startServer } from '../../src/api/server.js'
import { loadConfig } from '../../src/config/config.js'
import { tokenHash } from '../../src/cli/commands/token.js'
import { writeFileSync } from 'node:fs'
import { main } from '../../src/cli/run.js'
import { capture, type LabGateway, labWithConfig, run } from './helpers.js'

/** The CLI against a real gateway (startServer on a free loopback port) over real mocks. */
const FENCER = 'fencer-token-for-tests-0123456789abcdef'
const VIEWER = 'viewer-token-for-tests-0123456789abcdef'
const LIMITED = 'limited-token-for-tests-0123456789abcd'

let g: LabGateway
let server: RunningServer
beforeAll(async () => {
  g = await labWithConfig({
    devices: {
      d1: { kind: 'dummy', listen: '127.0.0.1:0', plugs: 4 },
      d2: { kind: 'dummy', listen: '127.0.0.1:0', plugs: 4 },
    },
    nodes: {
      n1: { plugs: ['d1:1'] },
      n2: { plugs: ['d1:2', 'd2:2'] },
      n3: { levels: [['d1:3'], ['d2:3']] },
      n4: { plugs: ['d1:4'] },
    },
    extra: {
      simulated: true,
      auth: {
        tokens: [
          { name: 'ops', role: 'fencer', hash: tokenHash(FENCER) },
          { name: 'watch', role: 'viewer', hash: tokenHash(VIEWER) },
          { name: 'lim', role: 'fencer', hash: tokenHash(LIMITED), nodes: 'n[1-2]' },
        ],
      },
    },
  })
  server = await startServer({ config: loadConfig(g.configFile), listen: { port: 0 } })
})
afterAll(async () => {
  await server?.close()
  await g?.stop()
})
beforeEach(() => {
  for (const id of ['d1', 'd2']) {
    const sim = g.lab.device(id)!.sim
    sim.faults.clear()
    for (const p of ['1', '2', '3', '4']) sim.setPhysical(p, 'on')
  }
})

const as = (token?: string) => ({
  env: (token ? { FENCEGATE_TOKEN: token } : {}) as Record<string, string>,
  home: g.dir,
})
const url = () => ['--url', server.url]
const physical = (dev: string, plug: string) =>
  g.lab
    .device(dev)!
    .sim.describe()
    .find((p) => p.id === plug)!.state

describe('the CLI over REST', () => {
  it('status --json: the API answer, simulated: true, exit 0', async () => {
    const r = await run(['status', 'n[1-3]', '--json', ...url()], as(FENCER))
    expect(r.code).toBe(0)
    const j = JSON.parse(r.out)
    expect(j.simulated).toBe(true)
    expect(j.nodes.map((n: { name: string; state: string }) => `${n.name}=${n.state}`)).toEqual([
      'n1=on',
      'n2=on',
      'n3=on',
    ])
  })

  it('status without targets: every node the token may see', async () => {
    const all = await run(['status', '--json', ...url()], as(VIEWER))
    expect(all.code).toBe(0)
    expect(JSON.parse(all.out).nodes.map((n: { name: string }) => n.name)).toEqual(['n1', 'n2', 'n3', 'n4'])
    const limited = await run(['status', '--json', ...url()], as(LIMITED))
    expect(JSON.parse(limited.out).nodes.map((n: { name: string }) => n.name)).toEqual(['n1', 'n2'])
  })

  it('status table says the devices are simulated', async () => {
    const r = await run(['status', 'n1', ...url()], as(VIEWER))
    expect(r.code).toBe(0)
    expect(r.out).toBe(
      'NODE  STATE  PLUGS\nn1    on     d1:1 on\n(simulated devices: this gateway runs on mock firmware)\n',
    )
  })

  it('off then on, read back; exit 0', async () => {
    const off = await run(['off', 'n[1-2]', ...url()], as(FENCER))
    expect(off.code).toBe(0)
    expect(off.out).toMatch(/^n1 +off +success +off +1 /m)
    expect(off.out).toMatch(/^n2 +off +success +off +1 /m)
    expect([physical('d1', '1'), physical('d1', '2'), physical('d2', '2')]).toEqual(['off', 'off', 'off'])
    const on = await run(['on', 'n1', '--json', ...url()], as(FENCER))
    expect(on.code).toBe(0)
    expect(JSON.parse(on.out).operation.results[0]).toMatchObject({
      node: 'n1',
      outcome: 'success',
      state: 'on',
    })
  })

  it('on a terminal: a spinner on stderr, the same result on stdout', async () => {
    const r = await run(['off', 'n[1-2]', '--json', ...url()], { ...as(FENCER), tty: true })
    expect(r.code).toBe(0)
    expect(r.err).toMatch(/off n\[1-2\]: \d+\.\ds/)
    const op = JSON.parse(r.out).operation
    expect(op.status).toBe('succeeded')
    expect(op.results).toHaveLength(2)
  })

  it('Ctrl-C while waiting: exit 130, and the gateway stops the operation (rule 6)', async () => {
    // every answer of d1 held back 600 ms: the off is still in its first steps when we leave
    g.lab.device('d1')!.sim.faults.add({ type: 'delay', ms: 600 })
    const c = capture(as(FENCER))
    const done = main(['off', 'n1', ...url()], c.io)
    await new Promise((r) => setTimeout(r, 250))
    c.stop()
    expect(await done).toBe(130)
    expect(c.err()).toMatch(/^fencegate: interrupted: the gateway stops the operation/)
    g.lab.device('d1')!.sim.faults.clear()
    // its journal entry ends failed (ABORTED), and the plug was not switched after we left
    let entry: { outcome: string; error?: { code: string } } | undefined
    for (let i = 0; i < 40 && !entry; i++) {
      await new Promise((r) => setTimeout(r, 100))
      const h = await run(['history', '--node', 'n1', '--json', ...url()], as(VIEWER))
      const entries = JSON.parse(h.out).entries as { outcome: string; error?: { code: string } }[]
      entry = entries.find((e) => e.error?.code === 'ABORTED')
    }
    expect(entry).toMatchObject({ outcome: 'failed', error: { code: 'ABORTED' } })
  })

  it('a lying plug: off failed, exit 1', async () => {
    g.lab.device('d1')!.sim.faults.add({ type: 'lie', plugs: ['4'] })
    const r = await run(['off', 'n4', '--timeout', '2s', ...url()], as(FENCER))
    expect(r.code).toBe(1)
    expect(r.out).toMatch(/^n4 +off +failed /m)
    expect(r.out).toMatch(/0 succeeded, 1 failed/)
  })

  it('fence of several nodes, one level failing over to the next', async () => {
    g.lab.device('d1')!.sim.faults.add({ type: 'lie', plugs: ['3'] })
    const r = await run(['fence', 'n1,n3', '--json', '--timeout', '4s', ...url()], as(FENCER))
    expect(r.code).toBe(0)
    const j = JSON.parse(r.out)
    expect(j.simulated).toBe(true)
    expect(j.operations.map((o: { kind: string; nodes: string[] }) => `${o.kind}:${o.nodes[0]}`)).toEqual([
      'fence:n1',
      'fence:n3',
    ])
    expect(j.operations[1].results[0]).toMatchObject({ outcome: 'success', level: 2, state: 'off' })
  })

  it('history and list', async () => {
    await run(['off', 'n2', ...url()], as(FENCER))
    const h = await run(['history', '--node', 'n2', '--limit', '5', '--json', ...url()], as(VIEWER))
    expect(h.code).toBe(0)
    const entries = JSON.parse(h.out).entries as {
      node: string
      action: string
      initiator: { name: string }
    }[]
    expect(entries.length).toBeGreaterThan(0)
    expect(entries.length).toBeLessThanOrEqual(5)
    expect(entries.every((e) => e.node === 'n2')).toBe(true)
    expect(entries.some((e) => e.action === 'off' && e.initiator.name === 'ops')).toBe(true)
    const l = await run(['list', ...url()], as(VIEWER))
    expect(l.code).toBe(0)
    expect(l.out).toMatch(/^n3 +\S+ +off +L1: d1:3 \S+ \| L2: d2:3 \S+$/m)
    const d = await run(['list', '--devices', '--json', ...url()], as(VIEWER))
    expect(d.code).toBe(0)
    expect(JSON.parse(d.out).devices.map((x: { id: string }) => x.id)).toEqual(['d1', 'd2'])
  })

  it('no token: 401, one line saying how to give one', async () => {
    const r = await run(['status', 'n1', ...url()], as())
    expect(r.code).toBe(1)
    expect(r.err).toBe(
      'fencegate: UNAUTHORIZED: no token: set FENCEGATE_TOKEN, --token-file FILE, or ~/.config/fencegate/token (`npx fencegate serve --demo` writes it; `npx fencegate token` makes one)\n',
    )
  })

  it('an unknown token: said once, with where the token came from', async () => {
    const r = await run(['status', 'n1', ...url()], as('not-a-known-token'))
    expect(r.code).toBe(1)
    expect(r.err).toBe(
      'fencegate: UNAUTHORIZED: unknown token (the token is not in the gateway config); the token came from FENCEGATE_TOKEN\n',
    )
  })

  it('a viewer may not switch: 403, nothing switched', async () => {
    const r = await run(['off', 'n1', ...url()], as(VIEWER))
    expect(r.code).toBe(1)
    expect(r.err).toMatch(/^fencegate: FORBIDDEN: /)
    expect(physical('d1', '1')).toBe('on')
  })

  it('a token limited to some nodes: fence of others fails for those only', async () => {
    const r = await run(['fence', 'n2,n4', ...url()], as(LIMITED))
    expect(r.code).toBe(1)
    expect(r.out).toMatch(/^n2 +off +success/m)
    expect(r.err).toMatch(/^fencegate: fence n4: FORBIDDEN: /m)
    expect(physical('d1', '4')).toBe('on')
  })

  it('an unknown node: 404 naming it, exit 1', async () => {
    const r = await run(['status', 'n1,n9', ...url()], as(VIEWER))
    expect(r.code).toBe(1)
    expect(r.err).toMatch(/^fencegate: UNKNOWN_NODE: .*n9/)
  })

  it('--token-file (0600) when FENCEGATE_TOKEN is not set', async () => {
    const f = path.join(g.dir, 'viewer.token')
    writeFileSync(f, `${VIEWER}\n`, { mode: 0o600 })
    const r = await run(['status', 'n1', '--token-file', f, ...url()], as())
    expect(r.code).toBe(0)
  })
})
