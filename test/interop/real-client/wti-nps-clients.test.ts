import { afterEach, describe, expect, it } from 'vitest'
import type { WtiNpsMock } from '../../../firmware-mocks/wti-nps/index.js'
import { loopback, outletState, run, startMenuDevice } from '../menu-lab.js'

/**
 * Real clients against the wti-nps mock: fence_wti (fence-agents; spawns the `telnet` client,
 * parses the `/S` table by its header, sends `/on N,y`) and cluster-glue's `stonith -t wti_nps`
 * (a raw socket to port 23, `/h` to resync, `/On N,y`, the `-----+` table for host names). After
 * each action the lab's control API is the meter on the outlet.
 */

type Rig = Awaited<ReturnType<typeof startMenuDevice<WtiNpsMock>>>
let rig: Rig | undefined
afterEach(async () => {
  await rig?.stop()
  rig = undefined
})

const NAMED = Array.from({ length: 8 }, (_, i) => ({ id: String(i + 1), name: `node${i + 1}` }))

describe('fence_wti over telnet', () => {
  for (const variant of [{ confirm: true }, { user: 'fence', prompt: 'IPS' }] as const)
    it(`off, status, on, status, list (${JSON.stringify(variant)})`, async () => {
      rig = await startMenuDevice<WtiNpsMock>({
        kind: 'wti-nps',
        listen: '127.0.0.1:0',
        plugs: NAMED,
        ...variant,
      })
      const { host, port } = rig.mock.address
      const a: string[] = [
        '--ip',
        host,
        '--ipport',
        String(port),
        '--password',
        'wti',
        ...('user' in variant ? ['--username', String(variant.user)] : []),
      ]
      const off = await run('fence_wti', [...a, '--plug', '3', '--action', 'off'])
      expect(off.code, off.out).toBe(0)
      expect(await outletState(rig, '3')).toBe('off')
      expect(await outletState(rig, '2')).toBe('on')
      const st = await run('fence_wti', [...a, '--plug', '3', '--action', 'status'])
      expect(st.code, st.out).toBe(2)
      const on = await run('fence_wti', [...a, '--plug', '3', '--action', 'on'])
      expect(on.code, on.out).toBe(0)
      expect(await outletState(rig, '3')).toBe('on')
      const st2 = await run('fence_wti', [...a, '--plug', '3', '--action', 'status'])
      expect(st2.code, st2.out).toBe(0)
      const list = await run('fence_wti', [...a, '--action', 'list'])
      expect(list.code, list.out).toBe(0)
      expect(list.out).toContain('3,node3')
    }, 120_000)

  it('a wrong password: fence_wti fails, nothing switched', async () => {
    rig = await startMenuDevice<WtiNpsMock>({ kind: 'wti-nps', listen: '127.0.0.1:0', plugs: NAMED })
    const { host, port } = rig.mock.address
    const r = await run('fence_wti', [
      '--ip',
      host,
      '--ipport',
      String(port),
      '--password',
      'nope',
      '--plug',
      '3',
      '--action',
      'off',
      '--shell-timeout',
      '2',
    ])
    expect(r.code, r.out).not.toBe(0)
    expect(await outletState(rig, '3')).toBe('on')
    expect(rig.mock.sim.commands).toHaveLength(0)
  }, 60_000)
})

describe('cluster-glue stonith -t wti_nps (port 23 on a loopback address of its own)', () => {
  it('is a known plugin; lists hosts; off and on by host name', async () => {
    expect((await run('stonith', ['-L'])).out.split(/\s+/)).toContain('wti_nps')
    const host = loopback()
    rig = await startMenuDevice<WtiNpsMock>({ kind: 'wti-nps', listen: `${host}:23`, plugs: NAMED })
    const cfg = `${host} wti`
    const list = await run('stonith', ['-t', 'wti_nps', '-p', cfg, '-l'])
    expect(list.code, list.out).toBe(0)
    expect(list.out.split(/\s+/)).toEqual(expect.arrayContaining(['node1', 'node8']))
    const off = await run('stonith', ['-t', 'wti_nps', '-p', cfg, '-T', 'off', 'node5'])
    expect(off.code, off.out).toBe(0)
    expect(await outletState(rig, '5')).toBe('off')
    expect(await outletState(rig, '4')).toBe('on')
    const on = await run('stonith', ['-t', 'wti_nps', '-p', cfg, '-T', 'on', 'node5'])
    expect(on.code, on.out).toBe(0)
    expect(await outletState(rig, '5')).toBe('on')
  }, 120_000)
})
