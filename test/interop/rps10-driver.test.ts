import { afterEach, describe, expect, it } from 'vitest'
import { type Rps10Rig, call, startRps10 } from './rps10-lab.js'

let rig: Rps10Rig | undefined
afterEach(async () => {
  await rig?.stop()
  rig = undefined
})

for (const transport of ['pty', 'tcp'] as const) {
  const where = transport === 'pty' ? { pty: '{tmp}/rps0' } : { listen: '127.0.0.1:0' }
  describe(`rps10 driver over ${transport}`, () => {
    it('discovers the chain, reads and switches units, confirmed by the sim', async () => {
      rig = await startRps10({ ...where, plugs: 3, initial: 'on' })
      const { driver, mock } = rig
      expect(await driver.plugs(call())).toEqual([
        { id: '0', name: 'unit 0' },
        { id: '1', name: 'unit 1' },
        { id: '2', name: 'unit 2' },
      ])
      await driver.set('1', 'off', call())
      expect(mock.sim.state('1')).toBe('off')
      expect(Object.fromEntries(await driver.status(['0', '1', '2'], call()))).toEqual({
        0: 'on',
        1: 'off',
        2: 'on',
      })
      expect((await driver.status(['1'], call())).get('1')).toBe('off')
      await driver.set('1', 'on', call())
      expect(mock.sim.state('1')).toBe('on')
    })
  })
}
