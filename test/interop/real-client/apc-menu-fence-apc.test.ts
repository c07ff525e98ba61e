import { afterEach, describe, expect, it } from 'vitest'
import type { ApcMenuMock } from '../../../firmware-mocks/apc-menu/mock.js'
import { outletState, run, startMenuDevice } from '../menu-lab.js'

/**
 * fence_apc (Debian fence-agents, a client nobody here wrote) against the apc-menu mock over
 * telnet: it spawns the real `telnet` client (option negotiation, `set binary`), logs in, walks
 * the menus with its fixed keys (or types `olOn`/`olOff` on the AOS CLI, which it recognises by
 * the banner's version), turns the paging prompt, answers YES. After each action the lab's
 * control API is the meter on the outlet.
 */

type Rig = Awaited<ReturnType<typeof startMenuDevice<ApcMenuMock>>>
let rig: Rig | undefined
afterEach(async () => {
  await rig?.stop()
  rig = undefined
})

function fenceApc(r: Rig, ...args: string[]) {
  const { host, port } = r.mock.address
  return run(
    'fence_apc',
    ['--ip', host, '--ipport', String(port), '--username', 'apc', '--password', 'apc', ...args],
    90_000,
  )
}

const NAMED = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ id: String(i + 1), name: `node${i + 1}` }))

describe('fence_apc over telnet against the APC consoles', () => {
  for (const [firmware, plugs, plug] of [
    ['ap79xx-v3', 24, '23'], // the list pages after 22 outlets: outlet 23 is on the second page
    ['ap79xx-v2', 8, '3'],
    ['aos', 8, '3'],
  ] as const)
    it(`${firmware}: off, status, on, status, list — each confirmed on the control API`, async () => {
      rig = await startMenuDevice<ApcMenuMock>({
        kind: 'apc-menu',
        listen: '127.0.0.1:0',
        firmware,
        plugs: NAMED(plugs),
      })
      const off = await fenceApc(rig, '--plug', plug, '--action', 'off')
      expect(off.code, off.out).toBe(0)
      expect(await outletState(rig, plug)).toBe('off')
      expect(await outletState(rig, '1')).toBe('on')
      const st = await fenceApc(rig, '--plug', plug, '--action', 'status')
      expect(st.code, st.out).toBe(2) // fence-agents: 2 = off
      const on = await fenceApc(rig, '--plug', plug, '--action', 'on')
      expect(on.code, on.out).toBe(0)
      expect(await outletState(rig, plug)).toBe('on')
      const st2 = await fenceApc(rig, '--plug', plug, '--action', 'status')
      expect(st2.code, st2.out).toBe(0)
      const list = await fenceApc(rig, '--action', 'list')
      expect(list.code, list.out).toBe(0)
      expect(list.out).toContain(`${plug},node${plug}`)
      expect(list.out).toContain(`${plugs},node${plugs}`)
      // fence_apc logged in and out each time: the console is free again
      expect(rig.mock.trace.filter((e) => e.startsWith('login')).length).toBe(5)
    }, 200_000)

  it('a wrong password is refused: fence_apc fails and nothing is switched', async () => {
    rig = await startMenuDevice<ApcMenuMock>({
      kind: 'apc-menu',
      listen: '127.0.0.1:0',
      firmware: 'ap79xx-v3',
    })
    const { host, port } = rig.mock.address
    const r = await run(
      'fence_apc',
      [
        '--ip',
        host,
        '--ipport',
        String(port),
        '--username',
        'apc',
        '--password',
        'nope',
        '--plug',
        '2',
        '--action',
        'off',
        '--login-timeout',
        '3',
        '--shell-timeout',
        '2',
      ],
      90_000,
    )
    expect(r.code, r.out).not.toBe(0)
    expect(await outletState(rig, '2')).toBe('on')
    expect(rig.mock.sim.commands).toHaveLength(0)
  }, 100_000)

  it('menu drift: with the items moved, fence_apc types its fixed keys, finds no outlet and switches nothing', async () => {
    rig = await startMenuDevice<ApcMenuMock>({
      kind: 'apc-menu',
      listen: '127.0.0.1:0',
      firmware: 'ap79xx-v3-drift',
    })
    const r = await fenceApc(rig, '--plug', '3', '--action', 'off', '--shell-timeout', '2')
    expect(r.code, r.out).not.toBe(0)
    expect(await outletState(rig, '3')).toBe('on')
    expect(rig.mock.sim.commands).toHaveLength(0)
  }, 100_000)
})
