import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { readLab } from '../../../firmware-mocks/lab-file.js'
import { Lab } from '../../../firmware-mocks/lab.js'
import type { MockDevice } from '../../../firmware-mocks/mock.js'
import { FENCER, startTestGateway } from '../../helpers/gateway.js'

/**
 * net-snmp's tools keep state in a persistent directory (/var/lib/snmp by default) that other
 * runs on the machine share; give ours a private one so concurrent runs cannot disturb them.
 */
const SNMP_ENV = { ...process.env, SNMP_PERSISTENT_DIR: mkdtempSync(path.join(tmpdir(), 'fg-snmp-persist-')) }
afterAll(() => rmSync(SNMP_ENV.SNMP_PERSISTENT_DIR, { recursive: true, force: true }))

/**
 * fence_apc_snmp (Debian fence-agents 4.12, a client nobody here wrote) against the apc-pdu
 * mock: every family it tells apart by sysObjectID, over SNMPv1 and v3 authPriv. After each
 * action the simulator confirms what happened. Also pins its multi-plug bug next to our driver.
 */

interface Run {
  code: number
  stdout: string
  stderr: string
}

function run(cmd: string, args: string[], timeoutMs = 30_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, encoding: 'utf8', env: SNMP_ENV }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
    )
  })
}

const USER = {
  name: 'fence',
  authProtocol: 'sha',
  authKey: 'fence-auth-key',
  privProtocol: 'aes',
  privKey: 'fence-priv-key',
}
const NAMED = Array.from({ length: 8 }, (_, i) => ({ id: String(i + 1), name: `node${i + 1}` }))

let lab: Lab | undefined
afterEach(async () => {
  await lab?.stop()
  lab = undefined
})

async function startPdu(section: Record<string, unknown>): Promise<{ mock: MockDevice; port: number }> {
  const { lab: spec, problems } = readLab({ devices: { pdu: { listen: '127.0.0.1:0', ...section } } })
  expect(problems).toEqual([])
  lab = await Lab.start(spec)
  const mock = lab.device('pdu')!
  return { mock, port: Number(mock.endpoint.split(':').pop()) }
}

function agentArgs(port: number, version: '1' | '3'): string[] {
  const base = ['--ip', '127.0.0.1', '--ipport', String(port)]
  if (version === '1') return [...base, '--community', 'private']
  return [
    ...base,
    '--snmp-version',
    '3',
    '--username',
    USER.name,
    '--password',
    USER.authKey,
    '--snmp-auth-prot',
    'SHA',
    '--snmp-sec-level',
    'authPriv',
    '--snmp-priv-prot',
    'AES',
    '--snmp-priv-passwd',
    USER.privKey,
  ]
}

// fence_apc_snmp's classes: ApcRPDU (.4.5), ApcMSP (.4.4), ApcMS6 (.4.6, our rPDU2), ApcMS fallback (sPDU)
const FAMILIES = [
  { model: 'rPDU', plug: '3', sim: '3', listed: '3,node3' },
  { model: 'MSP', plug: '3', sim: '1:3', listed: '1:3,node3' },
  { model: 'rPDU2', plug: '3', sim: '3', listed: '3,node3' },
  { model: 'sPDU', plug: '3', sim: '3', listed: '3,node3' },
] as const

describe('fence_apc_snmp against the apc-pdu mock', () => {
  for (const f of FAMILIES)
    for (const version of ['1', '3'] as const)
      it(`${f.model} over SNMPv${version === '1' ? '1' : '3 authPriv'}: list, status, off, on, reboot, off by name`, async () => {
        const { mock, port } = await startPdu({
          kind: 'apc-pdu',
          model: f.model,
          plugs: NAMED,
          ...(version === '3' ? { snmp: { users: [USER] } } : {}),
        })
        const sim = mock.sim
        const agent = (action: string, plug?: string) =>
          run('fence_apc_snmp', [
            ...agentArgs(port, version),
            '--action',
            action,
            ...(plug ? ['--plug', plug] : []),
          ])

        const list = await agent('list')
        expect(list.code, list.stderr).toBe(0)
        expect(list.stdout.split('\n')).toContain(f.listed)

        const on = await agent('status', f.plug)
        expect(on, on.stderr).toMatchObject({ code: 0 })
        expect(on.stdout).toMatch(/Status: ON/)

        const off = await agent('off', f.plug)
        expect(off.code, off.stderr).toBe(0)
        expect(sim.state(f.sim)).toBe('off')
        const st = await agent('status', f.plug)
        expect(st.code, st.stderr).toBe(2)
        expect(st.stdout).toMatch(/Status: OFF/)

        const onAgain = await agent('on', f.plug)
        expect(onAgain.code, onAgain.stderr).toBe(0)
        expect(sim.state(f.sim)).toBe('on')

        const before = sim.commands.length
        const reboot = await agent('reboot', f.plug)
        expect(reboot.code, reboot.stderr).toBe(0)
        expect(sim.state(f.sim)).toBe('on')
        // the agent reboots with off then on, never with the PDU's own reboot
        expect(sim.commands.slice(before).map((c) => `${c.plug}:${c.action}`)).toEqual([
          `${f.sim}:off`,
          `${f.sim}:on`,
        ])

        // a plug given by its outlet name
        const byName = await agent('off', 'node5')
        expect(byName.code, byName.stderr).toBe(0)
        expect(sim.state(f.model === 'MSP' ? '1:5' : '5')).toBe('off')
      })
})

describe('dual power supplies: fence_apc_snmp plug=1,2 versus our driver', () => {
  it('fence_apc_snmp switches outlet 1 twice and reports success; our engine switches 1 and 2 and verifies both', async () => {
    const { mock, port } = await startPdu({ kind: 'apc-pdu', model: 'rPDU', plugs: 8 })
    const sim = mock.sim
    const r = await run('fence_apc_snmp', [...agentArgs(port, '1'), '--action', 'off', '--plug', '1,2'])
    // the bug (fence-agents 4.12 and upstream HEAD): port_id is resolved once, for the first plug
    expect(r.code).toBe(0)
    expect(`${r.stdout}${r.stderr}`).toMatch(/Success/)
    expect(sim.commands.map((c) => `${c.plug}:${c.action}`)).toEqual(['1:off', '1:off'])
    expect(sim.state('2')).toBe('on')
    await lab!.stop()
    lab = undefined

    const gw = await startTestGateway({
      devices: { pdu: { kind: 'apc-pdu', model: 'rPDU', listen: '127.0.0.1:0', plugs: 8 } },
      nodes: { dual: { plugs: ['pdu:1', 'pdu:2'] } },
    })
    try {
      const gsim = gw.lab.device('pdu')!.sim
      const op = await gw.engine.fence('dual', 'off', { initiator: FENCER, timeoutMs: 10_000 })
      expect(op.results[0]).toMatchObject({ outcome: 'success', state: 'off' })
      expect(gsim.commands.map((c) => `${c.plug}:${c.action}`).sort()).toEqual(['1:off', '2:off'])
      expect(gsim.state('1')).toBe('off')
      expect(gsim.state('2')).toBe('off')
      // both read back off after the sets
      const verified = op.results[0]!.attempts.filter((a) => a.step === 'verify' && a.state === 'off')
      expect(new Set(verified.map((a) => a.plug))).toEqual(new Set(['1', '2']))
    } finally {
      await gw.stop()
    }
  })
})
