/**
 * The drac-ssh driver on its own: one SSH session reused across calls and re-opened after a
 * failure, password and key login (the key file's mode checked), the host key pinned (a
 * mismatch is permanent and sends no credential), racadm error lines, and the racadm answer
 * parser under seeded fuzzing.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import ssh2 from 'ssh2'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { dracSshDriver } from '../../../drivers/drac-ssh/index.js'
import type { PowerDriver } from '../../../drivers/driver.js'
import type { DracSshMock } from '../../../firmware-mocks/drac-ssh/mock.js'
import { readLab } from '../../../firmware-mocks/lab-file.js'
import { Lab } from '../../../firmware-mocks/lab.js'
import { errorLine, parseModules, parseServerAction, parseStatus } from '../../../protocols/racadm.js'
import { readSecret } from '../../../src/config/secrets.js'
import { FenceError } from '../../../core/errors.js'
import { prng, randomBytes } from '../../helpers/fuzz.js'

const call = (ms = 5000) => ({ signal: AbortSignal.timeout(ms) })
/** An ed25519 pair ssh2 can read back: its generator now and then (~0.5%) emits a public key its parser refuses. */
function readableKeyPair(): { private: string; public: string } {
  for (;;) {
    const k = ssh2.utils.generateKeyPairSync('ed25519')
    if (
      !(ssh2.utils.parseKey(k.public) instanceof Error) &&
      !(ssh2.utils.parseKey(k.private) instanceof Error)
    )
      return k
  }
}
const keys = readableKeyPair()
let dir: string
let lab: Lab
let drac5: DracSshMock
let cmc: DracSshMock
const open: PowerDriver[] = []

function secretFile(name: string, value: string, mode = 0o600): string {
  const f = path.join(dir, name)
  writeFileSync(f, value, { mode })
  chmodSync(f, mode)
  return f
}

function driver(mock: DracSshMock, extra: Record<string, unknown> = {}, logs: string[] = []): PowerDriver {
  const section: Record<string, unknown> = {
    host: '127.0.0.1',
    port: mock.address.port,
    user: 'fence',
    passwordFile: secretFile('pw', 'fence-pw-1'),
    hostKey: mock.hostKeyFingerprint,
    loginTimeout: '2s',
    commandTimeout: '1s',
    ...extra,
  }
  for (const k of Object.keys(section)) if (section[k] === undefined) delete section[k]
  const { config, problems } = dracSshDriver.validate(section)
  expect(problems).toEqual([])
  const d = dracSshDriver.create(config, {
    deviceId: 'drac',
    readSecret,
    log: (l, m) => logs.push(`${l} ${m}`),
  })
  open.push(d)
  return d
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'fencegate-drac-driver-'))
  const users = [
    { name: 'fence', password: 'fence-pw-1' },
    { name: 'keyuser', publicKey: keys.public },
  ]
  const { lab: spec, problems } = readLab({
    devices: {
      drac5: { kind: 'drac-ssh', model: 'drac5', listen: '127.0.0.1:0', users },
      cmc: { kind: 'drac-ssh', model: 'cmc', listen: '127.0.0.1:0', plugs: 4, users },
    },
  })
  expect(problems).toEqual([])
  lab = await Lab.start(spec)
  drac5 = lab.device('drac5') as DracSshMock
  cmc = lab.device('cmc') as DracSshMock
})
afterEach(async () => {
  await Promise.all(open.splice(0).map((d) => d.close()))
  drac5.sim.faults.clear()
})
afterAll(async () => {
  await lab.stop()
  rmSync(dir, { recursive: true, force: true })
})

describe('drac-ssh driver', () => {
  it('reuses one SSH session across calls (one banner, several commands)', async () => {
    const d = driver(drac5)
    let logins = 0
    const shell = (drac5 as unknown as { shell: (...a: unknown[]) => void }).shell.bind(drac5)
    ;(drac5 as unknown as { shell: (...a: unknown[]) => void }).shell = (...a: unknown[]) => {
      logins++
      shell(...a)
    }
    try {
      drac5.sim.setPhysical('system', 'on')
      await d.status(['system'], call())
      await d.set('system', 'off', call())
      await d.status(['system'], call())
      expect(logins).toBe(1)
    } finally {
      ;(drac5 as unknown as { shell: unknown }).shell = shell
    }
  })

  it('after the DRAC drops the connection, the next call opens a new session and succeeds', async () => {
    const d = driver(drac5)
    drac5.sim.setPhysical('system', 'on')
    await d.status(['system'], call())
    drac5.sim.faults.add({ type: 'disconnect', count: 1 })
    const err = await d.status(['system'], call()).catch((e) => e)
    expect(err).toMatchObject({ code: 'CONNECTION_LOST' })
    drac5.sim.setPhysical('system', 'off')
    expect((await d.status(['system'], call())).get('system')).toBe('off')
  })

  it('logs in with a key from a mode-600 file; a key file readable by others is refused', async () => {
    drac5.sim.setPhysical('system', 'on')
    const d = driver(drac5, {
      user: 'keyuser',
      passwordFile: undefined,
      keyFile: secretFile('id_ed25519', keys.private),
    })
    expect((await d.status(['system'], call())).get('system')).toBe('on')
    const { config } = dracSshDriver.validate({
      host: '127.0.0.1',
      user: 'keyuser',
      keyFile: secretFile('id_loose', keys.private, 0o644),
      hostKey: 'any',
    })
    expect(() => dracSshDriver.create(config, { deviceId: 'drac', readSecret, log: () => {} })).toThrowError(
      /readable by group or others/,
    )
    const bad = dracSshDriver.validate({
      host: '127.0.0.1',
      user: 'keyuser',
      keyFile: secretFile('id_garbage', 'not a key at all'),
      hostKey: 'any',
    }).config
    const err = (() => {
      try {
        dracSshDriver.create(bad, { deviceId: 'drac', readSecret, log: () => {} })
      } catch (e) {
        return e
      }
    })()
    expect(err).toMatchObject({ code: 'CONFIG_INVALID' })
  })

  it('a host key that is not the pinned one: INSECURE_DEVICE (permanent), no login attempted', async () => {
    const from = drac5.records.length
    const d = driver(drac5, { hostKey: `SHA256:${'A'.repeat(43)}` })
    const err = await d.status(['system'], call()).catch((e) => e)
    expect(err).toBeInstanceOf(FenceError)
    expect(err.code).toBe('INSECURE_DEVICE')
    expect(err.transient).toBe(false)
    expect(err.message).toContain(drac5.hostKeyFingerprint)
    expect(drac5.records.length).toBe(from)
  })

  it('hostKey: any connects and is warned about', async () => {
    const logs: string[] = []
    const d = driver(drac5, { hostKey: 'any' }, logs)
    expect((await d.status(['system'], call())).size).toBe(1)
    expect(logs.some((l) => l.startsWith('warn') && /hostKey: any/.test(l))).toBe(true)
  })

  it('a wrong password is AUTH_REFUSED (permanent), and the password is not in the message', async () => {
    const d = driver(drac5, { passwordFile: secretFile('bad', 'not-it-9876') })
    const err = await d.status(['system'], call()).catch((e) => e)
    expect(err).toMatchObject({ code: 'AUTH_REFUSED' })
    expect(err.message).not.toContain('not-it-9876')
  })

  it('CMC: the model comes from the banner; plugs are the present slots; a missing slot is NO_SUCH_PLUG', async () => {
    const d = driver(cmc)
    const plugs = await d.plugs(call())
    expect(plugs.map((p) => p.id)).toEqual(['server-1', 'server-2', 'server-3', 'server-4'])
    const err = await d.set('server-9', 'off', call()).catch((e) => e)
    expect(err).toMatchObject({ code: 'NO_SUCH_PLUG' })
    expect(err.message).toMatch(/Invalid module/)
    await expect(d.status(['system'], call())).rejects.toMatchObject({ code: 'NO_SUCH_PLUG' })
  })

  it('a racadm error line is a typed error; "already powered off" for an off is not', async () => {
    drac5.sim.setPhysical('system', 'off')
    const d = driver(drac5)
    await d.set('system', 'off', call()) // ERROR: Server is already powered OFF.
    const err = await d.set('system', 'cycle', call()).catch((e) => e)
    expect(err).toMatchObject({ code: 'DEVICE_ERROR' })
    expect(err.message).toMatch(/already powered OFF/)
  })

  it('a garbled answer is PROTOCOL_ERROR, never a state', async () => {
    drac5.sim.faults.add({ type: 'garble', count: 1 })
    const d = driver(drac5)
    const r = await d.status(['system'], call()).then(
      (m) => m.get('system'),
      (e) => e,
    )
    if (typeof r === 'string') expect(r).toBe(drac5.sim.state('system'))
    else expect(r).toMatchObject({ code: 'PROTOCOL_ERROR' })
  })
})

describe('racadm answer parsing', () => {
  it('reads DRAC 5 and CMC status lines, and only OFF as off', () => {
    expect(parseStatus('Server power status: ON')).toBe('on')
    expect(parseStatus('Server power status: OFF')).toBe('off')
    expect(parseStatus('OFF')).toBe('off')
    expect(parseStatus('Server power status: Powering OFF')).toBe('on')
    expect(parseStatus('Server power status: Powering ON')).toBe('unknown')
    expect(parseStatus('Server power status: OFFLINE')).toBeUndefined()
    expect(parseStatus('')).toBeUndefined()
    expect(errorLine('ERROR: Invalid module: server-9')).toBe('ERROR: Invalid module: server-9')
    expect(errorLine('Server power operation successful')).toBeUndefined()
    expect(parseServerAction('racadm serveraction -m server-2 powerdown')).toEqual({
      op: 'powerdown',
      module: 'server-2',
    })
    expect(parseModules('server-1   Present   ON   OK\nserver-2   Not Present   N/A')).toEqual([
      { module: 'server-1', power: 'on' },
    ])
  })

  it('seeded fuzz: any bytes give a state, undefined or a list, never a throw', () => {
    const rnd = prng(0xd7ac5)
    const samples = ['Server power status: OFF', 'ERROR: x', 'server-3  Present  OFF  OK  ABC']
    for (let i = 0; i < 2000; i++) {
      const base = samples[i % samples.length]!
      const noise = randomBytes(rnd, Math.floor(rnd() * 40)).toString('latin1')
      const at = Math.floor(rnd() * base.length)
      const s = base.slice(0, at) + noise + base.slice(at)
      expect(['on', 'off', 'unknown', undefined]).toContain(parseStatus(s))
      expect(Array.isArray(parseModules(s))).toBe(true)
      errorLine(s)
      parseServerAction(s)
    }
  })
})
