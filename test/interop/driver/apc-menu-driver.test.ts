import net from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { apcMenuDriver } from '../../../drivers/apc-menu/index.js'
import type { PowerDriver } from '../../../drivers/driver.js'
import type { ApcMenuMock } from '../../../firmware-mocks/apc-menu/mock.js'
import { FenceError } from '../../../core/errors.js'
import { startMenuDevice } from '../menu-lab.js'

type Rig = Awaited<ReturnType<typeof startMenuDevice<ApcMenuMock>>> & { driver: PowerDriver }
let rig: Rig | undefined
afterEach(async () => {
  await rig?.driver.close()
  await rig?.stop()
  rig = undefined
})

const call = (ms = 8000) => ({ signal: AbortSignal.timeout(ms) })

async function start(lab: Record<string, unknown>, password?: string, extra: Record<string, unknown> = {}) {
  const d = await startMenuDevice<ApcMenuMock>({ kind: 'apc-menu', listen: '127.0.0.1:0', ...lab })
  const { config, problems } = apcMenuDriver.validate({
    host: d.mock.address.host,
    port: d.mock.address.port,
    user: d.mock.spec.user,
    passwordEnv: 'FG_TEST_APC_PASSWORD',
    replyTimeout: '1s',
    loginTimeout: '2s',
    ...extra,
  })
  expect(problems).toEqual([])
  const driver = apcMenuDriver.create(config, {
    deviceId: 'ms',
    readSecret: () => password ?? d.mock.spec.password,
    log: () => {},
  })
  rig = { ...d, driver }
  return rig
}

describe('apc-menu driver', () => {
  it('reads names and states over paged lists and switches by label on every firmware', async () => {
    for (const firmware of ['ap79xx-v3', 'ap79xx-v2', 'ap79xx-v3-drift', 'ap9211', 'aos']) {
      const r = await start({
        firmware,
        plugs: Array.from({ length: 24 }, (_, i) => ({ id: String(i + 1), name: `node${i + 1}` })),
      })
      const plugs = await r.driver.plugs(call())
      expect(plugs, firmware).toHaveLength(24)
      expect(plugs[23], firmware).toEqual({ id: '24', name: 'node24' })
      await r.driver.set('24', 'off', call())
      expect(r.mock.sim.state('24'), firmware).toBe('off')
      expect(Object.fromEntries(await r.driver.status(['23', '24'], call())), firmware).toEqual({
        23: 'on',
        24: 'off',
      })
      // one session per call: logged in and out every time
      expect(
        r.mock.trace.filter((e) => e === 'logout').length,
        `${firmware}: ${r.mock.trace.join(', ')}`,
      ).toBe(3)
      await r.driver.close()
      await r.stop()
      rig = undefined
    }
  }, 120_000)

  it('a wrong password is AUTH_REFUSED (permanent), and says nothing of the password', async () => {
    const r = await start({ firmware: 'ap79xx-v3' }, 'Secret-Wrong-1')
    const err = (await r.driver.status(['1'], call()).catch((e) => e)) as FenceError
    expect(err).toBeInstanceOf(FenceError)
    expect(err.code).toBe('AUTH_REFUSED')
    expect(err.transient).toBe(false)
    expect(err.message).not.toContain('Secret-Wrong-1')
    expect(r.mock.sim.commands).toHaveLength(0)
  })

  it('a console that locks after failed logins is AUTH_REFUSED too', async () => {
    const r = await start({ firmware: 'aos', maxLoginAttempts: 1 }, 'wrong')
    const err = (await r.driver.set('1', 'off', call()).catch((e) => e)) as FenceError
    expect(err.code).toBe('AUTH_REFUSED')
    expect(err.message).toMatch(/locked/)
    expect(r.mock.sim.state('1')).toBe('on')
  })

  it('a unit whose only session another client holds: DEVICE_BUSY (transient), nothing switched', async () => {
    const r = await start({ firmware: 'ap79xx-v3' })
    const other = net.connect(r.mock.address.port, r.mock.address.host)
    await new Promise((res) => other.once('data', res))
    try {
      const err = (await r.driver.set('2', 'off', call()).catch((e) => e)) as FenceError
      expect(err.code).toBe('DEVICE_BUSY')
      expect(err.transient).toBe(true)
      expect(r.mock.telnet.refused).toBeGreaterThanOrEqual(1)
      expect(r.mock.sim.state('2')).toBe('on')
    } finally {
      other.destroy()
    }
    // once the other client has gone, the next call gets the console
    await new Promise((res) => setTimeout(res, 100))
    await r.driver.set('2', 'off', call())
    expect(r.mock.sim.state('2')).toBe('off')
  })

  it('never echoes a password into an error: a console that shows it in clear is redacted', async () => {
    const r = await start({ firmware: 'ap79xx-v3', password: 'Sekrit-42' }, 'Sekrit-42')
    // the console answers the login with a screen that repeats what was typed, then goes silent
    const fw = r.mock.telnet as unknown as { makeFirmware: unknown }
    const original = fw.makeFirmware as (t: { write(s: string): void }) => { line(s: string): void }
    fw.makeFirmware = (t: { write(s: string): void; echo(m: string): void; close(): void }) => {
      const inner = original(t) as { start(): void; line(s: string): void; key(k: string): void }
      return {
        start: () => inner.start(),
        key: (k: string) => inner.key(k),
        line: (s: string) => {
          if (s === 'Sekrit-42') t.write(`\r\nyou typed ${s}\r\n`)
          else inner.line(s)
        },
      }
    }
    const err = (await r.driver.status(['1'], call(6000)).catch((e) => e)) as FenceError
    expect(err).toBeInstanceOf(FenceError)
    expect(err.message).toContain('you typed ***')
    expect(JSON.stringify(err.details ?? {})).not.toContain('Sekrit-42')
    expect(err.message).not.toContain('Sekrit-42')
  })

  it('refuses unknown outlets permanently', async () => {
    const r = await start({ firmware: 'ap79xx-v3' })
    await expect(r.driver.set('x1', 'off', call())).rejects.toMatchObject({ code: 'NO_SUCH_PLUG' })
    await expect(r.driver.set('99', 'off', call())).rejects.toMatchObject({ code: 'NO_SUCH_PLUG' })
    expect(r.mock.sim.commands).toHaveLength(0)
    // the refusal logged out: the console is free for the next call
    expect((await r.driver.status(['1'], call())).get('1')).toBe('on')
  })

  it('cancels pending delayed commands through the Cancel item (menus) and olCancelCmd (CLI)', async () => {
    for (const firmware of ['ap79xx-v3', 'aos']) {
      const r = await start({ firmware })
      r.mock.sim.command('3', 'on', 60_000)
      expect(r.mock.sim.outlet('3').pending, firmware).toBeDefined()
      await r.driver.cancelPending!(['3'], call())
      expect(r.mock.sim.outlet('3').pending, firmware).toBeUndefined()
      await r.driver.close()
      await r.stop()
      rig = undefined
    }
  })

  it('config: secrets only by reference, ssh needs a host key, unknown fields refused', () => {
    expect(apcMenuDriver.validate({ host: 'pdu', password: 'x' }).problems.map((p) => p.path[0])).toContain(
      'password',
    )
    expect(
      apcMenuDriver
        .validate({ host: 'pdu', passwordFile: '/x', transport: 'ssh' })
        .problems.map((p) => p.path[0]),
    ).toContain('hostKey')
    expect(
      apcMenuDriver
        .validate({ host: 'pdu', passwordFile: '/x', transport: 'ssh', hostKey: 'SHA256:short' })
        .problems.map((p) => p.message)
        .join(),
    ).toMatch(/SHA256/)
    expect(
      apcMenuDriver.validate({ host: 'pdu', passwordFile: '/x', hots: 1 }).problems.map((p) => p.path[0]),
    ).toContain('hots')
    expect(apcMenuDriver.validate({ host: 'pdu', passwordFile: '/x' }).config.port).toBe(23)
  })
})
