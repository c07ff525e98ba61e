import { afterEach, describe, expect, it } from 'vitest'
import type { Rps10Mock } from '../../../firmware-mocks/rps10/mock.js'
import { FENCER, type TestGateway, startTestGateway } from '../../helpers/gateway.js'

/**
 * The engine over the rps10 driver and mock, both transports: a fence is a hard off read back
 * off; a reboot is off, verify, wait, on (software cycle: never the unit's toggle); a unit that
 * lies about an off fails the fence.
 */
let gw: TestGateway | undefined
afterEach(async () => {
  await gw?.stop()
  gw = undefined
})

for (const [name, where] of [
  ['tcp', { listen: '127.0.0.1:0' }],
  ['pty', { pty: '{tmp}/rps10' }],
] as const) {
  describe(`engine + rps10 over ${name}`, () => {
    const start = () =>
      startTestGateway({
        devices: { rps: { kind: 'rps10', ...where, plugs: 2, initial: 'on', transitionDelay: '50ms' } },
        nodes: { node0: { plugs: ['rps:0'] }, node1: { plugs: ['rps:1'] } },
      })

    it('fences (off, read back off) and reboots in software', async () => {
      gw = await start()
      const mock = gw.lab.device('rps') as Rps10Mock
      const fence = await gw.engine.fence('node0', 'off', { initiator: FENCER, timeoutMs: 15_000 })
      expect(fence.results[0]).toMatchObject({ outcome: 'success', state: 'off' })
      expect(mock.sim.state('0')).toBe('off')
      const reboot = await gw.engine.fence('node1', 'reboot', { initiator: FENCER, timeoutMs: 15_000 })
      expect(reboot.results[0]).toMatchObject({ outcome: 'success', onVerified: true })
      expect(mock.sim.commands.map((c) => `${c.plug}:${c.action}`)).toEqual(['0:off', '1:off', '1:on'])
    })

    it('a unit that acknowledges the off and stays on fails the fence', async () => {
      gw = await start()
      const mock = gw.lab.device('rps') as Rps10Mock
      mock.sim.faults.add({ type: 'lie', plugs: ['0'] })
      const fence = await gw.engine.fence('node0', 'off', { initiator: FENCER, timeoutMs: 8000 })
      expect(fence.results[0]!.outcome).toBe('failed')
      expect(fence.results[0]!.state).not.toBe('off')
      expect(mock.sim.state('0')).toBe('on')
    })
  })
}
