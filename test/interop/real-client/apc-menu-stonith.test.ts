import { afterEach, describe, expect, it } from 'vitest'
import type { ApcMenuMock } from '../../../firmware-mocks/apc-menu/mock.js'
import { loopback, run, startMenuDevice } from '../menu-lab.js'

/**
 * cluster-glue's `stonith -t apcmaster` (Debian cluster-glue 1.0.12) against the AP9211 console.
 * The plugin opens a raw TCP socket to port 23 itself (OpenStreamSocket, no host:port syntax),
 * and its login first waits 10 s for `Escape character is '^]'.` — a line the `telnet` client
 * prints, never the unit. So it cannot log in to a real AP9211, nor to this mock, which sends
 * what the unit sends. This test pins that (if a fixed cluster-glue ever logs in, it fails and
 * the real-client test can take its place).
 *
 * Port 23 is fixed: the mock listens on a random 127.x.y.z address of its own.
 */

let rig: Awaited<ReturnType<typeof startMenuDevice<ApcMenuMock>>> | undefined
afterEach(async () => {
  await rig?.stop()
  rig = undefined
})

describe('cluster-glue stonith -t apcmaster', () => {
  it('is a known plugin here', async () => {
    const r = await run('stonith', ['-L'])
    expect(r.out.split(/\s+/)).toContain('apcmaster')
  })

  it("never logs in: it waits for the telnet client's Escape line, which the unit does not send", async () => {
    const host = loopback()
    rig = await startMenuDevice<ApcMenuMock>({
      kind: 'apc-menu',
      listen: `${host}:23`,
      firmware: 'ap9211',
      plugs: [
        { id: '1', name: 'node1' },
        { id: '2', name: 'node2' },
      ],
    })
    const r = await run(
      'stonith',
      ['-d', '-t', 'apcmaster', '-p', `${host} apc apc`, '-T', 'off', 'node2'],
      120_000,
    )
    expect(r.code, r.out).not.toBe(0)
    expect(r.out).toContain("Did not find string Escape character is '^]'.")
    // it connected (the unit showed its login prompt) but never typed a user name
    expect(rig.mock.trace.some((e) => e.startsWith('login'))).toBe(false)
    expect(rig.mock.sim.state('2')).toBe('on')
  }, 130_000)
})
