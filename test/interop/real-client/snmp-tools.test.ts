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
 * The shape of the mocks' MIB trees as Debian's net-snmp tools (snmpwalk, snmpbulkwalk,
 * snmpget, snmpset) see them, checked against literal OIDs from the reference
 * (shared/reference/device-protocols.md §3, §4), not against our own OID tables.
 */

interface Run {
  code: number
  out: string
}

function run(cmd: string, args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 20_000, encoding: 'utf8', env: SNMP_ENV }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, out: `${stdout}${stderr}` }),
    )
  })
}

let lab: Lab | undefined
afterEach(async () => {
  await lab?.stop()
  lab = undefined
})

async function start(section: Record<string, unknown>): Promise<{ mock: MockDevice; target: string }> {
  const { lab: spec, problems } = readLab({ devices: { pdu: { listen: '127.0.0.1:0', ...section } } })
  expect(problems).toEqual([])
  lab = await Lab.start(spec)
  const mock = lab.device('pdu')!
  return { mock, target: `127.0.0.1:${mock.endpoint.split(':').pop()}` }
}

const Q = ['-On', '-Oe', '-t', '1', '-r', '1']
const v2 = (community = 'private') => ['-v2c', '-c', community, ...Q]
const v1 = (community = 'private') => ['-v1', '-c', community, ...Q]

/** `.1.3.6… = TYPE: value` lines → OID → [type, value]. */
function parse(out: string): Map<string, [string, string]> {
  const m = new Map<string, [string, string]>()
  for (const line of out.split('\n')) {
    const x = /^(\.[\d.]+) = (?:([A-Za-z0-9-]+): )?(.*)$/.exec(line)
    if (x) m.set(x[1]!, [x[2] ?? '', x[3]!])
  }
  return m
}

const P = '.1.3.6.1.4.1.318.1.1'

/** Objects each model must serve (from the reference), per outlet N and once. */
const SHAPES: Record<string, { sysObjectID: string; once: string[]; perOutlet: (n: number) => string[] }> = {
  sPDU: {
    sysObjectID: '.1.3.6.1.4.1.318.1.3.4.7',
    once: [`${P}.4.1.1.0`, `${P}.4.1.2.0`, `${P}.4.1.4.0`, `${P}.4.2.1.0`, `${P}.4.2.2.0`, `${P}.4.4.1.0`],
    perOutlet: (n) =>
      [2, 3, 4]
        .map((c) => `${P}.4.4.2.1.${c}.${n}`)
        .concat([2, 3, 4, 5].map((c) => `${P}.4.5.2.1.${c}.${n}`)),
  },
  MSP: {
    sysObjectID: '.1.3.6.1.4.1.318.1.3.4.4',
    once: [],
    perOutlet: (n) => [`${P}.6.5.1.1.5.1.1.${n}`, `${P}.6.7.1.1.4.1.1.${n}`, `${P}.6.7.1.1.5.1.1.${n}`],
  },
  rPDU: {
    sysObjectID: '.1.3.6.1.4.1.318.1.3.4.5',
    once: [`${P}.12.1.1.0`, `${P}.12.1.3.0`, `${P}.12.1.5.0`, `${P}.12.1.6.0`, `${P}.12.1.8.0`],
    perOutlet: (n) =>
      [`${P}.12.3.3.1.1.2.${n}`, `${P}.12.3.3.1.1.4.${n}`]
        .concat([2, 4, 5, 6].map((c) => `${P}.12.3.4.1.1.${c}.${n}`))
        .concat([2, 4, 5].map((c) => `${P}.12.3.5.1.1.${c}.${n}`)),
  },
  rPDU2: {
    sysObjectID: '.1.3.6.1.4.1.318.1.3.4.6',
    once: [`${P}.26.2.1.8.1`, `${P}.26.2.1.6.1`, `${P}.26.4.2.1.4.1`, `${P}.26.4.2.1.5.1`, `${P}.26.9.1.0`],
    perOutlet: (n) =>
      [3, 5, 6, 7]
        .map((c) => `${P}.26.9.2.1.1.${c}.${n}`)
        .concat([3, 5, 6].map((c) => `${P}.26.9.2.3.1.${c}.${n}`))
        .concat([`${P}.26.9.2.4.1.5.${n}`])
        // what fence_apc_snmp uses for this sysObjectID: the sPDU outlet table and the rPDU command
        .concat([`${P}.4.4.2.1.3.${n}`, `${P}.4.4.2.1.4.${n}`, `${P}.12.3.3.1.1.4.${n}`]),
  },
}

describe('the APC mock MIB as snmpbulkwalk and snmpwalk see it', () => {
  for (const [model, shape] of Object.entries(SHAPES))
    it(`${model}: sysObjectID, identity, count and every outlet's objects; v1 walk = v2c bulk walk`, async () => {
      const { mock, target } = await start({ kind: 'apc-pdu', model, plugs: 4 })
      const sys = parse((await run('snmpget', [...v2('public'), target, '.1.3.6.1.2.1.1.2.0'])).out)
      expect(sys.get('.1.3.6.1.2.1.1.2.0')).toEqual(['OID', shape.sysObjectID])
      const bulk = await run('snmpbulkwalk', [...v2('public'), target, '.1.3.6.1.4.1.318'])
      expect(bulk.code).toBe(0)
      const tree = parse(bulk.out)
      for (const oid of shape.once) expect(tree.has(oid), oid).toBe(true)
      for (const n of [1, 2, 3, 4])
        for (const oid of shape.perOutlet(n)) expect(tree.has(oid), oid).toBe(true)
      // no fifth outlet anywhere
      for (const oid of shape.perOutlet(5)) expect(tree.has(oid), oid).toBe(false)
      const walk = parse((await run('snmpwalk', [...v1('public'), target, '.1.3.6.1.4.1.318'])).out)
      expect([...walk.keys()]).toEqual([...tree.keys()])
      expect(mock.sim.commands).toEqual([])
    })

  it('rPDU2 state is reversed (1 off, 2 on) while its command and the legacy objects keep 1 on, 2 off', async () => {
    const { mock, target } = await start({ kind: 'apc-pdu', model: 'rPDU2', plugs: 4 })
    mock.sim.setPhysical('2', 'off')
    const oids = [`${P}.26.9.2.3.1.5.1`, `${P}.26.9.2.3.1.5.2`, `${P}.4.4.2.1.3.1`, `${P}.4.4.2.1.3.2`]
    const got = parse((await run('snmpget', [...v2(), target, ...oids])).out)
    expect(oids.map((o) => got.get(o)?.[1])).toEqual(['2', '1', '1', '2'])
  })

  it('sPDU master objects: state string and allOffNow', async () => {
    const { mock, target } = await start({ kind: 'apc-pdu', model: 'sPDU', plugs: 3 })
    mock.sim.setPhysical('2', 'off')
    expect(parse((await run('snmpget', [...v1(), target, `${P}.4.2.2.0`])).out).get(`${P}.4.2.2.0`)).toEqual([
      'STRING',
      '"On Off On"',
    ])
    expect((await run('snmpset', [...v1(), target, `${P}.4.2.1.0`, 'i', '3'])).code).toBe(0)
    expect(mock.sim.describe().map((o) => o.state)).toEqual(['off', 'off', 'off'])
  })
})

describe('writes, pending commands and refusals, as snmpset and snmpget see them', () => {
  it('names are writable in the config table (≤ 20 characters), read-only elsewhere', async () => {
    const { mock, target } = await start({ kind: 'apc-pdu', model: 'rPDU', plugs: 4 })
    expect((await run('snmpset', [...v2(), target, `${P}.12.3.4.1.1.2.3`, 's', 'db-primary'])).code).toBe(0)
    expect(mock.sim.outlet('3').name).toBe('db-primary')
    const names = parse(
      (await run('snmpget', [...v2(), target, `${P}.12.3.5.1.1.2.3`, `${P}.12.3.3.1.1.2.3`])).out,
    )
    expect([...names.values()].map((v) => v[1])).toEqual(['"db-primary"', '"db-primary"'])
    const long = await run('snmpset', [...v2(), target, `${P}.12.3.4.1.1.2.3`, 's', 'x'.repeat(21)])
    expect(long.code).not.toBe(0)
    expect(long.out).toMatch(/wrongValue/)
    const ro = await run('snmpset', [...v2(), target, `${P}.12.3.5.1.1.2.3`, 's', 'nope'])
    expect(ro.out).toMatch(/notWritable/)
    expect(mock.sim.outlet('3').name).toBe('db-primary')
  })

  it('a delayed on is pending until cancelled; the outlet stays off', async () => {
    const { mock, target } = await start({ kind: 'apc-pdu', model: 'rPDU', plugs: 4, powerOnTime: 30 })
    mock.sim.setPhysical('1', 'off')
    expect((await run('snmpset', [...v2(), target, `${P}.12.3.3.1.1.4.1`, 'i', '4'])).code).toBe(0)
    const pending = `${P}.12.3.5.1.1.5.1`
    expect(parse((await run('snmpget', [...v2(), target, pending])).out).get(pending)?.[1]).toBe('1')
    expect((await run('snmpset', [...v2(), target, `${P}.12.3.3.1.1.4.1`, 'i', '7'])).code).toBe(0)
    expect(parse((await run('snmpget', [...v2(), target, pending])).out).get(pending)?.[1]).toBe('2')
    expect(mock.sim.state('1')).toBe('off')
    expect(mock.sim.outlet('1').pending).toBeUndefined()
  })

  it('a command value the MIB does not define is refused and switches nothing', async () => {
    const { mock, target } = await start({ kind: 'apc-pdu', model: 'rPDU2', plugs: 4 })
    const r = await run('snmpset', [...v2(), target, `${P}.26.9.2.4.1.5.1`, 'i', '4'])
    expect(r.out).toMatch(/wrongValue/)
    expect(mock.sim.commands).toEqual([])
  })

  it('a missing outlet is noSuchInstance, an unknown object noSuchObject', async () => {
    const { target } = await start({ kind: 'apc-pdu', model: 'rPDU', plugs: 4 })
    const r = await run('snmpget', [...v2(), target, `${P}.12.3.5.1.1.4.9`, `${P}.12.9.9.0`])
    expect(r.out).toMatch(/\.12\.3\.5\.1\.1\.4\.9 = No Such Instance/)
    expect(r.out).toMatch(/\.12\.9\.9\.0 = No Such Object/)
  })

  it('a wrong community gets no answer; the read-only community may not write', async () => {
    const { mock, target } = await start({ kind: 'apc-pdu', model: 'rPDU', plugs: 4 })
    const wrong = await run('snmpget', [
      '-v2c',
      '-c',
      'guess',
      '-On',
      '-t',
      '0.3',
      '-r',
      '0',
      target,
      '.1.3.6.1.2.1.1.5.0',
    ])
    expect(wrong.code).not.toBe(0)
    expect(wrong.out).toMatch(/Timeout/)
    const ro2 = await run('snmpset', [...v2('public'), target, `${P}.12.3.3.1.1.4.1`, 'i', '2'])
    expect(ro2.out).toMatch(/noAccess/)
    const ro1 = await run('snmpset', [...v1('public'), target, `${P}.12.3.3.1.1.4.1`, 'i', '2'])
    expect(ro1.out).toMatch(/noSuchName/)
    expect(mock.sim.state('1')).toBe('on')
  })

  it('SNMPv3 users: SHA-512 authNoPriv and SHA/AES authPriv answer; a wrong key gets no answer, an unknown user a report', async () => {
    const { target } = await start({
      kind: 'apc-pdu',
      model: 'rPDU',
      plugs: 2,
      snmp: {
        users: [
          { name: 'ops', authProtocol: 'sha512', authKey: 'ops-auth-key' },
          {
            name: 'fence',
            authProtocol: 'sha',
            authKey: 'fence-auth-key',
            privProtocol: 'aes',
            privKey: 'fence-priv-key',
          },
        ],
      },
    })
    const oid = `${P}.12.3.5.1.1.4.1`
    const v3 = (u: string, extra: string[]) => [
      '-v3',
      '-u',
      u,
      ...extra,
      '-On',
      '-t',
      '0.5',
      '-r',
      '0',
      target,
      oid,
    ]
    expect(
      (await run('snmpget', v3('ops', ['-l', 'authNoPriv', '-a', 'SHA-512', '-A', 'ops-auth-key']))).out,
    ).toMatch(/INTEGER: 1/)
    const authPriv = ['-l', 'authPriv', '-a', 'SHA', '-x', 'AES']
    expect(
      (await run('snmpget', v3('fence', [...authPriv, '-A', 'fence-auth-key', '-X', 'fence-priv-key']))).out,
    ).toMatch(/INTEGER: 1/)
    const wrong = await run(
      'snmpget',
      v3('fence', [...authPriv, '-A', 'not-the-key', '-X', 'fence-priv-key']),
    )
    expect(wrong.code).not.toBe(0)
    expect(wrong.out).toMatch(/Timeout/)
    const nobody = await run('snmpget', v3('nobody', ['-l', 'authNoPriv', '-a', 'SHA', '-A', 'whatever-key']))
    expect(nobody.out).toMatch(/Unknown user name/)
  })
})

describe('the shared faults on a UDP agent, as snmpget sees them', () => {
  it('drop and disconnect: no answer; delay: a late answer; stall: that client port is ignored, a new one is served', async () => {
    const { mock, target } = await start({ kind: 'apc-pdu', model: 'rPDU', plugs: 2 })
    const get = (t = '0.4') =>
      run('snmpget', ['-v2c', '-c', 'public', '-On', '-t', t, '-r', '1', target, '.1.3.6.1.2.1.1.5.0'])
    for (const type of ['drop', 'disconnect'] as const) {
      mock.sim.faults.add({ type, count: 2 })
      expect((await get()).out).toMatch(/Timeout/)
      expect((await get()).out).toMatch(/STRING: "pdu"/)
    }
    mock.sim.faults.add({ type: 'delay', ms: 300, count: 1 })
    expect((await get('2')).out).toMatch(/STRING: "pdu"/)
    // a stall consumes one request: the retransmission from the same port is ignored as well
    mock.sim.faults.add({ type: 'stall', count: 1 })
    expect((await get()).out).toMatch(/Timeout/)
    expect((await get()).out).toMatch(/STRING: "pdu"/)
    mock.sim.faults.add({ type: 'garble', count: 2 })
    expect((await get()).out).not.toMatch(/STRING: "pdu"/)
    expect((await get()).out).toMatch(/STRING: "pdu"/)
  })
})

describe('the WTI mock MIB', () => {
  for (const mib of [1, 3] as const)
    it(`MIB v${mib}: group names from 1 to the first empty one, action 5/6 settable`, async () => {
      const { mock, target } = await start({
        kind: 'wti-pdu',
        mib,
        plugs: 4,
        groups: { alpha: [1], beta: [2, 3] },
      })
      const base = mib === 1 ? '.1.3.6.1.4.1.2634.3.1.3.1' : '.1.3.6.1.4.1.2634.3.100.300.1'
      const tree = parse((await run('snmpwalk', [...v1(), target, base])).out)
      expect(tree.get(`${base}.2.1`)).toEqual(['STRING', '"alpha"'])
      expect(tree.get(`${base}.2.2`)).toEqual(['STRING', '"beta"'])
      // an empty OCTET STRING: net-snmp prints it without a type
      expect(tree.get(`${base}.2.3`)).toEqual(['', '""'])
      // the GET of the action column is undocumented: v1 answers the group's state (5 on), v3 the
      // last action written (none yet: 0)
      expect(tree.get(`${base}.3.2`)).toEqual(['INTEGER', mib === 1 ? '5' : '0'])
      expect((await run('snmpset', [...v1(), target, `${base}.3.2`, 'i', '6'])).code).toBe(0)
      expect([mock.sim.state('2'), mock.sim.state('3'), mock.sim.state('1')]).toEqual(['off', 'off', 'on'])
      expect(
        parse((await run('snmpget', [...v1(), target, `${base}.3.2`])).out).get(`${base}.3.2`)?.[1],
      ).toBe('6')
      // the other MIB version's table is not there
      const other = mib === 1 ? '.1.3.6.1.4.1.2634.3.100.300.1.2.1' : '.1.3.6.1.4.1.2634.3.1.3.1.2.1'
      expect((await run('snmpget', [...v2(), target, other])).out).toMatch(/No Such Object/)
    })

  const plugTable = '.1.3.6.1.4.1.2634.3.100.200.1'

  it('MIB v3: the plug table (plugID, plugStatus 0/1, plugName) follows each plug of a group, a lie included', async () => {
    const { mock, target } = await start({
      kind: 'wti-pdu',
      mib: 3,
      plugs: [
        { id: '1', name: 'db1-psu-a' },
        { id: '2', name: 'db1-psu-b' },
        { id: '3', name: 'spare' },
      ],
      groups: { db1: [1, 2] },
    })
    const tree = parse((await run('snmpwalk', [...v1(), target, plugTable])).out)
    expect([1, 2, 3].map((p) => tree.get(`${plugTable}.3.${p}`))).toEqual([
      ['INTEGER', '1'],
      ['INTEGER', '1'],
      ['INTEGER', '1'],
    ])
    expect(tree.get(`${plugTable}.5.2`)).toEqual(['STRING', '"db1-psu-b"'])
    expect(tree.get(`${plugTable}.2.3`)).toEqual(['STRING', '"3"'])
    // the group's off reaches plug 1; plug 2 acknowledges and stays on
    mock.sim.faults.add({ type: 'lie', plugs: ['2'], count: 1 })
    const group = '.1.3.6.1.4.1.2634.3.100.300.1.3.1'
    expect((await run('snmpset', [...v1(), target, group, 'i', '6'])).code).toBe(0)
    const oids = [1, 2, 3].map((p) => `${plugTable}.3.${p}`)
    const after = parse((await run('snmpget', [...v2(), target, ...oids])).out)
    expect(oids.map((o) => after.get(o)?.[1])).toEqual(['0', '1', '1'])
    // plugStatus is read-only; there is no plug 4
    expect((await run('snmpset', [...v1(), target, `${plugTable}.3.2`, 'i', '0'])).code).not.toBe(0)
    expect((await run('snmpget', [...v2(), target, `${plugTable}.3.4`])).out).toMatch(/No Such Instance/)
  })

  it('MIB v3: an off accepted but not yet applied (transition delay) still reads 1, while the action column says 6', async () => {
    const { mock, target } = await start({ kind: 'wti-pdu', mib: 3, plugs: 2, transitionDelay: '1h' })
    const group = '.1.3.6.1.4.1.2634.3.100.300.1.3.2'
    expect((await run('snmpset', [...v1(), target, group, 'i', '6'])).code).toBe(0)
    expect(mock.sim.outlet('2').pending?.action).toBe('off')
    const got = parse((await run('snmpget', [...v2(), target, `${plugTable}.3.2`, group])).out)
    expect(got.get(`${plugTable}.3.2`)?.[1]).toBe('1')
    expect(got.get(group)?.[1]).toBe('6')
  })

  it('MIB v1 has no plug table', async () => {
    const { target } = await start({ kind: 'wti-pdu', mib: 1, plugs: 2 })
    expect((await run('snmpget', [...v2(), target, `${plugTable}.3.1`])).out).toMatch(/No Such Object/)
  })
})
