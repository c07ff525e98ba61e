import net from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import type { PowerDriver } from '../../../drivers/driver.js'
import { wtiNpsDriver } from '../../../drivers/wti-nps/index.js'
import type { WtiNpsMock } from '../../../firmware-mocks/wti-nps/index.js'
import { FenceError } from '../../../core/errors.js'
import { startMenuDevice } from '../menu-lab.js'

type Rig = Awaited<ReturnType<typeof startMenuDevice<WtiNpsMock>>> & { driver: PowerDriver }
let rig: Rig | undefined
afterEach(async () => {
  await rig?.driver.close()
  await rig?.stop()
  rig = undefined
})
const call = (ms = 8000) => ({ signal: AbortSignal.timeout(ms) })

async function start(lab: Record<string, unknown>, password = 'wti', extra: Record<string, unknown> = {}) {
  const d = await startMenuDevice<WtiNpsMock>({ kind: 'wti-nps', listen: '127.0.0.1:0', ...lab })
  const { config, problems } = wtiNpsDriver.validate({
    host: d.mock.address.host,
    port: d.mock.address.port,
    ...(d.mock.spec.user !== undefined ? { user: d.mock.spec.user } : {}),
    passwordEnv: 'FG_TEST_WTI_PASSWORD',
    replyTimeout: '1s',
    loginTimeout: '2s',
    commandTimeout: '3s',
    ...extra,
  })
  expect(problems).toEqual([])
  const driver = wtiNpsDriver.create(config, { deviceId: 'nps', readSecret: () => password, log: () => {} })
  rig = { ...d, driver }
  return rig
}

describe('wti-nps driver', () => {
  it('reads names and states from /S and switches with and without the unit asking (Y/N)', async () => {
    for (const confirm of [true, false]) {
      const r = await start({ confirm, plugs: [{ id: '1', name: 'db-a' }, { id: '2', name: 'db-b' }, '3'] })
      expect(await r.driver.plugs(call())).toEqual([
        { id: '1', name: 'db-a' },
        { id: '2', name: 'db-b' },
        { id: '3', name: 'Outlet 3' },
      ])
      await r.driver.set('2', 'off', call())
      expect(r.mock.sim.state('2')).toBe('off')
      expect(Object.fromEntries(await r.driver.status(['1', '2'], call()))).toEqual({ 1: 'on', 2: 'off' })
      expect(r.mock.trace.filter((e) => e === 'logout')).toHaveLength(3)
      await r.driver.close()
      await r.stop()
      rig = undefined
    }
  })

  it('a wrong password is AUTH_REFUSED without the password in the message', async () => {
    const r = await start({}, 'Wrong-Pass-9')
    const err = (await r.driver.status(['1'], call()).catch((e) => e)) as FenceError
    expect(err).toBeInstanceOf(FenceError)
    expect(err.code).toBe('AUTH_REFUSED')
    expect(err.message).not.toContain('Wrong-Pass-9')
  })

  it('a unit that asks a login name, with the wrong one: AUTH_REFUSED', async () => {
    const r = await start({ user: 'fence' }, 'wti', { user: 'other' })
    await expect(r.driver.set('1', 'off', call())).rejects.toMatchObject({ code: 'AUTH_REFUSED' })
    expect(r.mock.sim.state('1')).toBe('on')
  })

  it('names, groups and * are refused (a plug is a number); an unknown number is NO_SUCH_PLUG from the unit', async () => {
    const r = await start({ plugs: 4 })
    for (const p of ['*', 'db-a', '1+2'])
      await expect(r.driver.set(p, 'off', call())).rejects.toMatchObject({ code: 'NO_SUCH_PLUG' })
    await expect(r.driver.set('9', 'off', call())).rejects.toMatchObject({ code: 'NO_SUCH_PLUG' })
    expect(r.mock.sim.commands).toHaveLength(0)
  })

  it('another client holds the only session: DEVICE_BUSY, then the console is ours again', async () => {
    const r = await start({})
    const other = net.connect(r.mock.address.port, r.mock.address.host)
    await new Promise((res) => other.once('data', res))
    const err = (await r.driver.status(['1'], call()).catch((e) => e)) as FenceError
    other.destroy()
    expect(err.code).toBe('DEVICE_BUSY')
    await new Promise((res) => setTimeout(res, 100))
    expect((await r.driver.status(['1'], call())).get('1')).toBe('on')
  })
})
