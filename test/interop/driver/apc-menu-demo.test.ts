import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { expect, it } from 'vitest'
import { DEMO_DEVICES } from '../../../src/demo/demo.js'
import { startDemo } from '../../../src/demo/start.js'
import { Engine } from '../../../src/engine/engine.js'
import { FENCER } from '../../helpers/gateway.js'

/** The demo's APC MasterSwitch starts over telnet, its config is valid, and its node fences for real. */
it('demo-masterswitch (AP79xx menus over telnet): demo-ms-1 fences off, the neighbour stays on', async () => {
  const stateDir = mkdtempSync(path.join(tmpdir(), 'fg-menu-demo-'))
  const demo = await startDemo({
    stateDir,
    listen: { host: '127.0.0.1', port: 0 },
    tokenHash: `sha256:${'0'.repeat(64)}`,
    devices: DEMO_DEVICES.filter((d) => d.id === 'demo-masterswitch'),
  })
  const engine = await Engine.create(demo.config)
  try {
    expect(demo.config.devices.get('demo-masterswitch')).toMatchObject({ driver: 'apc-menu' })
    const sim = demo.lab.device('demo-masterswitch')!.sim
    const r = await engine.fence('demo-ms-1', 'off', { initiator: FENCER, timeoutMs: 15_000 })
    expect(r.results[0]).toMatchObject({ outcome: 'success', state: 'off' })
    expect([sim.state('1'), sim.state('2')]).toEqual(['off', 'on'])
  } finally {
    await engine.close()
    await demo.stop()
    rmSync(stateDir, { recursive: true, force: true })
  }
})
