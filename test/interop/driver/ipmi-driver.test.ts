/**
 * The ipmi driver against the mock BMC: every call a full RMCP+ session over real UDP sockets
 * on loopback. (The mock itself is judged by ipmitool and fence_ipmilan in ipmi-ipmitool.)
 */
import dgram from 'node:dgram'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { inspect } from 'node:util'
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import type { BmcMock } from '../../../firmware-mocks/bmc/mock.js'
import { startBmc } from '../../../firmware-mocks/bmc/standalone.js'
import { createDriver, readDeviceSection } from '../../../drivers/registry.js'
import { ipmiDriver } from '../../../drivers/ipmi/index.js'
import type { IpmiDriver } from '../../../drivers/ipmi/driver.js'
import { readSecret } from '../../../src/config/secrets.js'
import { FenceError } from '../../../core/errors.js'
import { encodeResponse, encodeV2Protected, responseTo } from '../../../protocols/ipmi/index.js'

const dir = mkdtempSync(path.join(tmpdir(), 'fencegate-ipmi-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const USERS = [
  { name: 'admin', password: 'Adm1n-pass-word', privilege: 'administrator' },
  { name: 'oper', password: 'Op3rator-pass', privilege: 'operator' },
  { name: 'viewer', password: 'V1ewer-pass', privilege: 'user' },
]

interface Made {
  driver: IpmiDriver
  logs: string[]
}

let n = 0
function makeDriver(
  bmc: { address: { host: string; port: number } },
  over: Record<string, unknown> = {},
  password = 'Op3rator-pass',
): Made {
  const passwordFile = path.join(dir, `pw${n++}`)
  writeFileSync(passwordFile, password, { mode: 0o600 })
  const { config, problems } = readDeviceSection({
    driver: 'ipmi',
    host: bmc.address.host,
    port: bmc.address.port,
    user: 'oper',
    passwordFile,
    requestTimeout: '1s',
    ...over,
  })
  expect(problems).toEqual([])
  const logs: string[] = []
  const driver = createDriver(
    { kind: 'ipmi', config },
    {
      deviceId: 'bmc1',
      readSecret,
      log: (level, msg, fields) => logs.push(`${level} ${msg} ${JSON.stringify(fields ?? {})}`),
    },
  ) as IpmiDriver
  return { driver, logs }
}

const call = () => ({ signal: new AbortController().signal })

async function failure(p: Promise<unknown>): Promise<FenceError> {
  try {
    await p
  } catch (e) {
    expect(e).toBeInstanceOf(FenceError)
    return e as FenceError
  }
  throw new Error('expected the call to fail')
}

describe.each([17, 3])('ipmi driver, cipher suite %i, against the mock BMC', (suite) => {
  let bmc: BmcMock
  let d: Made
  beforeAll(async () => {
    bmc = await startBmc({ users: USERS })
    bmc.sim.cycleOffMs = 50
    d = makeDriver(bmc, { cipherSuite: suite, deviceCycle: true })
  })
  afterAll(async () => {
    await d.driver.close()
    await bmc.stop()
  })
  beforeEach(() => {
    bmc.sim.faults.clear()
    bmc.sim.setPhysical('chassis', 'on')
  })

  it('discovers one plug, chassis, and reads it', async () => {
    expect(await d.driver.plugs(call())).toEqual([{ id: 'chassis', name: 'chassis' }])
    expect(await d.driver.status(['chassis'], call())).toEqual(new Map([['chassis', 'on']]))
    const opens = bmc.records.filter((r) => r.kind === 'open')
    expect(opens.every((r) => r.suite === suite)).toBe(true)
  })

  it('switches off and on, each read back', async () => {
    await d.driver.set('chassis', 'off', call())
    expect(bmc.sim.state('chassis')).toBe('off')
    expect((await d.driver.status(['chassis'], call())).get('chassis')).toBe('off')
    await d.driver.set('chassis', 'on', call())
    expect((await d.driver.status(['chassis'], call())).get('chassis')).toBe('on')
  })

  it('closes every session after use', async () => {
    await d.driver.status(['chassis'], call())
    expect(bmc.sessions.size).toBe(0)
    expect(bmc.records.at(-1)).toMatchObject({ cmd: 0x3c, status: 0 })
  })

  it('cycles with the device cycle; a cycle of a chassis that is off powers it on', async () => {
    const before = bmc.controls.length
    await d.driver.set('chassis', 'cycle', call())
    bmc.sim.setPhysical('chassis', 'off')
    await d.driver.set('chassis', 'cycle', call())
    expect(bmc.sim.state('chassis')).toBe('on')
    expect(bmc.controls.slice(before).map((c) => c.action)).toEqual(['cycle', 'up'])
  })

  it('hard reset and soft shutdown are there for operators', async () => {
    const before = bmc.controls.length
    await d.driver.chassisControl('reset', call())
    await d.driver.chassisControl('soft', call())
    expect(bmc.controls.slice(before).map((c) => [c.action, c.cc])).toEqual([
      ['reset', 0],
      ['soft', 0],
    ])
  })
})

describe('ipmi driver: refusals and typed errors', () => {
  let bmc: BmcMock
  beforeAll(async () => {
    bmc = await startBmc({ users: USERS })
  })
  afterAll(async () => {
    await bmc.stop()
  })

  it('a BMC has one plug', async () => {
    const { driver } = makeDriver(bmc)
    expect((await failure(driver.status(['chassis', '2'], call()))).code).toBe('NO_SUCH_PLUG')
  })

  it('a wrong password is AUTH_REFUSED, and the password never shows', async () => {
    const secret = 'Wr0ng-but-secret'
    const { driver, logs } = makeDriver(bmc, {}, secret)
    const e = await failure(driver.status(['chassis'], call()))
    expect(e.code).toBe('AUTH_REFUSED')
    expect(e.message).toMatch(/RAKP2 HMAC is invalid/)
    const everything = [
      e.message,
      JSON.stringify(e.details ?? {}),
      ...logs,
      inspect(driver, { depth: 5 }),
      JSON.stringify(driver),
    ]
    for (const text of everything) expect(text).not.toContain(secret)
    // our RAKP3 with status 0x0F told the BMC to drop the half-open session
    await vi.waitFor(() => expect(bmc.sessions.size).toBe(0))
  })

  it('an unknown user and a user without operator privilege are AUTH_REFUSED', async () => {
    let e = await failure(makeDriver(bmc, { user: 'nobody' }).driver.status(['chassis'], call()))
    expect(e.code).toBe('AUTH_REFUSED')
    expect(e.message).toMatch(/does not know user nobody/)
    e = await failure(makeDriver(bmc, { user: 'viewer' }, 'V1ewer-pass').driver.status(['chassis'], call()))
    expect(e.code).toBe('AUTH_REFUSED')
    expect(e.message).toMatch(/may not have operator privilege/)
  })

  it('administrator privilege when asked for', async () => {
    const { driver } = makeDriver(bmc, { user: 'admin', privilege: 'administrator' }, 'Adm1n-pass-word')
    expect((await driver.status(['chassis'], call())).get('chassis')).toBe('on')
  })

  it('completion codes become typed errors: 0xC0 busy is transient, 0xD6 and 0xC1 are not', async () => {
    const { driver } = makeDriver(bmc)
    const cases: [number, number, number, string, () => Promise<unknown>][] = [
      [0x00, 0x01, 0xc0, 'DEVICE_BUSY', () => driver.status(['chassis'], call())],
      [0x00, 0x02, 0xd6, 'UNSUPPORTED_ACTION', () => driver.set('chassis', 'off', call())],
      [0x00, 0x02, 0xc1, 'UNSUPPORTED_ACTION', () => driver.set('chassis', 'on', call())],
      [0x00, 0x02, 0xff, 'DEVICE_ERROR', () => driver.set('chassis', 'on', call())],
    ]
    try {
      for (const [netFn, cmd, cc, code, run] of cases) {
        // the BMC answers this command with `cc`, properly authenticated and encrypted
        bmc.tamper = (o) => {
          if (o.kind !== 'session' || o.request?.netFn !== netFn || o.request.cmd !== cmd) return undefined
          const s = o.session!
          return [
            encodeV2Protected(
              s.keys!,
              { payloadType: 0, sessionId: s.consoleSid, seq: bmc.sessions.nextOut(s) },
              encodeResponse(responseTo(o.request, cc)),
            ),
          ]
        }
        const e = await failure(run())
        expect(e.code, `cc 0x${cc.toString(16)}`).toBe(code)
        expect(e.details).toMatchObject({ completionCode: cc })
      }
    } finally {
      bmc.tamper = undefined
    }
  })

  it('a full session table is DEVICE_BUSY (transient)', async () => {
    const small = await startBmc({ users: USERS, maxSessions: 1 })
    try {
      // one half-open session from someone else fills the table
      small.sessions.open(
        { tag: 0, maxPriv: 0, consoleSid: 7, auth: 3, integrity: 4, confidentiality: 1 },
        '127.0.0.1:1',
      )
      const e = await failure(makeDriver(small).driver.status(['chassis'], call()))
      expect(e.code).toBe('DEVICE_BUSY')
      expect(e.transient).toBe(true)
    } finally {
      await small.stop()
    }
  })

  it('Kg: works with the right key, refused without it or with a wrong one', async () => {
    const kg = '00112233445566778899aabbccddeeff01020304'
    const keyed = await startBmc({ users: USERS, kg })
    try {
      const kgFile = path.join(dir, 'kg')
      writeFileSync(kgFile, kg, { mode: 0o600 })
      expect((await makeDriver(keyed, { kgFile }).driver.status(['chassis'], call())).get('chassis')).toBe(
        'on',
      )
      let e = await failure(makeDriver(keyed).driver.status(['chassis'], call()))
      expect(e.code).toBe('AUTH_REFUSED')
      expect(e.message).toMatch(/Kg/)
      const wrong = path.join(dir, 'kg-wrong')
      writeFileSync(wrong, 'ff'.repeat(20), { mode: 0o600 })
      e = await failure(makeDriver(keyed, { kgFile: wrong }).driver.status(['chassis'], call()))
      expect(e.code).toBe('AUTH_REFUSED')
      expect(e.message).toMatch(/RAKP4/)
    } finally {
      await keyed.stop()
    }
  })
})

describe('ipmi driver: reachability', () => {
  it('a BMC that answers nothing at all is DEVICE_UNREACHABLE, after retransmissions', async () => {
    const silent = dgram.createSocket('udp4')
    let received = 0
    silent.on('message', () => received++)
    await new Promise<void>((r) => silent.bind(0, '127.0.0.1', () => r()))
    try {
      const { driver } = makeDriver({ address: { host: '127.0.0.1', port: silent.address().port } })
      const e = await failure(driver.status(['chassis'], call()))
      expect(e.code).toBe('DEVICE_UNREACHABLE')
      expect(e.message).toMatch(/no answer at all/)
      expect(received).toBeGreaterThan(1)
    } finally {
      silent.close()
    }
  })

  it('nobody listening on the port (ICMP unreachable) is DEVICE_UNREACHABLE at once', async () => {
    const probe = dgram.createSocket('udp4')
    await new Promise<void>((r) => probe.bind(0, '127.0.0.1', () => r()))
    const port = probe.address().port
    await new Promise<void>((r) => probe.close(() => r()))
    const e = await failure(
      makeDriver({ address: { host: '127.0.0.1', port } }).driver.status(['chassis'], call()),
    )
    expect(e.code).toBe('DEVICE_UNREACHABLE')
    expect(e.message).toMatch(/port unreachable/)
  })

  it('a BMC that answers slowly is not unreachable: late answers to earlier copies count', async () => {
    const bmc = await startBmc({ users: USERS })
    try {
      bmc.sim.faults.add({ type: 'delay', ms: 300 })
      const { driver } = makeDriver(bmc, { retransmit: '100ms', requestTimeout: '3s' })
      expect((await driver.status(['chassis'], call())).get('chassis')).toBe('on')
    } finally {
      await bmc.stop()
    }
  })

  it('an aborted call rejects with the abort and leaves no session behind for long', async () => {
    const bmc = await startBmc({ users: USERS })
    try {
      bmc.sim.faults.add({ type: 'drop', count: 100 })
      const { driver } = makeDriver(bmc)
      const ac = new AbortController()
      const p = driver.status(['chassis'], { signal: ac.signal })
      setTimeout(() => ac.abort(), 50)
      expect((await failure(p)).code).toBe('ABORTED')
    } finally {
      await bmc.stop()
    }
  })
})

describe('ipmi driver config', () => {
  it('refuses weak cipher suites, IPMI v1.5, plain passwords and empty users', () => {
    const { problems } = ipmiDriver.validate({
      host: 'h',
      user: '',
      password: 'x',
      cipherSuite: 0,
      lanplus: false,
    })
    const msgs = problems.map((p) => `${p.path.join('.')}: ${p.message}`).join('\n')
    expect(msgs).toMatch(/cipherSuite: expected 17 or 3/)
    expect(msgs).toMatch(/password: secrets are not written in the config/)
    expect(msgs).toMatch(/lanplus: IPMI v1.5 sessions are refused/)
    expect(msgs).toMatch(/user: IPMI user names are 1 to 16 bytes/)
    for (const s of [1, 2, 4, 8, 12, 15, 16])
      expect(
        ipmiDriver.validate({ host: 'h', user: 'u', passwordEnv: 'P', cipherSuite: s }).problems,
      ).toHaveLength(1)
    expect(ipmiDriver.validate({ host: 'h', user: 'u', passwordEnv: 'P' }).problems).toEqual([])
    expect(ipmiDriver.singlePlug).toBe('chassis')
  })
})
