import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { expect, it } from 'vitest'
import { DEMO_DEVICES } from '../../../src/demo/demo.js'
import { startDemo } from '../../../src/demo/start.js'
import { Engine } from '../../../src/engine/engine.js'
import { FENCER } from '../../helpers/gateway.js'

/** The demo's SNMP devices start, their config is valid, and their nodes fence for real. */
it('demo-apc (rPDU, v3 authPriv) and demo-wti (plug groups): dual-PSU and group nodes fence off', async () => {
  const stateDir = mkdtempSync(path.join(tmpdir(), 'fg-snmp-demo-'))
  const demo = await startDemo({
    stateDir,
    listen: { host: '127.0.0.1', port: 0 },
    tokenHash: `sha256:${'0'.repeat(64)}`,
    devices: DEMO_DEVICES.filter((d) => d.id === 'demo-apc' || d.id === 'demo-wti'),
  })
  const engine = await Engine.create(demo.config)
  try {
    expect(demo.config.devices.get('demo-apc')).toMatchObject({ driver: 'apc-snmp' })
    const apc = demo.lab.device('demo-apc')!.sim
    const wti = demo.lab.device('demo-wti')!.sim
    const db = await engine.fence('demo-db', 'off', { initiator: FENCER, timeoutMs: 15_000 })
    expect(db.results[0]).toMatchObject({ outcome: 'success', state: 'off' })
    expect([apc.state('1'), apc.state('2'), apc.state('3')]).toEqual(['off', 'off', 'on'])
    const web = await engine.fence('demo-web-1', 'off', { initiator: FENCER, timeoutMs: 15_000 })
    expect(web.results[0]).toMatchObject({ outcome: 'success', state: 'off' })
    expect(apc.state('3')).toBe('off')
    const app = await engine.fence('demo-app-1', 'off', { initiator: FENCER, timeoutMs: 15_000 })
    expect(app.results[0]).toMatchObject({ outcome: 'success', state: 'off' })
    expect([wti.state('1'), wti.state('2'), wti.state('3')]).toEqual(['off', 'off', 'on'])
  } finally {
    await engine.close()
    await demo.stop()
    rmSync(stateDir, { recursive: true, force: true })
  }
})
