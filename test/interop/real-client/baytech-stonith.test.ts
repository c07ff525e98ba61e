import { afterEach, describe, expect, it } from 'vitest'
import type { BaytechMock } from '../../../firmware-mocks/baytech/index.js'
import { loopback, outletState, run, startMenuDevice } from '../menu-lab.js'

/**
 * cluster-glue's `stonith -t baytech` (a raw socket to port 23; it reads the model from the
 * banner, logs in at `username>`/`password>`, opens Outlet Control, parses STATUS rows at fixed
 * columns after `Internal Temperature:`, sends `on N` / `off N` and answers `(Y/N)>`) against the
 * baytech mock on port 23 of a loopback address of its own. The control API confirms each action.
 * (fence-agents has no BayTech agent.)
 */

type Rig = Awaited<ReturnType<typeof startMenuDevice<BaytechMock>>>
let rig: Rig | undefined
afterEach(async () => {
  await rig?.stop()
  rig = undefined
})

const NAMED = Array.from({ length: 8 }, (_, i) => ({ id: String(i + 1), name: `node${i + 1}` }))

describe('cluster-glue stonith -t baytech', () => {
  for (const confirm of [true, false])
    it(`lists hosts, switches a host off and on (confirmation ${confirm ? 'on' : 'off'})`, async () => {
      expect((await run('stonith', ['-L'])).out.split(/\s+/)).toContain('baytech')
      const host = loopback()
      rig = await startMenuDevice<BaytechMock>({
        kind: 'baytech',
        listen: `${host}:23`,
        plugs: NAMED,
        confirm,
      })
      const cfg = `${host} admin baytech`
      const list = await run('stonith', ['-t', 'baytech', '-p', cfg, '-l'])
      expect(list.code, list.out).toBe(0)
      expect(list.out.split(/\s+/)).toEqual(expect.arrayContaining(['node1', 'node8']))
      const off = await run('stonith', ['-t', 'baytech', '-p', cfg, '-T', 'off', 'node6'])
      expect(off.code, off.out).toBe(0)
      expect(await outletState(rig, '6')).toBe('off')
      expect(await outletState(rig, '5')).toBe('on')
      const on = await run('stonith', ['-t', 'baytech', '-p', cfg, '-T', 'on', 'node6'])
      expect(on.code, on.out).toBe(0)
      expect(await outletState(rig, '6')).toBe('on')
    }, 120_000)

  it('a wrong password: stonith fails and switches nothing', async () => {
    const host = loopback()
    rig = await startMenuDevice<BaytechMock>({ kind: 'baytech', listen: `${host}:23`, plugs: NAMED })
    const r = await run(
      'stonith',
      ['-t', 'baytech', '-p', `${host} admin wrong`, '-T', 'off', 'node2'],
      120_000,
    )
    expect(r.code, r.out).not.toBe(0)
    expect(await outletState(rig, '2')).toBe('on')
    expect(rig.mock.sim.commands).toHaveLength(0)
  }, 130_000)
})
