/**
 * The redfish driver on its own: sessions (re-login on 401, deleted on close), basic-auth
 * fallback and its refusal, certificate checks (pinned fingerprint, CA file, insecure), and bad
 * answers from a hostile or broken service: not JSON, truncated, oversized, wrong types, a
 * missing Reset action, an unknown PowerState, 5xx. Never a success it cannot prove.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import https from 'node:https'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { PowerDriver } from '../../../drivers/driver.js'
import { redfishDriver } from '../../../drivers/redfish/index.js'
import { readLab } from '../../../firmware-mocks/lab-file.js'
import { Lab } from '../../../firmware-mocks/lab.js'
import type { RedfishMock } from '../../../firmware-mocks/redfish/mock.js'
import { type SelfSigned, selfSigned } from '../../../firmware-mocks/self-signed.js'
import { readSecret } from '../../../src/config/secrets.js'
import { FenceError } from '../../../core/errors.js'
import { prng, randomBytes } from '../../helpers/fuzz.js'

/** Mutations of a valid body: bytes flipped, cut short, random bytes spliced in (seeded). */
function fuzzCases(valid: Buffer, n: number): Buffer[] {
  const rnd = prng(0x12ed)
  const out: Buffer[] = []
  for (let i = 0; i < n; i++) {
    const b = Buffer.from(valid)
    const k = i % 3
    if (k === 0)
      for (let j = 0; j < 1 + Math.floor(rnd() * 4); j++)
        b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256)
    if (k === 1) out.push(b.subarray(0, Math.floor(rnd() * b.length)))
    else if (k === 2) {
      const at = Math.floor(rnd() * b.length)
      out.push(
        Buffer.concat([b.subarray(0, at), randomBytes(rnd, 1 + Math.floor(rnd() * 8)), b.subarray(at)]),
      )
    } else out.push(b)
  }
  return out
}

const call = (ms = 5000) => ({ signal: AbortSignal.timeout(ms) })
let dir: string
const open: PowerDriver[] = []

function driver(full: Record<string, unknown>, logs: string[] = []): PowerDriver {
  const { driver: _kind, ...section } = full
  const { config, problems } = redfishDriver.validate(section)
  expect(problems).toEqual([])
  const d = redfishDriver.create(config, {
    deviceId: 'rf',
    readSecret,
    log: (level, msg) => logs.push(`${level} ${msg}`),
  })
  open.push(d)
  return d
}

function passwordFile(pw: string): string {
  const f = path.join(dir, `pw-${Math.random().toString(36).slice(2)}`)
  writeFileSync(f, pw, { mode: 0o600 })
  chmodSync(f, 0o600)
  return f
}

async function startLab(section: Record<string, unknown>): Promise<{ lab: Lab; mock: RedfishMock }> {
  const { lab: spec, problems } = readLab({
    devices: { rf: { kind: 'redfish', listen: '127.0.0.1:0', ...section } },
  })
  expect(problems).toEqual([])
  const lab = await Lab.start(spec)
  return { lab, mock: lab.device('rf') as RedfishMock }
}

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'fencegate-rf-driver-'))
})
afterEach(async () => {
  await Promise.all(open.splice(0).map((d) => d.close()))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('redfish driver against the iDRAC mock', () => {
  let lab: Lab
  let mock: RedfishMock
  let base: Record<string, unknown>
  beforeAll(async () => {
    ;({ lab, mock } = await startLab({
      users: [
        { name: 'fence', password: 'op-pass-1', role: 'Operator' },
        { name: 'viewer', password: 'ro-pass-1', role: 'ReadOnly' },
      ],
    }))
    const { driver: _k, ...sec } = lab.driverSections().rf!
    base = sec
  })
  afterAll(async () => lab.stop())

  it('logs in once, reuses the session (X-Auth-Token) across calls, deletes it on close', async () => {
    const d = driver(base)
    const from = mock.records.length
    await d.status(['system'], call())
    await d.status(['system'], call())
    const recs = mock.records.slice(from)
    expect(recs.filter((r) => r.method === 'POST' && r.path.endsWith('/Sessions'))).toHaveLength(1)
    expect(recs.filter((r) => r.path.includes('/Systems/')).every((r) => r.auth === 'token')).toBe(true)
    expect(mock.sessions.size).toBe(1)
    await d.close()
    expect(mock.sessions.size).toBe(0)
  })

  it('logs in again when the session is gone (401), once', async () => {
    const d = driver(base)
    await d.status(['system'], call())
    mock.sessions.clear() // the BMC restarted or expired the session
    const from = mock.records.length
    mock.sim.setPhysical('system', 'off')
    expect((await d.status(['system'], call())).get('system')).toBe('off')
    const recs = mock.records.slice(from).map((r) => `${r.method} ${r.status}`)
    expect(recs).toEqual(['GET 401', 'POST 201', 'GET 200'])
  })

  it('a wrong password is AUTH_REFUSED (permanent) and names the user, never the password', async () => {
    const d = driver({ ...base, passwordFile: passwordFile('wrong-pw-xyz') })
    const err = await d.status(['system'], call()).catch((e) => e)
    expect(err).toBeInstanceOf(FenceError)
    expect(err.code).toBe('AUTH_REFUSED')
    expect(err.transient).toBe(false)
    expect(err.message).toContain('fence')
    expect(err.message).not.toContain('wrong-pw-xyz')
  })

  it('a ReadOnly user reads the state, and its ForceOff is AUTH_REFUSED with the machine still on', async () => {
    mock.sim.setPhysical('system', 'on')
    const d = driver({ ...base, user: 'viewer', passwordFile: passwordFile('ro-pass-1') })
    expect((await d.status(['system'], call())).get('system')).toBe('on')
    await expect(d.set('system', 'off', call())).rejects.toMatchObject({ code: 'AUTH_REFUSED' })
    expect(mock.sim.state('system')).toBe('on')
  })

  it('off sends ForceOff, on sends On, never GracefulShutdown; an operator cycle sends PowerCycle', async () => {
    // the driver does the device's own cycle when asked (the engine decides on deviceCycle)
    const d = driver(base)
    const from = mock.records.length
    mock.sim.setPhysical('system', 'on')
    await d.set('system', 'off', call())
    mock.sim.setPhysical('system', 'off')
    await d.set('system', 'on', call())
    mock.sim.setPhysical('system', 'on')
    await d.set('system', 'cycle', call())
    expect(mock.records.slice(from).flatMap((r) => (r.resetType ? [r.resetType] : []))).toEqual([
      'ForceOff',
      'On',
      'PowerCycle',
    ])
  })

  it('the 409 iDRAC gives for an off of an off machine is not an error (the engine reads back)', async () => {
    mock.sim.setPhysical('system', 'off')
    const d = driver(base)
    const from = mock.records.length
    await d.set('system', 'off', call())
    expect(mock.records.slice(from).find((r) => r.resetType)?.status).toBe(409)
    expect((await d.status(['system'], call())).get('system')).toBe('off')
  })

  it('PoweringOff reads on and PoweringOn unknown: neither is off', async () => {
    mock.sim.setPhysical('system', 'on')
    mock.sim.transitionDelayMs = 60_000
    try {
      const d = driver(base)
      await d.set('system', 'off', call())
      expect((await d.status(['system'], call())).get('system')).toBe('on')
      mock.sim.setPhysical('system', 'off')
      await d.set('system', 'on', call())
      expect((await d.status(['system'], call())).get('system')).toBe('unknown')
    } finally {
      mock.sim.transitionDelayMs = 0
      mock.sim.cancelPending('system')
    }
  })

  it('a certificate whose fingerprint is not the pinned one is INSECURE_DEVICE, before any credential', async () => {
    const d = driver({ ...base, fingerprint: 'ab'.repeat(32) })
    const from = mock.records.length
    const err = await d.status(['system'], call()).catch((e) => e)
    expect(err).toMatchObject({ code: 'INSECURE_DEVICE' })
    expect(err.message).toMatch(/fingerprint/)
    expect(mock.records.length).toBe(from) // no request reached the service
  })

  it('the system CAs do not know the self-signed certificate: INSECURE_DEVICE; the certificate as caFile verifies', async () => {
    const { fingerprint: _f, ...noPin } = base
    const err = await driver(noPin)
      .status(['system'], call())
      .catch((e) => e)
    expect(err).toMatchObject({ code: 'INSECURE_DEVICE' })
    const ca = path.join(dir, 'idrac-ca.pem')
    writeFileSync(ca, mock.certificate)
    expect((await driver({ ...noPin, caFile: ca }).status(['system'], call())).size).toBe(1)
  })

  it('insecure: true works and is warned about', async () => {
    const { fingerprint: _f, ...noPin } = base
    const logs: string[] = []
    const d = driver({ ...noPin, insecure: true }, logs)
    expect((await d.status(['system'], call())).size).toBe(1)
    expect(logs.some((l) => l.startsWith('warn') && /insecure/.test(l))).toBe(true)
  })

  it('config: insecure must be written out as true, and only one of caFile, fingerprint, insecure', () => {
    expect(redfishDriver.validate({ ...base, insecure: 'yes' }).problems.map((p) => p.path[0])).toContain(
      'insecure',
    )
    expect(redfishDriver.validate({ ...base, insecure: true }).problems.map((p) => p.path[0])).toContain(
      'insecure',
    )
    expect(redfishDriver.validate({ ...base, fingerprint: 'zz' }).problems.map((p) => p.path[0])).toContain(
      'fingerprint',
    )
    expect(redfishDriver.validate({ ...base, password: 'x' }).problems.map((p) => p.path[0])).toContain(
      'password',
    )
  })

  it('nothing listening: DEVICE_UNREACHABLE (transient)', async () => {
    const d = driver({ ...base, port: 1 })
    const err = await d.status(['system'], call()).catch((e) => e)
    expect(err).toMatchObject({ code: 'DEVICE_UNREACHABLE' })
    expect(err.transient).toBe(true)
  })

  it('a TLS handshake that never completes (stall) is DEVICE_UNREACHABLE within unreachableTimeout', async () => {
    mock.sim.faults.add({ type: 'stall' })
    try {
      const d = driver({ ...base, unreachableTimeout: '300ms' })
      const err = await d.status(['system'], call(10_000)).catch((e) => e)
      expect(err).toMatchObject({ code: 'DEVICE_UNREACHABLE' })
      expect(err.message).toMatch(/handshake/)
    } finally {
      mock.sim.faults.clear()
    }
  })
})

describe('redfish driver: service variants', () => {
  it('no session service: basic auth with basicAuth: fallback, AUTH_REFUSED with never', async () => {
    const { lab, mock } = await startLab({ sessionService: false })
    try {
      const base = lab.driverSections().rf!
      mock.sim.setPhysical('system', 'off')
      expect((await driver(base).status(['system'], call())).get('system')).toBe('off')
      expect(mock.records.at(-1)!.auth).toBe('basic')
      await expect(driver({ ...base, basicAuth: 'never' }).status(['system'], call())).rejects.toMatchObject({
        code: 'AUTH_REFUSED',
      })
    } finally {
      await lab.stop()
    }
  })

  it('a system that does not advertise ForceOff: UNSUPPORTED_ACTION, never a graceful shutdown', async () => {
    const { lab, mock } = await startLab({ resetTypes: ['On', 'GracefulShutdown', 'GracefulRestart'] })
    try {
      const err = await driver(lab.driverSections().rf!)
        .set('system', 'off', call())
        .catch((e) => e)
      expect(err).toMatchObject({ code: 'UNSUPPORTED_ACTION' })
      expect(mock.records.some((r) => r.resetType)).toBe(false)
    } finally {
      await lab.stop()
    }
  })

  it('several systems: a config error unless systemPath chooses one', async () => {
    const { lab, mock } = await startLab({ systems: 3 })
    try {
      const { systemPath: _s, ...section } = lab.driverSections().rf!
      await expect(driver(section).plugs(call())).rejects.toMatchObject({ code: 'CONFIG_INVALID' })
      mock.sim.setPhysical('System.Embedded.2', 'off')
      const d = driver({ ...section, systemPath: mock.systemPath(2) })
      expect((await d.status(['system'], call())).get('system')).toBe('off')
    } finally {
      await lab.stop()
    }
  })
})

/** A hostile or broken "BMC": answers what the test says, over HTTPS. */
describe('redfish driver: bad answers', () => {
  let cert: SelfSigned
  let server: https.Server
  let reply: (path: string, res: import('node:http').ServerResponse) => void
  let section: Record<string, unknown>
  const SYS = '/redfish/v1/Systems/System.Embedded.1'
  const system = (extra: Record<string, unknown>) => ({
    '@odata.id': SYS,
    PowerState: 'On',
    Actions: {
      '#ComputerSystem.Reset': {
        target: `${SYS}/Actions/ComputerSystem.Reset`,
        'ResetType@Redfish.AllowableValues': ['On', 'ForceOff'],
      },
    },
    ...extra,
  })
  const json = (res: import('node:http').ServerResponse, status: number, body: unknown, headers = {}) => {
    const b = Buffer.from(JSON.stringify(body))
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': b.length, ...headers })
    res.end(b)
  }
  const normal = (p: string, res: import('node:http').ServerResponse): boolean => {
    if (p === '/redfish/v1/SessionService/Sessions') {
      json(res, 201, {}, { 'x-auth-token': 'tok', location: '/redfish/v1/SessionService/Sessions/1' })
      return true
    }
    if (p === '/redfish/v1') {
      json(res, 200, { Systems: { '@odata.id': '/redfish/v1/Systems' } })
      return true
    }
    if (p === '/redfish/v1/Systems') {
      json(res, 200, { Members: [{ '@odata.id': SYS }] })
      return true
    }
    return false
  }

  beforeAll(async () => {
    cert = await selfSigned('bad-bmc')
    server = https.createServer({ key: cert.key, cert: cert.cert }, (req, res) => {
      req.resume()
      req.on('end', () => {
        const p = (req.url ?? '/').split('?')[0]!
        if (!normal(p, res)) reply(p, res)
      })
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
    section = {
      host: '127.0.0.1',
      port: (server.address() as AddressInfo).port,
      user: 'fence',
      passwordFile: passwordFile('pw'),
      fingerprint: cert.fingerprint,
      requestTimeout: '1s',
      maxBodyBytes: 8192,
    }
  })
  afterAll(() => {
    server.closeAllConnections()
    server.close()
  })

  const cases: [string, (res: import('node:http').ServerResponse) => void, string][] = [
    [
      'not JSON',
      (res) => {
        res.writeHead(200, { 'content-type': 'text/html' })
        res.end('<html>iDRAC is restarting</html>')
      },
      'PROTOCOL_ERROR',
    ],
    [
      'truncated (shorter than Content-Length)',
      (res) => {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': 500 })
        res.end('{"PowerState": "Of')
        res.socket?.destroy()
      },
      'PROTOCOL_ERROR|CONNECTION_LOST',
    ],
    [
      'oversized (beyond maxBodyBytes)',
      (res) => json(res, 200, system({ Padding: 'x'.repeat(100_000) })),
      'PROTOCOL_ERROR',
    ],
    ['PowerState a number', (res) => json(res, 200, system({ PowerState: 1 })), 'PROTOCOL_ERROR'],
    ['PowerState missing', (res) => json(res, 200, system({ PowerState: undefined })), 'PROTOCOL_ERROR'],
    ['PowerState unknown', (res) => json(res, 200, system({ PowerState: 'Standby' })), 'PROTOCOL_ERROR'],
    ['a JSON array', (res) => json(res, 200, [1, 2]), 'PROTOCOL_ERROR'],
    [
      '503 with Retry-After',
      (res) => json(res, 503, { error: { message: 'busy' } }, { 'retry-after': '1' }),
      'DEVICE_BUSY',
    ],
    ['500 with an HTML page', (res) => res.writeHead(500).end('<h1>oops</h1>'), 'DEVICE_BUSY'],
    ['404 for the system', (res) => json(res, 404, {}), 'DEVICE_ERROR'],
  ]
  for (const [what, answer, codes] of cases)
    it(`status: ${what} → ${codes}`, async () => {
      reply = (_p, res) => answer(res)
      const err = await driver(section)
        .status(['system'], call())
        .catch((e) => e)
      expect(err).toBeInstanceOf(FenceError)
      expect(codes.split('|')).toContain(err.code)
      expect(err.message.length).toBeGreaterThan(10)
    })

  it('set: a system without the Reset action is UNSUPPORTED_ACTION; with a non-string target too', async () => {
    reply = (_p, res) => json(res, 200, system({ Actions: {} }))
    await expect(driver(section).set('system', 'off', call())).rejects.toMatchObject({
      code: 'UNSUPPORTED_ACTION',
    })
    reply = (_p, res) => json(res, 200, system({ Actions: { '#ComputerSystem.Reset': { target: 7 } } }))
    await expect(driver(section).set('system', 'off', call())).rejects.toMatchObject({
      code: 'UNSUPPORTED_ACTION',
    })
  })

  it('set: a Reset target on another host is refused (PROTOCOL_ERROR), nothing posted there', async () => {
    reply = (_p, res) =>
      json(res, 200, system({ Actions: { '#ComputerSystem.Reset': { target: 'https://evil.example/x' } } }))
    await expect(driver(section).set('system', 'off', call())).rejects.toMatchObject({
      code: 'PROTOCOL_ERROR',
    })
  })

  it('set: a 500 from the Reset POST is an error, never a success', async () => {
    reply = (p, res) => (p.endsWith('ComputerSystem.Reset') ? json(res, 500, {}) : json(res, 200, system({})))
    await expect(driver(section).set('system', 'off', call())).rejects.toMatchObject({ code: 'DEVICE_BUSY' })
  })

  it('fuzzed system bodies: status is on, off, unknown or a typed error, never a crash', async () => {
    for (const body of fuzzCases(Buffer.from(JSON.stringify(system({}))), 60)) {
      reply = (_p, res) => {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length })
        res.end(body)
      }
      const r = await driver(section)
        .status(['system'], call())
        .then(
          (m) => m.get('system'),
          (e) => e,
        )
      if (typeof r === 'string') expect(['on', 'off', 'unknown']).toContain(r)
      else expect(r).toBeInstanceOf(FenceError)
      await Promise.all(open.splice(0).map((d) => d.close()))
    }
  })
})
