import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { expect, it } from 'vitest'
import { startServer } from '../../../src/api/server.js'
import { tokenHash } from '../../../src/cli/commands/token.js'
import { DEMO_DEVICES } from '../../../src/demo/demo.js'
import { startDemo } from '../../../src/demo/start.js'
import { run } from '../../cli/helpers.js'

/**
 * The demo's Night/Ware unit (demo-nw, node demo-console with fence: false), as a newcomer meets
 * it through the CLI: listed as unverified, off and on said unverified (the lab's meter shows the
 * outlet did switch), status unknown, a fence refused.
 */
it('demo-nw: an unverified device powering a fence: false node', async () => {
  const stateDir = mkdtempSync(path.join(tmpdir(), 'fg-nw-demo-'))
  const token = 'demo-nw-token-0123456789abcdef0123456789'
  const demo = await startDemo({
    stateDir,
    listen: { host: '127.0.0.1', port: 0 },
    tokenHash: tokenHash(token),
    devices: DEMO_DEVICES.filter((d) => d.id === 'demo-nw'),
  })
  const server = await startServer({ config: demo.config, listen: { port: 0 } })
  const fg = (args: string[]) =>
    run([...args, '--url', server.url], { env: { FENCEGATE_TOKEN: token }, home: stateDir })
  try {
    expect(demo.config.devices.get('demo-nw')).toMatchObject({ driver: 'nw-rpc100s', verifies: false })
    expect(demo.config.nodes.get('demo-console')).toMatchObject({ fence: false })
    const sim = demo.lab.device('demo-nw')!.sim
    const meter = async () =>
      ((await (await fetch(`${demo.controlUrl}/devices/demo-nw`)).json()) as { plugs: { state: string }[] })
        .plugs[0]!.state

    const off = await fg(['off', 'demo-console'])
    expect(off.out).toMatch(/^demo-console +off +unverified +unknown .*cannot read back/m)
    expect(off.code).toBe(0)
    for (let i = 0; i < 100 && (await meter()) !== 'off'; i++) await new Promise((r) => setTimeout(r, 20))
    expect(await meter()).toBe('off')

    const st = await fg(['status', 'demo-console', '--json'])
    expect(JSON.parse(st.out)).toMatchObject({ nodes: [{ name: 'demo-console', state: 'unknown' }] })

    const list = await fg(['list', '--devices'])
    expect(list.out).toMatch(/^demo-nw +nw-rpc100s +\S+ \(unverified\)/m)

    const fence = await fg(['fence', 'demo-console'])
    expect(fence.code).not.toBe(0)
    expect(`${fence.out}${fence.err}`).toContain('UNSUPPORTED_ACTION')
    expect(sim.commands.map((c) => c.action)).toEqual(['off'])

    const on = await fg(['on', 'demo-console'])
    expect(on.out).toMatch(/^demo-console +on +unverified +unknown /m)
    for (let i = 0; i < 100 && (await meter()) !== 'on'; i++) await new Promise((r) => setTimeout(r, 20))
    expect(await meter()).toBe('on')
  } finally {
    await server.close()
    await demo.stop()
    rmSync(stateDir, { recursive: true, force: true })
  }
}, 30_000)
