import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { readLab } from '../../../firmware-mocks/lab-file.js'
import { Lab } from '../../../firmware-mocks/lab.js'
import type { MockDevice } from '../../../firmware-mocks/mock.js'

/**
 * net-snmp's tools keep state in a persistent directory (/var/lib/snmp by default) that other
 * runs on the machine share; give ours a private one so concurrent runs cannot disturb them.
 */
const SNMP_ENV = { ...process.env, SNMP_PERSISTENT_DIR: mkdtempSync(path.join(tmpdir(), 'fg-snmp-persist-')) }
afterAll(() => rmSync(SNMP_ENV.SNMP_PERSISTENT_DIR, { recursive: true, force: true }))

/**
 * cluster-glue's stonith plugins (Debian cluster-glue, C, net-snmp library) against the mocks:
 * wti_mpc against the WTI mock (both MIB versions), apcmastersnmp against the APC rPDU mock.
 * After each action the simulator says what the outlets really did.
 */

function stonith(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile('stonith', args, { timeout: 30_000, encoding: 'utf8', env: SNMP_ENV }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, out: `${stdout}${stderr}` }),
    )
  })
}

let lab: Lab | undefined
afterEach(async () => {
  await lab?.stop()
  lab = undefined
})

/**
 * The plugins set net-snmp's remote_port, which current net-snmp ignores: they always talk to
 * port 161. So the mock listens on 161 of a loopback address of its own (the tests run as root).
 */
let nextHost = 0
function loopback(): string {
  nextHost = (nextHost + 1) % 250
  return `127.61.${process.pid % 250}.${nextHost + 1}`
}

async function start(section: Record<string, unknown>): Promise<{ mock: MockDevice; ip: string }> {
  const ip = loopback()
  const { lab: spec, problems } = readLab({ devices: { pdu: { listen: `${ip}:161`, ...section } } })
  expect(problems).toEqual([])
  lab = await Lab.start(spec)
  return { mock: lab.device('pdu')!, ip }
}

describe('stonith -t wti_mpc against the WTI mock', () => {
  for (const mib of [1, 3] as const)
    it(`MIB v${mib}: status, list of groups, off / on / reset of a two-plug group`, async () => {
      const { mock, ip } = await start({
        kind: 'wti-pdu',
        mib,
        plugs: 4,
        groups: { 'node-a': [1], 'node-b': [2, 3] },
      })
      const sim = mock.sim
      const params = [`ipaddr=${ip}`, 'port=161', 'community=private', `mib-version=${mib}`]
      const st = await stonith(['-t', 'wti_mpc', ...params, '-S'])
      expect(st.code, st.out).toBe(0)
      const list = await stonith(['-t', 'wti_mpc', ...params, '-l'])
      expect(list.code, list.out).toBe(0)
      expect(list.out.split('\n').filter((l) => /^node-/.test(l))).toEqual(['node-a', 'node-b'])

      const off = await stonith(['-t', 'wti_mpc', ...params, '-T', 'off', 'node-b'])
      expect(off.code, off.out).toBe(0)
      expect([sim.state('1'), sim.state('2'), sim.state('3')]).toEqual(['on', 'off', 'off'])
      const on = await stonith(['-t', 'wti_mpc', ...params, '-T', 'on', 'node-b'])
      expect(on.code, on.out).toBe(0)
      expect([sim.state('2'), sim.state('3')]).toEqual(['on', 'on'])
      const reset = await stonith(['-t', 'wti_mpc', ...params, '-T', 'reset', 'node-a'])
      expect(reset.code, reset.out).toBe(0)
      // wti_mpc resets with the unit's own reboot (7): the plug cycles
      expect(sim.commands.filter((c) => c.plug === '1').map((c) => c.action)).toEqual(['cycle'])
    })
})

describe('stonith -t apcmastersnmp against the APC rPDU mock', () => {
  it('lists outlet names, switches a node off and on, resets it with the rPDU reboot', async () => {
    const { mock, ip } = await start({
      kind: 'apc-pdu',
      model: 'rPDU',
      plugs: Array.from({ length: 8 }, (_, i) => ({ id: String(i + 1), name: `node${i + 1}` })),
      cycleOff: '300ms',
    })
    const sim = mock.sim
    const params = [`ipaddr=${ip}`, 'port=161', 'community=private']
    const list = await stonith(['-t', 'apcmastersnmp', ...params, '-l'])
    expect(list.code, list.out).toBe(0)
    expect(list.out).toMatch(/node1\b[\s\S]*node8\b/)
    // the model is one apcmastersnmp knows: no "unknown model" warning
    expect(list.out).not.toMatch(/not tested|unknown/i)

    const off = await stonith(['-t', 'apcmastersnmp', ...params, '-T', 'off', 'node3'])
    expect(off.code, off.out).toBe(0)
    expect(sim.state('3')).toBe('off')
    const on = await stonith(['-t', 'apcmastersnmp', ...params, '-T', 'on', 'node3'])
    expect(on.code, on.out).toBe(0)
    expect(sim.state('3')).toBe('on')
    const reset = await stonith(['-t', 'apcmastersnmp', ...params, '-T', 'reset', 'node4'])
    expect(reset.code, reset.out).toBe(0)
    expect(sim.commands.filter((c) => c.plug === '4').map((c) => c.action)).toEqual(['cycle'])
    expect(sim.state('4')).toBe('on')
  })
})
