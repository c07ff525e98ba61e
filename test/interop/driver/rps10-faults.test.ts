import { afterEach, describe, expect, it } from 'vitest'
import { PAIRS } from '../../pairs.js'
import { type Rps10Rig, call, failure, startRps10 } from '../rps10-lab.js'

/**
 * The shared faults against the rps10 pairs of test/pairs.ts, over both transports: every fault
 * ends in a typed error or the truth, never a false success; the line recovers once it clears.
 */
let rig: Rps10Rig | undefined
afterEach(async () => {
  await rig?.stop()
  rig = undefined
})

for (const pair of PAIRS.filter((p) => p.name.startsWith('rps10-'))) {
  const start = () => {
    const { kind: _k, ...lab } = pair.lab
    return startRps10({ ...lab, initial: 'on' }, pair.driverOverrides)
  }
  describe(pair.name, () => {
    it('drop: the command is lost, a timeout (transient) names the phase and what came', async () => {
      rig = await start()
      await rig.driver.status(['0'], call()) // line up and handshaken
      rig.mock.sim.faults.add({ type: 'drop', count: 1 })
      const e = await failure(rig.driver.set('1', 'off', call()))
      expect(e.code).toBe('DEVICE_TIMEOUT')
      expect(e.transient).toBe(true)
      expect(e.message).toMatch(/expect: off: .*received nothing/)
      expect(rig.mock.sim.state('1')).toBe('on')
      await rig.driver.set('1', 'off', call())
      expect(rig.mock.sim.state('1')).toBe('off')
    })

    it('garble: a reply of noise is a protocol error quoting it, never a state', async () => {
      rig = await start()
      rig.mock.sim.faults.add({ type: 'garble', count: 1 })
      const e = await failure(rig.driver.status(['2'], call()))
      expect(['PROTOCOL_ERROR', 'DEVICE_TIMEOUT']).toContain(e.code)
      expect(e.message).toMatch(/received "/)
      expect((await rig.driver.status(['2'], call())).get('2')).toBe('on')
    })

    it('delay beyond the reply timeout: timeout; a late answer is not read as the next one', async () => {
      rig = await start()
      await rig.driver.status(['0'], call())
      rig.mock.sim.faults.add({ type: 'delay', ms: 900, count: 1 })
      const e = await failure(rig.driver.status(['0'], call()))
      expect(e.code).toBe('DEVICE_TIMEOUT')
      rig.mock.sim.setPhysical('0', 'off')
      expect((await rig.driver.status(['0'], call())).get('0')).toBe('off')
    })

    it('stall: the unit hangs; the next call resets the line and goes on', async () => {
      rig = await start()
      rig.mock.sim.faults.add({ type: 'stall', count: 1 })
      const e = await failure(rig.driver.set('0', 'off', call()))
      expect(e.code).toBe('DEVICE_TIMEOUT')
      await rig.driver.set('0', 'off', call())
      expect(rig.mock.sim.state('0')).toBe('off')
    })

    it('disconnect: the line goes away; a transient error, then a fresh line works', async () => {
      rig = await start()
      await rig.driver.status(['0'], call())
      rig.mock.sim.faults.add({ type: 'disconnect', count: 1 })
      const e = await failure(rig.driver.set('2', 'off', call()))
      expect(e.transient).toBe(true)
      expect(rig.mock.sim.state('2')).toBe('on')
      // a pty hang-up is seen as silence by some clients: give the backoff its time
      let ok = false
      for (let i = 0; i < 10 && !ok; i++) {
        ok = await rig.driver.set('2', 'off', call()).then(
          () => true,
          async () => {
            await new Promise((r) => setTimeout(r, 300))
            return false
          },
        )
      }
      expect(rig.mock.sim.state('2')).toBe('off')
    })

    it('lie: the unit says Plug N Off and stays on; status tells the truth', async () => {
      rig = await start()
      rig.mock.sim.faults.add({ type: 'lie', count: 1, plugs: ['1'] })
      await rig.driver.set('1', 'off', call())
      expect((await rig.driver.status(['1'], call())).get('1')).toBe('on')
      expect(rig.mock.sim.state('1')).toBe('on')
    })
  })
}
