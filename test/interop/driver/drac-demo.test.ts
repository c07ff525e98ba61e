import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { expect, it } from 'vitest'
import { DEMO_DEVICES } from '../../../src/demo/demo.js'
import { startDemo } from '../../../src/demo/start.js'
import { Engine } from '../../../src/engine/engine.js'
import { FENCER } from '../../helpers/gateway.js'

/**
 * The demo's iDRAC: one machine behind Redfish (level 1) and racadm over SSH (level 2).
 * Redfish fences it; with the Redfish service gone, racadm does, on the same machine.
 */
it('demo-dell-1: fenced by Redfish first, by racadm when Redfish is down', async () => {
  const stateDir = mkdtempSync(path.join(tmpdir(), 'fg-drac-demo-'))
  const demo = await startDemo({
    stateDir,
    listen: { host: '127.0.0.1', port: 0 },
    tokenHash: `sha256:${'0'.repeat(64)}`,
    devices: DEMO_DEVICES.filter((d) => d.id.startsWith('demo-idrac')),
  })
  const engine = await Engine.create(demo.config)
  try {
    expect(demo.config.devices.get('demo-idrac')).toMatchObject({ driver: 'redfish' })
    expect(demo.config.devices.get('demo-idrac-racadm')).toMatchObject({ driver: 'drac-ssh' })
    const redfish = demo.lab.device('demo-idrac')!
    const sim = redfish.sim
    expect(demo.lab.device('demo-idrac-racadm')!.sim).toBe(sim) // one machine
    const first = await engine.fence('demo-dell-1', 'off', { initiator: FENCER, timeoutMs: 15_000 })
    expect(first.results[0]).toMatchObject({ outcome: 'success', state: 'off' })
    expect(sim.state('system')).toBe('off')
    expect(sim.commands.at(-1)).toMatchObject({ plug: 'system', action: 'off' })

    sim.setPhysical('system', 'on')
    await redfish.stop() // the Redfish service is gone; racadm still answers
    const second = await engine.fence('demo-dell-1', 'off', { initiator: FENCER, timeoutMs: 20_000 })
    expect(second.results[0]).toMatchObject({ outcome: 'success', state: 'off' })
    expect(sim.state('system')).toBe('off')
    expect(JSON.stringify(second)).toMatch(/demo-idrac-racadm/)
  } finally {
    await engine.close()
    await demo.stop()
    rmSync(stateDir, { recursive: true, force: true })
  }
})
