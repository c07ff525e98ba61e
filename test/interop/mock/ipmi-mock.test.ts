/**
 * The mock BMC's own rules, driven with raw packets built by the codec (and ipmitool where it
 * has a command for it): presence ping, sessions bound to their source address, idle timeout,
 * session table limit, Get Device ID, 0xC1 for what it does not implement, several BMCs in one
 * lab, and the fault mapping onto UDP.
 */
import { execFile } from 'node:child_process'
import dgram from 'node:dgram'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import type { BmcMock } from '../../../firmware-mocks/bmc/mock.js'
import { startBmc } from '../../../firmware-mocks/bmc/standalone.js'
import { readLab } from '../../../firmware-mocks/lab-file.js'
import { Lab } from '../../../firmware-mocks/lab.js'
import {
  AsfType,
  PayloadType,
  RakpStatus,
  SUITE_17,
  decodeAsf,
  decodeOpenSessionResponse,
  decodeRakp2,
  encodeAsfPing,
  encodeOpenSessionRequest,
  encodeRakp1,
  encodeV2Plain,
  parseV2,
  secureRandom,
} from '../../../protocols/ipmi/index.js'

class RawClient {
  private readonly inbox: Buffer[] = []
  private waiting: ((b: Buffer | undefined) => void) | undefined
  readonly sock = dgram.createSocket('udp4')
  constructor(readonly port: number) {
    this.sock.on('message', (m) => {
      if (this.waiting) {
        const w = this.waiting
        this.waiting = undefined
        w(m)
      } else this.inbox.push(m)
    })
  }
  async send(b: Buffer): Promise<void> {
    await new Promise<void>((r) => this.sock.send(b, this.port, '127.0.0.1', () => r()))
  }
  /** The next datagram, or undefined if none comes within `ms` (used to show silence). */
  next(ms = 500): Promise<Buffer | undefined> {
    const q = this.inbox.shift()
    if (q) return Promise.resolve(q)
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.waiting = undefined
        resolve(undefined)
      }, ms)
      this.waiting = (b) => {
        clearTimeout(t)
        resolve(b)
      }
    })
  }
  close(): void {
    this.sock.close()
  }
}

function openRequest(consoleSid: number): Buffer {
  return encodeV2Plain(
    { payloadType: PayloadType.OPEN_SESSION_REQUEST, sessionId: 0, seq: 0 },
    encodeOpenSessionRequest({
      tag: 1,
      maxPriv: 0,
      consoleSid,
      auth: SUITE_17.auth,
      integrity: SUITE_17.integrity,
      confidentiality: SUITE_17.confidentiality,
    }),
  )
}

function rakp1(bmcSid: number, user: string): Buffer {
  return encodeV2Plain(
    { payloadType: PayloadType.RAKP1, sessionId: 0, seq: 0 },
    encodeRakp1({ tag: 2, bmcSid, rm: secureRandom(16), role: 0x14, username: Buffer.from(user) }),
  )
}

const USERS = [{ name: 'admin', password: 'mock-Admin-1', privilege: 'administrator' }]
let bmc: BmcMock
beforeAll(async () => {
  bmc = await startBmc({ users: USERS })
})
afterAll(async () => {
  await bmc.stop()
})

describe('mock BMC', () => {
  it('answers an ASF presence ping with a pong that says IPMI', async () => {
    const c = new RawClient(bmc.address.port)
    try {
      await c.send(encodeAsfPing(0x33))
      const pong = decodeAsf((await c.next())!)
      expect(pong.type).toBe(AsfType.PONG)
      expect(pong.tag).toBe(0x33)
      expect(pong.data.readUInt8(8) & 0x80).toBe(0x80)
    } finally {
      c.close()
    }
  })

  it('binds a session to the address that opened it', async () => {
    const a = new RawClient(bmc.address.port)
    const b = new RawClient(bmc.address.port)
    try {
      await a.send(openRequest(0x1234))
      const open = decodeOpenSessionResponse(parseV2((await a.next())!).payload)
      expect(open).toMatchObject({ status: 0, consoleSid: 0x1234, maxPriv: 4 })
      // RAKP1 for that session from another address: silence, as a real BMC
      await b.send(rakp1(open.bmcSid!, 'admin'))
      expect(await b.next(300)).toBeUndefined()
      // from the right address: RAKP2
      await a.send(rakp1(open.bmcSid!, 'admin'))
      const r2 = decodeRakp2(parseV2((await a.next())!).payload)
      expect(r2).toMatchObject({ status: 0, consoleSid: 0x1234 })
      expect(r2.authCode).toHaveLength(32)
    } finally {
      a.close()
      b.close()
    }
  })

  it('refuses an unknown user (0x0D) and a role above the channel limit', async () => {
    const a = new RawClient(bmc.address.port)
    try {
      await a.send(openRequest(0x77))
      const open = decodeOpenSessionResponse(parseV2((await a.next())!).payload)
      await a.send(rakp1(open.bmcSid!, 'nobody'))
      expect(decodeRakp2(parseV2((await a.next())!).payload).status).toBe(RakpStatus.UNAUTHORIZED_NAME)
    } finally {
      a.close()
    }
  })

  it('drops idle sessions and refuses a new one when the table is full (status 0x01)', async () => {
    const small = await startBmc({ users: USERS, maxSessions: 2, idleTimeout: '300ms' })
    const a = new RawClient(small.address.port)
    try {
      for (const sid of [1, 2]) {
        await a.send(openRequest(sid))
        expect(decodeOpenSessionResponse(parseV2((await a.next())!).payload).status).toBe(0)
      }
      await a.send(openRequest(3))
      expect(decodeOpenSessionResponse(parseV2((await a.next())!).payload).status).toBe(
        RakpStatus.INSUFFICIENT_RESOURCES,
      )
      await vi.waitFor(() => expect(small.sessions.size).toBe(0), { timeout: 3000, interval: 50 })
      await a.send(openRequest(4))
      expect(decodeOpenSessionResponse(parseV2((await a.next())!).payload).status).toBe(0)
    } finally {
      a.close()
      await small.stop()
    }
  })

  it('answers Get Device ID, and 0xC1 for a command it does not implement (ipmitool)', async () => {
    const ipmitool = (...args: string[]) =>
      new Promise<{ code: number; out: string }>((resolve) =>
        execFile(
          'ipmitool',
          ['-I', 'lanplus', '-H', '127.0.0.1', '-p', String(bmc.address.port), '-U', 'admin', '-E', ...args],
          { env: { ...process.env, IPMI_PASSWORD: 'mock-Admin-1' }, timeout: 15_000 },
          (e, stdout, stderr) => resolve({ code: e ? 1 : 0, out: stdout + stderr }),
        ),
      )
    const info = await ipmitool('mc', 'info')
    expect(info.out).toMatch(/Device ID\s*:\s*32/)
    expect(info.out).toMatch(/IPMI Version\s*:\s*2\.0/)
    const raw = await ipmitool('raw', '0x06', '0x04') // Get Self Test Results: not implemented here
    expect(raw.code).not.toBe(0)
    expect(raw.out).toMatch(/rsp=0xc1/)
  })
})

describe('mock BMC faults on UDP', () => {
  it('disconnect: the port is closed (ICMP unreachable), every session is lost, back after resetTime', async () => {
    const b = await startBmc({ users: USERS, resetTime: '200ms' })
    const a = new RawClient(b.address.port)
    a.sock.on('error', () => {}) // ICMP port unreachable while the BMC is away
    try {
      await a.send(openRequest(9))
      expect(decodeOpenSessionResponse(parseV2((await a.next())!).payload).status).toBe(0)
      expect(b.sessions.size).toBe(1)
      b.sim.faults.add({ type: 'disconnect', count: 1 })
      await a.send(encodeAsfPing(1)) // the BMC resets on this one
      expect(await a.next(100)).toBeUndefined()
      expect(b.sessions.size).toBe(0)
      await vi.waitFor(
        async () => {
          await a.send(encodeAsfPing(2))
          expect(await a.next(100)).toBeDefined()
        },
        { timeout: 3000, interval: 100 },
      )
    } finally {
      a.close()
      await b.stop()
    }
  })

  it('stall: that client address gets nothing more; another one is answered', async () => {
    const b = await startBmc({ users: USERS })
    const a = new RawClient(b.address.port)
    const c = new RawClient(b.address.port)
    try {
      b.sim.faults.add({ type: 'stall', count: 1 })
      await a.send(encodeAsfPing(1))
      await a.send(encodeAsfPing(2))
      expect(await a.next(300)).toBeUndefined()
      await c.send(encodeAsfPing(3))
      expect(decodeAsf((await c.next())!).tag).toBe(3)
    } finally {
      a.close()
      c.close()
      await b.stop()
    }
  })
})

describe('several BMCs in one lab', () => {
  it('each on its own port, each with its own users and chassis', async () => {
    const { lab: spec, problems } = readLab({
      devices: {
        b1: {
          kind: 'bmc',
          listen: '127.0.0.1:0',
          users: [{ name: 'one', password: 'pw-one-1', privilege: 'operator' }],
        },
        b2: { kind: 'bmc', listen: '127.0.0.1:0', initial: 'off', cipherSuites: [3] },
        b3: { kind: 'bmc', listen: '127.0.0.1:0', plugs: 2 },
      },
    })
    expect(problems.map((p) => p.path.join('.'))).toEqual(['devices.b3.plugs'])
    const lab = await Lab.start({ devices: spec.devices.filter((d) => d.id !== 'b3') })
    try {
      const [b1, b2] = [lab.device('b1') as BmcMock, lab.device('b2') as BmcMock]
      expect(b1.address.port).not.toBe(b2.address.port)
      expect(b2.sim.state('chassis')).toBe('off')
      const sections = lab.driverSections()
      expect(sections.b1).toMatchObject({
        driver: 'ipmi',
        user: 'one',
        cipherSuite: 17,
        port: b1.address.port,
      })
      expect(sections.b2).toMatchObject({
        driver: 'ipmi',
        user: 'admin',
        cipherSuite: 3,
        port: b2.address.port,
      })
    } finally {
      await lab.stop()
    }
  })
})
