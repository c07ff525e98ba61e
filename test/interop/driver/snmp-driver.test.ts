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
import { FenceError } from '../../../src/core/errors.js'
import { FENCER, startTestGateway } from '../../helpers/gateway.js'

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

  it('the device cycle needs deviceCycle: true, and is refused before any request', async () => {
    const { driver, mock } = await rig({ kind: 'apc-pdu', model: 'rPDU', plugs: 2 })
    await expect(driver.set('1', 'cycle', call())).rejects.toMatchObject({ code: 'UNSUPPORTED_ACTION' })
    expect(requests(driver)).toBe(0)
    expect(mock.sim.commands).toEqual([])
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
      /expected one of auto, 1, 3/,
    )
  })

  it('v3 without keys is refused unless securityLevel: noAuthNoPriv is written out, and then warned', () => {
    // it used to fall back to noAuthNoPriv silently: anyone on the network could switch the outlets
    for (const factory of [apcSnmpDriver, wtiSnmpDriver]) {
      const refused = factory.validate({ host: 'pdu', version: 3, user: 'u' })
      expect(refused.problems.map((p) => `${p.path.join('.')}: ${p.message}`)).toEqual([
        'securityLevel: version 3 without keys has no authentication and no privacy: add authKeyFile: PATH and privKeyFile: PATH (authPriv), or write securityLevel: noAuthNoPriv to accept that anyone on the network can switch the outlets',
      ])
      const weak = factory.validate({ host: 'pdu', version: 3, user: 'u', securityLevel: 'noAuthNoPriv' })
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
  it('finds the MIB version by itself, lists groups up to the first empty name, switches a two-plug group', async () => {
    for (const mib of [1, 3]) {
      const { driver, mock } = await rig(
        { kind: 'wti-pdu', mib, plugs: 4, groups: { 'Node-A': [1], 'node-b': [2, 3] } },
        { mib: 'auto' },
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

  it('a group whose plugs disagree reads unknown, never off; an undefined group is NO_SUCH_PLUG', async () => {
    const { driver, mock } = await rig({ kind: 'wti-pdu', plugs: 4, groups: { n1: [1, 2] } })
    mock.sim.setPhysical('1', 'off')
    expect((await driver.status(['1'], call())).get('1')).toBe('unknown')
    await expect(driver.status(['2'], call())).rejects.toMatchObject({ code: 'NO_SUCH_PLUG' })
    await expect(driver.status(['200'], call())).rejects.toMatchObject({ code: 'NO_SUCH_PLUG' })
    await expect(driver.set('2', 'off', call())).rejects.toBeInstanceOf(FenceError)
    expect(mock.sim.commands).toEqual([])
  })

  it('the mock factory pairs wti-pdu with wti-snmp and apc-pdu with apc-snmp', () => {
    expect(MOCKS.get('wti-pdu')?.driver).toBe('wti-snmp')
    expect(MOCKS.get('apc-pdu')?.driver).toBe('apc-snmp')
  })
})
