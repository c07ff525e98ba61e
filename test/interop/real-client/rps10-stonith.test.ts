import { execFile } from 'node:child_process'
import { afterEach, describe, expect, it } from 'vitest'
import { type Rps10Rig, startRps10 } from '../rps10-lab.js'

/**
 * A real client nobody here wrote: cluster-glue's `stonith -t rps10` opens the mock's pty,
 * does its DTR toggle (B0 for 2 s), waits for `RPS-10 Ready`, sends its frame and parses the
 * reply. The mock's simulator is the meter on the outlet.
 *
 * Each test names its pty differently: cluster-glue takes a UUCP lock named after the device's
 * path (/var/lock/LCK.. + its letters and digits after the first five characters), so two runs on
 * the same path at once would lock each other out.
 *
 * The plugin flushes the port before its DTR toggle, not after: a banner the unit sent for the
 * open (when the plugin was descheduled between its open and its toggle) is read after the toggle
 * as the new one, and the command follows within microseconds of DTR rising. The mock must see
 * the rise before the command (firmware-mocks/pty.ts, "Order"; rps10-pty.test.ts) — it once did
 * not, and the reset below exited 6.
 */
function stonith(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile('stonith', args, { timeout: 18_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0
      resolve({ code, out: `${stdout}${stderr}` })
    })
  })
}

/** Do `want` occur in `xs` in this order (not necessarily adjacent)? */
function subsequence(xs: readonly string[], want: readonly string[]): boolean {
  let i = 0
  for (const x of xs) if (x === want[i]) i++
  return i === want.length
}

let rig: Rps10Rig | undefined
afterEach(async () => {
  await rig?.stop()
  rig = undefined
})

describe('cluster-glue stonith -t rps10 against the mock on a pty', () => {
  it('turns a plug off, then on', async () => {
    rig = await startRps10({ pty: '{tmp}/ttyRPSa', plugs: 3, initial: 'on' })
    const cfg = `${rig.mock.ptyPath} node0 0 node1 1 node2 2`
    const off = await stonith(['-t', 'rps10', '-p', cfg, '-T', 'off', 'node1'])
    expect(off.code, off.out).toBe(0)
    expect(rig.mock.sim.state('1')).toBe('off')
    // DTR rose when its toggle (B0 for 2 s) ended; the unit said Ready; then the command came
    expect(subsequence(rig.mock.trace, ['dtr up', 'ready', 'request 10']), rig.mock.trace.join(', ')).toBe(
      true,
    )
    expect(rig.mock.sim.state('0')).toBe('on')
    const on = await stonith(['-t', 'rps10', '-p', cfg, '-T', 'on', 'node1'])
    expect(on.code, on.out).toBe(0)
    expect(rig.mock.sim.state('1')).toBe('on')
  }, 20_000)
})

describe('cluster-glue stonith -t rps10: reset and the banner', () => {
  it('resets a plug with the unit toggle: the outlet goes off, then on', async () => {
    rig = await startRps10({ pty: '{tmp}/ttyRPSb', plugs: 2, initial: 'on', toggleDelay: '1s' })
    const mock = rig.mock
    const changes: string[] = []
    mock.sim.on('change', (plug, state) => changes.push(`${plug}:${state}`))
    const r = await stonith(['-t', 'rps10', '-p', `${mock.ptyPath} node0 0 node1 1`, '-T', 'reset', 'node0'])
    expect(r.code, `${r.out}\nline: ${mock.trace.join(', ')}`).toBe(0)
    expect(changes).toEqual(['0:off', '0:on'])
    expect(mock.sim.state('0')).toBe('on')
    expect(mock.sim.commands.map((c) => `${c.plug}:${c.action}`)).toEqual(['0:cycle'])
  }, 20_000)

  it("cluster-glue's all-units address (A, sent as *) switches every unit of the chain", async () => {
    // fencegate's driver refuses this (one command dropping every node at once); the mock, like a
    // real chain, obeys it — every unit answers, then one Complete
    rig = await startRps10({ pty: '{tmp}/ttyRPSd', plugs: 3, initial: 'on' })
    const r = await stonith(['-t', 'rps10', '-p', `${rig.mock.ptyPath} everyone A`, '-T', 'off', 'everyone'])
    expect(r.code, r.out).toBe(0)
    expect(rig.mock.sim.plugIds().map((p) => rig!.mock.sim.state(p))).toEqual(['off', 'off', 'off'])
    expect(rig.mock.trace).toContain('request *0')
  }, 20_000)

  it('fails (and switches nothing) when the unit never says RPS-10 Ready after the DTR toggle', async () => {
    // a unit whose cable lacks the modem lines: the banner never comes
    rig = await startRps10({ pty: '{tmp}/ttyRPSc', plugs: 2, initial: 'on', readyDelay: '30s' })
    const r = await stonith(['-t', 'rps10', '-p', `${rig.mock.ptyPath} node0 0`, '-T', 'off', 'node0'])
    expect(r.code).not.toBe(0)
    expect(rig.mock.sim.state('0')).toBe('on')
    expect(rig.mock.sim.commands).toEqual([])
  }, 20_000)
})
