import { afterEach, describe, expect, it } from 'vitest'
import { baytechDriver } from '../../../drivers/baytech/index.js'
import type { PowerDriver } from '../../../drivers/driver.js'
import type { BaytechMock } from '../../../firmware-mocks/baytech/index.js'
import { startMenuDevice } from '../menu-lab.js'

type Rig = Awaited<ReturnType<typeof startMenuDevice<BaytechMock>>> & { driver: PowerDriver }
let rig: Rig | undefined
afterEach(async () => {
  await rig?.driver.close()
  await rig?.stop()
  rig = undefined
})
const call = () => ({ signal: AbortSignal.timeout(8000) })

async function start(user = 'admin', password = 'baytech', lab: Record<string, unknown> = {}) {
  const d = await startMenuDevice<BaytechMock>({ kind: 'baytech', listen: '127.0.0.1:0', ...lab })
  const { config, problems } = baytechDriver.validate({
    host: d.mock.address.host,
    port: d.mock.address.port,
    user,
    passwordEnv: 'UNUSED',
    replyTimeout: '1s',
    loginTimeout: '2s',
    commandTimeout: '2s',
  })
  expect(problems).toEqual([])
  rig = {
    ...d,
    driver: baytechDriver.create(config, { deviceId: 'rpc', readSecret: () => password, log: () => {} }),
  }
  return rig
}

describe('baytech driver', () => {
  it('reads names and states from STATUS and switches with and without (Y/N)>', async () => {
    for (const confirm of [true, false]) {
      const r = await start('admin', 'baytech', { confirm, plugs: [{ id: '1', name: 'db one' }, '2'] })
      expect(await r.driver.plugs(call())).toEqual([
        { id: '1', name: 'db one' },
        { id: '2', name: 'Outlet 2' },
      ])
      await r.driver.set('1', 'off', call())
      expect(r.mock.sim.state('1')).toBe('off')
      expect(Object.fromEntries(await r.driver.status(['1', '2', '5'], call()))).toEqual({
        1: 'off',
        2: 'on',
        5: 'unknown',
      })
      expect(r.mock.trace.filter((e) => e === 'logout')).toHaveLength(3)
      await r.driver.close()
      await r.stop()
      rig = undefined
    }
  })

  it('a wrong user or password is AUTH_REFUSED; nothing switched', async () => {
    for (const [user, password] of [
      ['nobody', 'baytech'],
      ['admin', 'nope'],
    ]) {
      const r = await start(user, password)
      await expect(r.driver.set('1', 'off', call())).rejects.toMatchObject({ code: 'AUTH_REFUSED' })
      expect(r.mock.sim.commands).toHaveLength(0)
      await r.driver.close()
      await r.stop()
      rig = undefined
    }
  })

  it('outlet 0 (every outlet on a BayTech) and names are refused; an unknown outlet is NO_SUCH_PLUG', async () => {
    const r = await start()
    for (const p of ['0', 'db', '1,2'])
      await expect(r.driver.set(p, 'off', call())).rejects.toMatchObject({ code: 'NO_SUCH_PLUG' })
    await expect(r.driver.set('42', 'off', call())).rejects.toMatchObject({ code: 'NO_SUCH_PLUG' })
    expect(r.mock.sim.commands).toHaveLength(0)
  })
})
