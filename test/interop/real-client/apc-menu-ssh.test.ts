import { afterEach, describe, expect, it } from 'vitest'
import { apcMenuDriver } from '../../../drivers/apc-menu/index.js'
import type { ApcMenuMock } from '../../../firmware-mocks/apc-menu/mock.js'
import { FenceError } from '../../../core/errors.js'
import { outletState, run, startMenuDevice } from '../menu-lab.js'

/**
 * The APC console over SSH: fence_apc --ssh (OpenSSH's `ssh` client, password at the SSH
 * layer, then the console) against the mock's SSH server, each action confirmed on the lab's
 * control API; and our driver's host key pinning.
 */

type Rig = Awaited<ReturnType<typeof startMenuDevice<ApcMenuMock>>>
let rig: Rig | undefined
afterEach(async () => {
  await rig?.stop()
  rig = undefined
})

describe('fence_apc --ssh', () => {
  for (const firmware of ['ap79xx-v3', 'aos'])
    it(`${firmware}: off, status, on — each confirmed on the control API`, async () => {
      rig = await startMenuDevice<ApcMenuMock>({
        kind: 'apc-menu',
        listen: '127.0.0.1:0',
        ssh: { listen: '127.0.0.1:0' },
        firmware,
        plugs: 8,
      })
      const { host, port } = rig.mock.ssh!.address
      // OpenSSH no longer has protocol 1 nor blowfish (fence_apc's default ssh options): pass our own
      const a = [
        '--ssh',
        '--ip',
        host,
        '--ipport',
        String(port),
        '--username',
        'apc',
        '--password',
        'apc',
        '--ssh-options=-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR',
      ]
      const off = await run('fence_apc', [...a, '--plug', '4', '--action', 'off'])
      expect(off.code, off.out).toBe(0)
      expect(await outletState(rig, '4')).toBe('off')
      expect(await outletState(rig, '3')).toBe('on')
      const st = await run('fence_apc', [...a, '--plug', '4', '--action', 'status'])
      expect(st.code, st.out).toBe(2)
      const on = await run('fence_apc', [...a, '--plug', '4', '--action', 'on'])
      expect(on.code, on.out).toBe(0)
      expect(await outletState(rig, '4')).toBe('on')
      expect(rig.mock.trace.filter((e) => e.endsWith('(ssh)')).length).toBe(3)
    }, 120_000)
})

describe('apc-menu driver over SSH: the host key', () => {
  async function driverWith(hostKey: string, password = 'apc') {
    rig = await startMenuDevice<ApcMenuMock>({
      kind: 'apc-menu',
      listen: '127.0.0.1:0',
      ssh: { listen: '127.0.0.1:0' },
      plugs: 4,
    })
    const { host, port } = rig.mock.ssh!.address
    const { config, problems } = apcMenuDriver.validate({
      transport: 'ssh',
      host,
      port,
      hostKey,
      passwordEnv: 'UNUSED',
      connectTimeout: '3s',
    })
    expect(problems).toEqual([])
    return apcMenuDriver.create(config, { deviceId: 'ms', readSecret: () => password, log: () => {} })
  }

  it('the pinned fingerprint (as ssh-keygen -lf prints it): logs in and switches', async () => {
    const probe = await driverWith('any')
    await probe.close()
    const fp = rig!.mock.ssh!.fingerprint
    expect(fp).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/)
    const { host, port } = rig!.mock.ssh!.address
    const { config } = apcMenuDriver.validate({ transport: 'ssh', host, port, hostKey: fp, passwordEnv: 'X' })
    const pinned = apcMenuDriver.create(config, { deviceId: 'ms', readSecret: () => 'apc', log: () => {} })
    try {
      await pinned.set('2', 'off', { signal: AbortSignal.timeout(8000) })
      expect(rig!.mock.sim.state('2')).toBe('off')
    } finally {
      await pinned.close()
    }
  }, 30_000)

  it('another host key: INSECURE_DEVICE (permanent), no login, nothing switched', async () => {
    const d = await driverWith(`SHA256:${'A'.repeat(43)}`)
    try {
      const err = (await d
        .set('2', 'off', { signal: AbortSignal.timeout(8000) })
        .catch((e) => e)) as FenceError
      expect(err).toBeInstanceOf(FenceError)
      expect(err.code).toBe('INSECURE_DEVICE')
      expect(err.transient).toBe(false)
      expect(err.message).toContain(rig!.mock.ssh!.fingerprint)
      expect(rig!.mock.trace.some((e) => e.startsWith('login'))).toBe(false)
      expect(rig!.mock.sim.state('2')).toBe('on')
    } finally {
      await d.close()
    }
  }, 30_000)

  it('a wrong password over SSH: AUTH_REFUSED', async () => {
    const d = await driverWith('any', 'wrong')
    try {
      await expect(d.status(['1'], { signal: AbortSignal.timeout(8000) })).rejects.toMatchObject({
        code: 'AUTH_REFUSED',
      })
    } finally {
      await d.close()
    }
  }, 30_000)
})
