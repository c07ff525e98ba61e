/**
 * Our driver against rogue BMCs: the mock BMC with its `tamper` hook rewriting what it sends.
 * Each case is something a weak client accepts (ipmitool takes unauthenticated replies inside
 * a protected session, uses a fixed console session id); the driver must refuse it, and never
 * report a state it did not read through an authenticated, encrypted, fresh packet.
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import type { IpmiDriver } from '../../../drivers/ipmi/driver.js'
import { ipmiDriver } from '../../../drivers/ipmi/index.js'
import type { BmcMock, Outgoing } from '../../../firmware-mocks/bmc/mock.js'
import type { BmcSession } from '../../../firmware-mocks/bmc/sessions.js'
import { startBmc } from '../../../firmware-mocks/bmc/standalone.js'
import {
  type IpmiResponse,
  PayloadType,
  SUITE_3,
  decodeOpenSessionResponse,
  decodeRakp2,
  decodeRakp4,
  deriveKeys,
  encodeCipherSuiteRecords,
  encodeOpenSessionResponse,
  encodeRakp2,
  encodeRakp4,
  encodeResponse,
  encodeV15,
  encodeV2Plain,
  encodeV2Protected,
  parseV2,
  responseTo,
} from '../../../protocols/ipmi/index.js'
import { readSecret } from '../../../src/config/secrets.js'
import { FenceError } from '../../../core/errors.js'

const dir = mkdtempSync(path.join(tmpdir(), 'fencegate-ipmisec-'))
const PASSWORD = 'Sec-pass-0perator'
let bmc: BmcMock

beforeAll(async () => {
  bmc = await startBmc({ users: [{ name: 'oper', password: PASSWORD, privilege: 'operator' }] })
})
afterAll(async () => {
  await bmc.stop()
  rmSync(dir, { recursive: true, force: true })
})
afterEach(() => {
  bmc.tamper = undefined
  bmc.sim.setPhysical('chassis', 'on')
})

function driver(over: Record<string, unknown> = {}): IpmiDriver {
  const passwordFile = path.join(dir, 'pw')
  writeFileSync(passwordFile, PASSWORD, { mode: 0o600 })
  const { config, problems } = ipmiDriver.validate({
    host: '127.0.0.1',
    port: bmc.address.port,
    user: 'oper',
    passwordFile,
    requestTimeout: '600ms',
    ...over,
  })
  expect(problems).toEqual([])
  return ipmiDriver.create(config, { deviceId: 'rogue', readSecret, log: () => {} }) as IpmiDriver
}

const call = () => ({ signal: AbortSignal.timeout(10_000) })

async function failure(p: Promise<unknown>): Promise<FenceError> {
  const r = await p.then(
    (v) => ({ ok: v }),
    (e) => ({ e }),
  )
  if (!('e' in r))
    throw new Error(`expected a refusal, got ${JSON.stringify([...((r.ok as Map<string, string>) ?? [])])}`)
  expect(r.e).toBeInstanceOf(FenceError)
  return r.e as FenceError
}

const isStatusAnswer = (o: Outgoing) =>
  o.kind === 'session' && o.request?.netFn === 0x00 && o.request.cmd === 0x01
/** A chassis status answer saying "off" (the lie a rogue BMC or a man in the middle wants believed). */
const offAnswer = (o: Outgoing): IpmiResponse => responseTo(o.request!, 0, [0x00, 0x00, 0x00])
const genuine = (s: BmcSession, rs: IpmiResponse, seq: number) =>
  encodeV2Protected(s.keys!, { payloadType: 0, sessionId: s.consoleSid, seq }, encodeResponse(rs))

describe('cipher suites the driver refuses', () => {
  it.each([
    ['suite 0 only (no authentication at all)', [{ id: 0, auth: [0], integrity: [0], confidentiality: [0] }]],
    [
      'suites 1 and 2 (no encryption)',
      [
        { id: 1, auth: [1], integrity: [0], confidentiality: [0] },
        { id: 2, auth: [1], integrity: [1], confidentiality: [0] },
      ],
    ],
    [
      'MD5 suites 6-8',
      [6, 7, 8].map((id) => ({
        id,
        auth: [2],
        integrity: [id === 6 ? 0 : 2],
        confidentiality: [id === 8 ? 1 : 0],
      })),
    ],
    ['RC4 suite 4', [{ id: 4, auth: [1], integrity: [1], confidentiality: [2] }]],
    [
      'SHA-256 without encryption, 15-16',
      [15, 16].map((id) => ({ id, auth: [3], integrity: [id === 15 ? 0 : 4], confidentiality: [0] })),
    ],
  ])('a BMC offering %s: INSECURE_DEVICE before any session', async (_label, records) => {
    bmc.tamper = (o) => {
      if (o.kind !== 'sessionless' || o.request?.cmd !== 0x54) return undefined
      const rs = responseTo(
        o.request,
        0,
        Buffer.concat([Buffer.from([1]), encodeCipherSuiteRecords(records)]),
      )
      return [encodeV15({ authType: 0, seq: 0, sessionId: 0, message: encodeResponse(rs) })]
    }
    const from = bmc.records.length
    const e = await failure(driver().status(['chassis'], call()))
    expect(e.code).toBe('INSECURE_DEVICE')
    expect(e.message).toMatch(/offers only cipher suites/)
    expect(bmc.records.slice(from).some((r) => r.kind === 'open')).toBe(false)
  })

  it.each([
    ['suite 0', { auth: 0, integrity: 0, confidentiality: 0 }, /suite 0: no authentication/],
    ['suite 3 when 17 was asked', { auth: 1, integrity: 1, confidentiality: 1 }, /suite 3/],
    ['suite 2 (no encryption)', { auth: 1, integrity: 1, confidentiality: 0 }, /no encryption/],
  ])(
    'an Open Session answer with other algorithms than asked (%s): INSECURE_DEVICE',
    async (_l, algorithms, why) => {
      bmc.tamper = (o) => {
        if (o.kind !== 'open') return undefined
        const rs = decodeOpenSessionResponse(parseV2(o.bytes).payload)
        return [
          encodeV2Plain(
            { payloadType: PayloadType.OPEN_SESSION_RESPONSE, sessionId: 0, seq: 0 },
            encodeOpenSessionResponse({ ...rs, algorithms }),
          ),
        ]
      }
      const from = bmc.records.length
      const e = await failure(driver({ cipherSuite: 17 }).status(['chassis'], call()))
      expect(e.code).toBe('INSECURE_DEVICE')
      expect(e.message).toMatch(why)
      expect(bmc.records.slice(from).some((r) => r.kind === 'rakp1')).toBe(false)
    },
  )
})

describe('a BMC that cannot prove it knows the password', () => {
  it('RAKP2 with a wrong HMAC: AUTH_REFUSED, and the BMC is told (RAKP3 status 0x0F)', async () => {
    bmc.tamper = (o) => {
      if (o.kind !== 'rakp2') return undefined
      const m = decodeRakp2(parseV2(o.bytes).payload)
      const authCode = Buffer.from(m.authCode!)
      authCode.writeUInt8(authCode.readUInt8(31) ^ 1, 31) // one bit of the last byte: the full length is checked
      return [
        encodeV2Plain(
          { payloadType: PayloadType.RAKP2, sessionId: 0, seq: 0 },
          encodeRakp2({ ...m, authCode }),
        ),
      ]
    }
    bmc.sessions.clear() // half-open sessions of the refusals above
    const from = bmc.records.length
    const e = await failure(driver().status(['chassis'], call()))
    expect(e.code).toBe('AUTH_REFUSED')
    expect(e.message).toMatch(/RAKP2 HMAC is invalid/)
    await vi.waitFor(() => expect(bmc.records.slice(from).filter((r) => r.kind === 'rakp3')).toHaveLength(1))
    expect(bmc.sessions.size).toBe(0)
  })

  it('RAKP2 with a truncated HMAC (the 12-byte form): AUTH_REFUSED', async () => {
    bmc.tamper = (o) => {
      if (o.kind !== 'rakp2') return undefined
      const m = decodeRakp2(parseV2(o.bytes).payload)
      return [
        encodeV2Plain(
          { payloadType: PayloadType.RAKP2, sessionId: 0, seq: 0 },
          encodeRakp2({ ...m, authCode: m.authCode!.subarray(0, 12) }),
        ),
      ]
    }
    expect((await failure(driver().status(['chassis'], call()))).code).toBe('AUTH_REFUSED')
  })

  it('RAKP4 with a wrong integrity check value: AUTH_REFUSED, no command sent', async () => {
    bmc.tamper = (o) => {
      if (o.kind !== 'rakp4') return undefined
      const m = decodeRakp4(parseV2(o.bytes).payload)
      return [
        encodeV2Plain(
          { payloadType: PayloadType.RAKP4, sessionId: 0, seq: 0 },
          encodeRakp4({ ...m, icv: randomBytes(m.icv.length) }),
        ),
      ]
    }
    const from = bmc.records.length
    const e = await failure(driver().set('chassis', 'off', call()))
    expect(e.code).toBe('AUTH_REFUSED')
    expect(e.message).toMatch(/RAKP4/)
    expect(bmc.records.slice(from).some((r) => r.kind === 'command' && r.sessionId !== undefined)).toBe(false)
    expect(bmc.sim.state('chassis')).toBe('on')
  })
})

/** The sequence number of the last Set Session Privilege answer the driver received. */
let setPrivSeq = 0
/** Wrap a tamper hook: remember that number, forge only the chassis status answers. */
function onStatus(forge: (o: Outgoing) => Buffer[]): (o: Outgoing) => Buffer[] | undefined {
  return (o) => {
    if (o.kind === 'session' && o.request?.cmd === 0x3b) setPrivSeq = parseV2(o.bytes).seq
    return isStatusAnswer(o) ? forge(o) : undefined
  }
}

describe('inside the session: only authenticated, encrypted, fresh packets for our session', () => {
  const forgeries: [string, (o: Outgoing) => Buffer][] = [
    [
      'an unauthenticated, unencrypted packet',
      (o) =>
        encodeV2Plain(
          { payloadType: 0, sessionId: o.session!.consoleSid, seq: bmc.sessions.nextOut(o.session!) },
          encodeResponse(offAnswer(o)),
        ),
    ],
    [
      'a packet authenticated with other keys',
      (o) =>
        encodeV2Protected(
          deriveKeys(o.session!.profile, randomBytes(32)),
          { payloadType: 0, sessionId: o.session!.consoleSid, seq: bmc.sessions.nextOut(o.session!) },
          encodeResponse(offAnswer(o)),
        ),
    ],
    [
      'a genuine packet with one AuthCode bit flipped',
      (o) => {
        const b = genuine(o.session!, offAnswer(o), bmc.sessions.nextOut(o.session!))
        b.writeUInt8(b.readUInt8(b.length - 1) ^ 0x80, b.length - 1)
        return b
      },
    ],
    [
      'a genuine packet with its authenticated flag cleared',
      (o) => {
        const b = genuine(o.session!, offAnswer(o), bmc.sessions.nextOut(o.session!))
        b.writeUInt8(b.readUInt8(5) & ~0x40, 5)
        return b
      },
    ],
    [
      'a replayed sequence number (the one of the Set Session Privilege answer, already accepted)',
      (o) => genuine(o.session!, offAnswer(o), setPrivSeq),
    ],
    [
      'a packet for another session id',
      (o) =>
        genuine(
          { ...o.session!, consoleSid: (o.session!.consoleSid + 1) >>> 0 },
          offAnswer(o),
          bmc.sessions.nextOut(o.session!),
        ),
    ],
    [
      'a packet with keys of suite 3 in a suite-17 session',
      (o) =>
        encodeV2Protected(
          { ...o.session!.keys!, profile: SUITE_3 },
          { payloadType: 0, sessionId: o.session!.consoleSid, seq: bmc.sessions.nextOut(o.session!) },
          encodeResponse(offAnswer(o)),
        ),
    ],
  ]

  it.each(forgeries)('%s saying "off" in place of the answer: refused, never off', async (_l, forge) => {
    let forged = 0
    bmc.tamper = onStatus((o) => {
      forged++
      return [forge(o)]
    })
    const e = await failure(driver().status(['chassis'], call()))
    expect(forged).toBeGreaterThan(0)
    expect(e.code).toBe('PROTOCOL_ERROR')
    expect(e.message).toMatch(/packets refused/)
  })

  it.each(forgeries)(
    '%s saying "off" just before the genuine answer: ignored, the truth (on) is read',
    async (_l, forge) => {
      // the genuine answer goes out after the forgery, re-encoded with the next sequence number
      bmc.tamper = onStatus((o) => {
        const bad = forge(o)
        return [bad, genuine(o.session!, o.response!, bmc.sessions.nextOut(o.session!))]
      })
      expect((await driver().status(['chassis'], call())).get('chassis')).toBe('on')
    },
  )
})

/**
 * A spoofer on the path between gateway and BMC (or anyone who can forge the BMC's source address)
 * races the BMC with an error status for the step in flight. It can guess the one-byte message tag,
 * not the random console session id: a packet for another session must be dropped (the driver
 * keeps waiting for the BMC), or the driver gives up on a good BMC and a fencing level is skipped.
 */
describe('a spoofed error status during session set-up', () => {
  // the steps, each with a forged error answer built from the genuine one
  const steps: [Outgoing['kind'], (genuine: Buffer, sid: number) => Buffer][] = [
    [
      'open',
      (g, sid) => {
        const rs = decodeOpenSessionResponse(parseV2(g).payload)
        return encodeV2Plain(
          { payloadType: PayloadType.OPEN_SESSION_RESPONSE, sessionId: 0, seq: 0 },
          encodeOpenSessionResponse({ tag: rs.tag, status: 0x01, maxPriv: 0, consoleSid: sid }),
        )
      },
    ],
    [
      'rakp2',
      (g, sid) => {
        const m = decodeRakp2(parseV2(g).payload)
        return encodeV2Plain(
          { payloadType: PayloadType.RAKP2, sessionId: 0, seq: 0 },
          encodeRakp2({ tag: m.tag, status: 0x0d, consoleSid: sid }),
        )
      },
    ],
    [
      'rakp4',
      (g, sid) => {
        const m = decodeRakp4(parseV2(g).payload)
        return encodeV2Plain(
          { payloadType: PayloadType.RAKP4, sessionId: 0, seq: 0 },
          encodeRakp4({ tag: m.tag, status: 0x02, consoleSid: sid, icv: Buffer.alloc(0) }),
        )
      },
    ],
  ]
  const consoleSidOf = (o: Outgoing) => o.session!.consoleSid
  /** The BMC's own answer for the step, with the spoofer's packet just before it. */
  const race =
    (kind: Outgoing['kind'], forge: (genuine: Buffer, sid: number) => Buffer, sid: (o: Outgoing) => number) =>
    (o: Outgoing) =>
      o.kind === kind ? [forge(o.bytes, sid(o)), o.bytes] : undefined

  it.each(steps)(
    '%s: an error for another session id (or none) with the right tag is dropped; the session opens',
    async (kind, forge) => {
      for (const wrong of [(o: Outgoing) => consoleSidOf(o) ^ 0x5a5a5a5a, () => 0]) {
        bmc.tamper = race(kind, forge, wrong)
        bmc.sessions.clear()
        expect((await driver().status(['chassis'], call())).get('chassis')).toBe('on')
      }
    },
  )

  it.each(steps)('%s: an error status for our own session still counts', async (kind, forge) => {
    bmc.tamper = (o) => (o.kind === kind ? [forge(o.bytes, consoleSidOf(o))] : undefined)
    bmc.sessions.clear()
    const e = await failure(driver().status(['chassis'], call()))
    expect(e.message).toMatch(/refused: status 0x0[12D]/)
  })
})

describe('identifiers from a CSPRNG', () => {
  it('every session has its own console session id and Rm (ipmitool uses a fixed 0xA0A2A3A4)', async () => {
    const sids = new Set<number>()
    const rms = new Set<string>()
    bmc.tamper = (o) => {
      if (o.kind === 'rakp2' && o.session?.exchange) {
        sids.add(o.session.consoleSid)
        rms.add(o.session.exchange.rm.toString('hex'))
      }
      return undefined
    }
    const d = driver()
    for (let i = 0; i < 5; i++) await d.status(['chassis'], call())
    expect(sids.size).toBe(5)
    expect(rms.size).toBe(5)
    expect(sids.has(0xa0a2a3a4)).toBe(false)
  })
})

describe('credentials', () => {
  it('an empty password or one over 20 bytes is refused at start', () => {
    const { config } = ipmiDriver.validate({ host: 'h', user: 'u', passwordEnv: 'FG_IPMI_TEST_PW' })
    const ctx = { deviceId: 'x', readSecret, log: () => {} }
    process.env.FG_IPMI_TEST_PW = ''
    expect(() => ipmiDriver.create(config, ctx)).toThrow(/not set or empty/)
    process.env.FG_IPMI_TEST_PW = 'x'.repeat(21)
    expect(() => ipmiDriver.create(config, ctx)).toThrow(/1 to 20 bytes/)
    delete process.env.FG_IPMI_TEST_PW
  })
})
