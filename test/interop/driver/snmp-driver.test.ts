import dgram from 'node:dgram'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createDriver, readDeviceSection } from '../../../drivers/registry.js'
import type { ApcSnmpDriver } from '../../../drivers/apc-snmp/driver.js'
import { apcSnmpDriver } from '../../../drivers/apc-snmp/index.js'
import type { PowerDriver } from '../../../drivers/driver.js'
import { wtiSnmpDriver } from '../../../drivers/wti-snmp/index.js'
import type { ApcPduMock } from '../../../firmware-mocks/apc-pdu/mock.js'
import { readLab } from '../../../firmware-mocks/lab-file.js'
import { Lab } from '../../../firmware-mocks/lab.js'
import { MOCKS } from '../../../firmware-mocks/registry.js'
import { readSecret } from '../../../src/config/secrets.js'
import { FenceError } from '../../../core/errors.js'
import { FENCER, startTestGateway } from '../../helpers/gateway.js'
import { groupState } from '../../../drivers/wti-snmp/driver.js'
import { readConfig } from '../../../src/config/config.js'

/** The apc-snmp and wti-snmp drivers against their mocks: what the conformance suite does not pin. */

const call = (ms = 5000) => ({ signal: AbortSignal.timeout(ms) })

interface Rig {
  lab: Lab
  mock: ApcPduMock
  driver: PowerDriver
  logs: string[]
}

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

/** Start one mock and a driver reaching it (section from the mock factory + overrides). */
async function rig(lab: Record<string, unknown>, overrides: Record<string, unknown> = {}): Promise<Rig> {
  const { lab: spec, problems } = readLab({ devices: { d: { listen: '127.0.0.1:0', ...lab } } })
  expect(problems).toEqual([])
  const l = await Lab.start(spec)
  cleanups.push(() => l.stop())
  const device = readDeviceSection({ ...l.driverSections().d!, ...overrides })
  expect(device.problems).toEqual([])
  const logs: string[] = []
  const driver = createDriver(
    { ...device, kind: device.kind! },
    {
      deviceId: 'd',
      readSecret,
      log: (level: string, msg: string, fields?: Record<string, unknown>) =>
        logs.push(`${level} ${msg} ${JSON.stringify(fields)}`),
    },
  )
  cleanups.push(() => driver.close())
  return { lab: l, mock: l.device('d') as ApcPduMock, driver, logs }
}

const requests = (d: PowerDriver) => (d as ApcSnmpDriver).client.requests

describe('apc-snmp: families, plugs, round trips', () => {
  for (const [model, family] of [
    ['sPDU', 'sPDU'],
    ['MSP', 'MSP'],
    ['rPDU', 'rPDU'],
    ['rPDU2', 'rPDU2'],
  ] as const)
    it(`identifies ${model} by its sysObjectID`, async () => {
      const { driver, logs } = await rig({ kind: 'apc-pdu', model, plugs: 2 })
      expect((await (driver as ApcSnmpDriver).family(call())).family).toBe(family)
      expect(logs.join('\n')).toMatch(new RegExp(`"family":"${family}"`))
    })

  it('a configured model is trusted: no sysObjectID request', async () => {
    const { driver } = await rig({ kind: 'apc-pdu', model: 'rPDU2', plugs: 4 }, { model: 'rPDU2' })
    expect((await driver.status(['1'], call())).get('1')).toBe('on')
    expect(requests(driver)).toBe(1)
  })

  it('status of all 24 outlets is one GET, and reads each outlet right (rPDU2 values reversed)', async () => {
    const { driver, mock } = await rig({ kind: 'apc-pdu', model: 'rPDU2', plugs: 24 })
    await (driver as ApcSnmpDriver).family(call())
    for (const p of ['2', '7', '24']) mock.sim.setPhysical(p, 'off')
    const before = requests(driver)
    const received = mock.received
    const plugs = Array.from({ length: 24 }, (_, i) => String(i + 1))
    const st = await driver.status(plugs, call())
    expect(requests(driver) - before).toBe(1)
    expect(mock.received - received).toBe(1)
    for (const p of plugs) expect(st.get(p)).toBe(mock.sim.state(p))
  })

  it('plugs by name: status and set resolve names with one walk; unknown and ambiguous names are refused', async () => {
    const { driver, mock } = await rig({
      kind: 'apc-pdu',
      model: 'rPDU',
      plugs: [
        { id: '1', name: 'db1-psu-a' },
        { id: '2', name: 'db1-psu-b' },
        { id: '3', name: 'twin' },
        { id: '4', name: 'twin' },
      ],
    })
    await driver.set('db1-psu-b', 'off', call())
    expect(mock.sim.state('2')).toBe('off')
    const st = await driver.status(['db1-psu-a', 'db1-psu-b', '3'], call())
    expect([...st]).toEqual([
      ['db1-psu-a', 'on'],
      ['db1-psu-b', 'off'],
      ['3', 'on'],
    ])
    await expect(driver.set('nosuch', 'off', call())).rejects.toMatchObject({ code: 'NO_SUCH_PLUG' })
    const twin = await driver.set('twin', 'off', call()).catch((e: FenceError) => e)
    expect(twin).toMatchObject({ code: 'NO_SUCH_PLUG' })
    expect((twin as FenceError).message).toMatch(/2 outlets are named 'twin' \(3, 4\)/)
    expect(mock.sim.commands.map((c) => c.plug)).toEqual(['2'])
  })

  it('MasterSwitch Plus: switch:outlet ids, a bare number is on switch 1, names give switch:outlet', async () => {
    const { driver, mock } = await rig({
      kind: 'apc-pdu',
      model: 'MSP',
      plugs: [
        { id: '1', name: 'a' },
        { id: '2', name: 'b' },
        { id: '2:1', name: 'c' },
      ],
    })
    expect(await driver.plugs(call())).toEqual([
      { id: '1:1', name: 'a' },
      { id: '1:2', name: 'b' },
      { id: '2:1', name: 'c' },
    ])
    await driver.set('2', 'off', call())
    await driver.set('c', 'off', call())
    expect([mock.sim.state('1:1'), mock.sim.state('1:2'), mock.sim.state('2:1')]).toEqual([
      'on',
      'off',
      'off',
    ])
    expect((await driver.status(['1:2', '2:1', '1'], call())).get('1')).toBe('on')
  })
})

describe('apc-snmp: pending and delayed commands', () => {
  it('set refuses while a command is pending (DEVICE_BUSY); cancelPending cancels only where pending', async () => {
    const { driver, mock } = await rig({ kind: 'apc-pdu', model: 'rPDU', plugs: 4 })
    mock.sim.setPhysical('1', 'off')
    mock.sim.command('1', 'on', 60_000) // a delayedOn issued earlier
    await expect(driver.set('1', 'off', call())).rejects.toMatchObject({ code: 'DEVICE_BUSY' })
    const sets = mock.sim.commands.length
    await driver.cancelPending!(['1', '2'], call())
    expect(mock.sim.outlet('1').pending).toBeUndefined()
    expect(mock.sim.commands.length).toBe(sets) // a cancel is not a switching command
    await driver.set('1', 'off', call())
    expect(mock.sim.state('1')).toBe('off')
  })

  it('MasterSwitch Plus has no pending flag: cancelPending sends the cancel to every plug', async () => {
    const { driver, mock } = await rig({ kind: 'apc-pdu', model: 'MSP', plugs: 4 })
    mock.sim.command('1:3', 'off', 60_000)
    await driver.cancelPending!(['3', '4'], call())
    expect(mock.sim.outlet('1:3').pending).toBeUndefined()
    expect(mock.sim.state('1:3')).toBe('on')
  })

  it('the sPDU cannot cancel: a pending command there is DEVICE_BUSY (transient), nothing pending is fine', async () => {
    const { driver, mock } = await rig({ kind: 'apc-pdu', model: 'sPDU', plugs: 4 }, { version: '1' })
    await driver.cancelPending!(['1', '2'], call())
    mock.sim.command('2', 'on', 60_000)
    const err = await driver.cancelPending!(['1', '2'], call()).catch((e: FenceError) => e)
    expect(err).toMatchObject({ code: 'DEVICE_BUSY' })
    expect((err as FenceError).transient).toBe(true)
  })

  it('through the engine: a fence cancels a pending delayedOn, so the PDU does not power the node back on', async () => {
    const gw = await startTestGateway({
      devices: { pdu: { kind: 'apc-pdu', model: 'rPDU2', listen: '127.0.0.1:0', plugs: 8 } },
      nodes: { n1: { plugs: ['pdu:3', 'pdu:4'] } },
    })
    cleanups.push(() => gw.stop())
    const sim = gw.lab.device('pdu')!.sim
    sim.setPhysical('3', 'off')
    sim.command('3', 'on', 1500) // delayedOn, fires 1.5 s from now
    const op = await gw.engine.fence('n1', 'off', { initiator: FENCER, timeoutMs: 10_000 })
    expect(op.results[0]).toMatchObject({ outcome: 'success', state: 'off' })
    expect(op.results[0]!.attempts.some((a) => a.step === 'cancel' && a.outcome === 'ok')).toBe(true)
    await new Promise((r) => setTimeout(r, 1800))
    expect([sim.state('3'), sim.state('4')]).toEqual(['off', 'off'])
  })
})

describe('apc-snmp: refusals and errors', () => {
  it('a PDU that reports more outlets than it has: plugs() says so, the missing outlet is NO_SUCH_PLUG', async () => {
    const { driver } = await rig({ kind: 'apc-pdu', model: 'rPDU', plugs: 6, reportedOutlets: 8 })
    const err = await driver.plugs(call()).catch((e: FenceError) => e)
    expect(err).toMatchObject({ code: 'DEVICE_ERROR' })
    expect((err as FenceError).message).toMatch(/reports 8 outlets but lists 6/)
    await expect(driver.status(['7'], call())).rejects.toMatchObject({ code: 'NO_SUCH_PLUG' })
    await expect(driver.set('7', 'off', call())).rejects.toMatchObject({ code: 'NO_SUCH_PLUG' })
  })

  it('the read-only community may not switch: AUTH_REFUSED on v2c, a clear noSuchName on v1', async () => {
    for (const version of ['2c', '1']) {
      const dir = mkdtempSync(path.join(tmpdir(), 'fg-snmp-'))
      cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
      writeFileSync(path.join(dir, 'c'), 'public\n', { mode: 0o600 })
      const { driver, mock } = await rig(
        { kind: 'apc-pdu', model: 'rPDU', plugs: 2 },
        { version, communityFile: path.join(dir, 'c') },
      )
      expect((await driver.status(['1'], call())).get('1')).toBe('on')
      const err = await driver.set('1', 'off', call()).catch((e: FenceError) => e)
      expect(err).toBeInstanceOf(FenceError)
      expect((err as FenceError).transient).toBe(false)
      if (version === '2c') expect(err).toMatchObject({ code: 'AUTH_REFUSED' })
      else expect((err as FenceError).message).toMatch(/noSuchName.*community may not write/)
      expect(mock.sim.state('1')).toBe('on')
    }
  })

  it('v3 with a wrong key: no answer, reported unreachable with the likely cause; no secret in any message', async () => {
    const user = {
      name: 'fence',
      authProtocol: 'sha256',
      authKey: 'the-right-auth',
      privKey: 'the-right-priv',
    }
    const dir = mkdtempSync(path.join(tmpdir(), 'fg-snmp-'))
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    writeFileSync(path.join(dir, 'a'), 'a-wrong-auth-key\n', { mode: 0o600 })
    const { driver, logs } = await rig(
      { kind: 'apc-pdu', model: 'rPDU', plugs: 2, snmp: { users: [user] } },
      { authKeyFile: path.join(dir, 'a'), timeout: '200ms', retries: 1 },
    )
    const err = await driver.status(['1'], call()).catch((e: FenceError) => e)
    expect(err).toMatchObject({ code: 'DEVICE_UNREACHABLE' })
    expect((err as FenceError).message).toMatch(/no answer after 2 tries of 200ms.*v3 credentials/)
    const text = `${(err as FenceError).message} ${JSON.stringify((err as FenceError).details)} ${logs.join(' ')}`
    for (const secret of ['a-wrong-auth-key', 'the-right-auth', 'the-right-priv'])
      expect(text).not.toContain(secret)
  })

  it('v3 with an unknown user: the agent reports it, AUTH_REFUSED (permanent)', async () => {
    const user = { name: 'fence', authProtocol: 'sha', authKey: 'fence-auth-key', privKey: 'fence-priv-key' }
    const { driver } = await rig(
      { kind: 'apc-pdu', model: 'rPDU', plugs: 2, snmp: { users: [user] } },
      { user: 'mallory' },
    )
    const err = await driver.status(['1'], call()).catch((e: FenceError) => e)
    expect(err).toMatchObject({ code: 'AUTH_REFUSED' })
    expect((err as FenceError).message).toMatch(/Unknown User Name/)
  })

  it('a silent address: DEVICE_UNREACHABLE after timeout × tries (defaults 600 ms × 3), then a fresh session', async () => {
    const silent = dgram.createSocket('udp4')
    await new Promise<void>((r) => silent.bind(0, '127.0.0.1', () => r()))
    cleanups.push(() => new Promise<void>((r) => silent.close(() => r())))
    const dir = mkdtempSync(path.join(tmpdir(), 'fg-snmp-'))
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    writeFileSync(path.join(dir, 'c'), 'private\n', { mode: 0o600 })
    const { config } = apcSnmpDriver.validate({
      host: '127.0.0.1',
      port: silent.address().port,
      version: '2c',
      communityFile: path.join(dir, 'c'),
    })
    const driver = apcSnmpDriver.create(config, { deviceId: 'pdu9', readSecret, log: () => {} })
    cleanups.push(() => driver.close())
    const seen = new Set<number>()
    silent.on('message', (_m, rinfo) => seen.add(rinfo.port))
    const err = await driver.status(['1'], call(10_000)).catch((e: FenceError) => e)
    expect(err).toMatchObject({ code: 'DEVICE_UNREACHABLE' })
    expect((err as FenceError).transient).toBe(true)
    expect((err as FenceError).message).toMatch(
      /^pdu9 \(127\.0\.0\.1:\d+\): GET .*: no answer after 3 tries of 600ms/,
    )
    await driver.status(['1'], call(10_000)).catch(() => {})
    // the second call came from a new socket: a late answer to the first can never be taken for it
    expect(seen.size).toBe(2)
  })
})

describe('apc-snmp and wti-snmp config sections', () => {
  it('refuses secrets in the config text, DES, missing credentials, v3 fields on v1', () => {
    const msgs = (section: Record<string, unknown>) =>
      apcSnmpDriver.validate(section).problems.map((p) => `${p.path.join('.')}: ${p.message}`)
    expect(msgs({ host: 'pdu', community: 'private' }).join('\n')).toMatch(
      /community: secrets are not written/,
    )
    expect(msgs({ host: 'pdu' }).join('\n')).toMatch(/communityFile: required with version 1/)
    expect(msgs({ host: 'pdu', version: 3 }).join('\n')).toMatch(/user: required with version 3/)
    expect(
      msgs({
        host: 'pdu',
        version: 3,
        user: 'u',
        privProtocol: 'des',
        authKeyFile: '/a',
        privKeyFile: '/p',
      }).join('\n'),
    ).toMatch(/privProtocol: DES is refused/)
    expect(
      msgs({ host: 'pdu', version: 3, user: 'u', securityLevel: 'authPriv', authKeyFile: '/a' }).join('\n'),
    ).toMatch(/privKeyFile: required with securityLevel authPriv/)
    expect(msgs({ host: 'pdu', communityFile: '/c', user: 'u' }).join('\n')).toMatch(
      /user: only with version 3/,
    )
    expect(msgs({ host: 'pdu', communityFile: '/c', model: 'ePDU' }).join('\n')).toMatch(
      /model: expected one of auto/,
    )
    expect(msgs({ host: 'pdu', version: '2c', communityFile: '/c', timeout: '300ms', retries: 1 })).toEqual(
      [],
    )
    expect(wtiSnmpDriver.validate({ host: 'mpc', communityFile: '/c', mib: 2 }).problems[0]?.message).toMatch(
      /expected one of 1, 3/,
    )
  })

  it('wti-snmp: MIB 3 by default and needs groups; MIB 1 is unverified unless groupReadBack: trusted', () => {
    const msgs = (section: Record<string, unknown>) =>
      wtiSnmpDriver
        .validate({ host: 'mpc', communityFile: '/c', ...section })
        .problems.map((p) => `${p.path.join('.')}: ${p.message}`)
    const verifies = (section: Record<string, unknown>) => {
      const { config, problems } = wtiSnmpDriver.validate({ host: 'mpc', communityFile: '/c', ...section })
      expect(problems).toEqual([])
      return (wtiSnmpDriver.verifies as (c: unknown) => boolean)(config)
    }
    expect(msgs({}).join('\n')).toMatch(/^groups: required with mib: 3/)
    expect(msgs({ mib: 'auto', groups: { web1: [1] } }).join('\n')).toMatch(/^mib: auto is not accepted/)
    expect(msgs({ mib: 1, groups: { web1: [1] } })).toEqual([
      'groups: only with mib: 3 (MIB v1 has no per-plug table)',
    ])
    expect(msgs({ groups: { web1: [1] }, groupReadBack: 'trusted' }).join('\n')).toMatch(
      /^groupReadBack: only with mib: 1/,
    )
    expect(msgs({ groups: { web1: [], web2: ['a'], 0: [1], web3: 81 } })).toEqual([
      'groups.0: group numbers are 1 to 128',
      "groups.web1: expected plug numbers of the unit's plug table (0 to 80), got a list",
      "groups.web2: expected plug numbers of the unit's plug table (0 to 80), got a list",
      "groups.web3: expected plug numbers of the unit's plug table (0 to 80), got 81",
    ])
    expect(msgs({ mib: 1, groupReadBack: 'yes' }).join('\n')).toMatch(/expected one of unverified, trusted/)
    // a group number as the driver's plug ids give it
    const keyed = wtiSnmpDriver.validate({ host: 'mpc', communityFile: '/c', groups: { '02': [3], Web: 4 } })
    expect([...keyed.config.groups]).toEqual([
      ['2', [3]],
      ['Web', [4]],
    ])
    expect(verifies({ groups: { web1: [1, 2] } })).toBe(true)
    expect(verifies({ mib: 1 })).toBe(false)
    expect(verifies({ mib: 1, groupReadBack: 'unverified' })).toBe(false)
    expect(verifies({ mib: 1, groupReadBack: 'trusted' })).toBe(true)
  })

  it('check-config refuses a wti-snmp device on MIB v1 as a fencing level, unless trusted', () => {
    const problems = (device: Record<string, unknown>, node: Record<string, unknown> = {}) =>
      readConfig({
        journal: '/tmp/unused.jsonl',
        devices: { mpc: { driver: 'wti-snmp', host: 'mpc', communityFile: '/c', ...device } },
        nodes: { web1: { plugs: ['mpc:web1'], ...node } },
      }).problems.map((p) => `${p.path.join('.')}: ${p.message}`)
    expect(problems({ mib: 1 })).toEqual([
      expect.stringMatching(/^nodes\.web1\.plugs: device mpc \(wti-snmp\) cannot read its outlets back/),
    ])
    expect(problems({ mib: 1 }, { fence: false })).toEqual([])
    expect(problems({ mib: 1, groupReadBack: 'trusted' })).toEqual([])
    expect(problems({ groups: { web1: [1, 2] } })).toEqual([])
  })

  it('v3 without keys is refused unless securityLevel: noAuthNoPriv is written out, and then warned', () => {
    // it used to fall back to noAuthNoPriv silently: anyone on the network could switch the outlets
    for (const factory of [apcSnmpDriver, wtiSnmpDriver]) {
      const own = factory === wtiSnmpDriver ? { groups: { n1: [1] } } : {}
      const refused = factory.validate({ host: 'pdu', version: 3, user: 'u', ...own })
      expect(refused.problems.map((p) => `${p.path.join('.')}: ${p.message}`)).toEqual([
        'securityLevel: version 3 without keys has no authentication and no privacy: add authKeyFile: PATH and privKeyFile: PATH (authPriv), or write securityLevel: noAuthNoPriv to accept that anyone on the network can switch the outlets',
      ])
      const weak = factory.validate({
        host: 'pdu',
        version: 3,
        user: 'u',
        securityLevel: 'noAuthNoPriv',
        ...own,
      })
      expect(weak.problems).toEqual([])
      const logs: [string, string, Record<string, unknown> | undefined][] = []
      const driver = factory.create(weak.config as never, {
        deviceId: 'p',
        readSecret,
        log: (level, msg, fields) => logs.push([level, msg, fields]),
      })
      expect(logs).toContainEqual([
        'warn',
        'SNMPv3 securityLevel noAuthNoPriv: no authentication and no privacy, anyone on the network can switch the outlets',
        { device: 'p' },
      ])
      void driver.close()
    }
  })

  it('a v3 key shorter than 8 characters is a config error at the first call, naming the field only', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'fg-snmp-'))
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    writeFileSync(path.join(dir, 'a'), 'short\n', { mode: 0o600 })
    const { config, problems } = apcSnmpDriver.validate({
      host: '127.0.0.1',
      version: 3,
      user: 'u',
      authKeyFile: path.join(dir, 'a'),
    })
    expect(problems).toEqual([])
    const driver = apcSnmpDriver.create(config, { deviceId: 'p', readSecret, log: () => {} })
    const err = await driver.status(['1'], call()).catch((e: FenceError) => e)
    expect(err).toMatchObject({ code: 'CONFIG_INVALID' })
    expect((err as FenceError).message).toMatch(/p\.authKey: a USM key has at least 8 characters/)
    expect((err as FenceError).message).not.toContain('short')
  })
})

describe('wti-snmp: plug groups', () => {
  it('lists groups up to the first empty name and switches a two-plug group (MIB v3, and v1 trusted)', async () => {
    for (const mib of [1, 3]) {
      const { driver, mock } = await rig(
        { kind: 'wti-pdu', mib, plugs: 4, groups: { 'Node-A': [1], 'node-b': [2, 3] } },
        mib === 1 ? { groupReadBack: 'trusted' } : {},
      )
      expect(await driver.plugs(call())).toEqual([
        { id: '1', name: 'Node-A' },
        { id: '2', name: 'node-b' },
      ])
      await driver.set('node-b', 'off', call())
      expect([mock.sim.state('1'), mock.sim.state('2'), mock.sim.state('3')]).toEqual(['on', 'off', 'off'])
      // names compare without case, as the unit and cluster-glue do
      expect([...(await driver.status(['node-a', '2'], call()))]).toEqual([
        ['node-a', 'on'],
        ['2', 'off'],
      ])
    }
  })

  it('MIB v3: a two-plug group whose second plug ignores the off (a lie) reads on, never off', async () => {
    // the old driver read the group's action column: the mock's v3 answer is the last action
    // written (6), so it took this node for off while one of its power supplies was still on
    const { driver, mock } = await rig({ kind: 'wti-pdu', mib: 3, plugs: 4, groups: { n1: [1, 2] } })
    mock.sim.faults.add({ type: 'lie', plugs: ['2'], count: 1 })
    await driver.set('n1', 'off', call())
    expect([mock.sim.state('1'), mock.sim.state('2')]).toEqual(['off', 'on'])
    expect((await driver.status(['n1'], call())).get('n1')).toBe('on')
    // the next off is honoured: every plug reads off, so the group does
    await driver.set('n1', 'off', call())
    expect((await driver.status(['n1', '1'], call())).get('n1')).toBe('off')
  })

  it('MIB v3: a group is on while any plug is on (one plug switched by hand), off when all are', async () => {
    const { driver, mock } = await rig({ kind: 'wti-pdu', mib: 3, plugs: 4, groups: { n1: [1, 2] } })
    mock.sim.setPhysical('1', 'off')
    expect((await driver.status(['1'], call())).get('1')).toBe('on')
    mock.sim.setPhysical('2', 'off')
    expect((await driver.status(['1'], call())).get('1')).toBe('off')
    mock.sim.setPhysical('1', 'on')
    expect((await driver.status(['1'], call())).get('1')).toBe('on')
  })

  it('MIB v3: a group whose off is accepted but not yet applied (transition delay) reads on', async () => {
    const { driver, mock } = await rig({
      kind: 'wti-pdu',
      mib: 3,
      plugs: 4,
      transitionDelay: '1h',
      groups: { n1: [1, 2] },
    })
    await driver.set('n1', 'off', call())
    expect([mock.sim.outlet('1').pending?.action, mock.sim.outlet('2').pending?.action]).toEqual([
      'off',
      'off',
    ])
    expect((await driver.status(['n1'], call())).get('n1')).toBe('on')
  })

  it('MIB v3: plugs of groups listed by number go in the names GET; a group listed by name costs a second GET', async () => {
    const { driver, mock } = await rig(
      { kind: 'wti-pdu', mib: 3, plugs: 4, groups: { 'Node-A': [1], 'node-b': [2, 3] } },
      { groups: { '1': [1], 'NODE-B': [2, 3] } },
    )
    let before = requests(driver)
    expect((await driver.status(['1'], call())).get('1')).toBe('on')
    expect(requests(driver) - before).toBe(1)
    mock.sim.setPhysical('3', 'off')
    before = requests(driver)
    expect((await driver.status(['2'], call())).get('2')).toBe('on')
    expect(requests(driver) - before).toBe(2)
    mock.sim.setPhysical('2', 'off')
    expect((await driver.status(['2', '1'], call())).get('2')).toBe('off')
  })

  it('MIB v3: a group the config gives no plugs for, or a plug the unit lacks, is an error, not a state', async () => {
    const { driver } = await rig(
      { kind: 'wti-pdu', mib: 3, plugs: 4, groups: { a: [1], b: [2] } },
      { groups: { '1': [1, 9] } },
    )
    await expect(driver.status(['2'], call())).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringMatching(/plug group 2 \('b'\) has no plugs listed under groups:/),
    })
    await expect(driver.status(['1'], call())).rejects.toMatchObject({
      code: 'NO_SUCH_PLUG',
      message: expect.stringMatching(/no plug 9 in its plug table \(listed for group 1/),
    })
  })

  it('MIB v1: status reads unknown unless groupReadBack: trusted; trusted reads the action column', async () => {
    const lab = { kind: 'wti-pdu', mib: 1, plugs: 4, groups: { n1: [1, 2], n2: [3] } }
    const plain = await rig(lab)
    plain.mock.sim.setPhysical('3', 'off')
    expect([...(await plain.driver.status(['n1', 'n2'], call()))]).toEqual([
      ['n1', 'unknown'],
      ['n2', 'unknown'],
    ])
    // it still answers for its groups, and still switches them (operator power)
    await expect(plain.driver.status(['3'], call())).rejects.toMatchObject({ code: 'NO_SUCH_PLUG' })
    await plain.driver.set('n1', 'off', call())
    expect([plain.mock.sim.state('1'), plain.mock.sim.state('2')]).toEqual(['off', 'off'])
    expect(plain.logs.join('\n')).toMatch(/info WTI MIB v1: plug groups cannot be read back/)

    const trusted = await rig(lab, { groupReadBack: 'trusted' })
    trusted.mock.sim.setPhysical('3', 'off')
    expect((await trusted.driver.status(['n2'], call())).get('n2')).toBe('off')
    // the v1 mock answers 0 for a group whose plugs disagree: unknown, never off
    trusted.mock.sim.setPhysical('1', 'off')
    expect((await trusted.driver.status(['n1'], call())).get('n1')).toBe('unknown')
    expect(trusted.logs.join('\n')).toMatch(/warn groupReadBack: trusted on WTI MIB v1/)
  })

  it('an undefined group is NO_SUCH_PLUG and is never switched', async () => {
    const { driver, mock } = await rig({ kind: 'wti-pdu', plugs: 4, groups: { n1: [1, 2] } })
    await expect(driver.status(['2'], call())).rejects.toMatchObject({ code: 'NO_SUCH_PLUG' })
    await expect(driver.status(['200'], call())).rejects.toMatchObject({ code: 'NO_SUCH_PLUG' })
    await expect(driver.set('2', 'off', call())).rejects.toBeInstanceOf(FenceError)
    expect(mock.sim.commands).toEqual([])
  })

  it('groupState: on when any plug is on, off only when every plug is off, else unknown', () => {
    expect(groupState(['off', 'on'])).toBe('on')
    expect(groupState(['unknown', 'on'])).toBe('on')
    expect(groupState(['off', 'off'])).toBe('off')
    expect(groupState(['off', 'unknown'])).toBe('unknown')
    expect(groupState([])).toBe('unknown')
  })

  it('the mock factory pairs wti-pdu with wti-snmp and apc-pdu with apc-snmp', () => {
    expect(MOCKS.get('wti-pdu')?.driver).toBe('wti-snmp')
    expect(MOCKS.get('apc-pdu')?.driver).toBe('apc-snmp')
  })
})
