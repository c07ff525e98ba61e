import dgram from 'node:dgram'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { ApcSnmpDriver } from '../../../drivers/apc-snmp/driver.js'
import { apcSnmpDriver } from '../../../drivers/apc-snmp/index.js'
import {
  type RawVarbind,
  SNMP_TYPE,
  decodeInt,
  decodeOidValue,
  decodePowerState,
  decodeString,
} from '../../../drivers/snmp/varbind.js'
import { readSecret } from '../../../src/config/secrets.js'
import { FenceError } from '../../../core/errors.js'
import { prng } from '../../helpers/fuzz.js'

/**
 * Bad input from a "PDU": a hand-made agent on a UDP socket answers the driver with crafted
 * BER — wrong types, exceptions, foreign OIDs, short lists, error statuses, garbage — and the
 * driver must answer with a typed error or `unknown`, never a crash and never a false `off`.
 * Then the decoding is fuzzed, alone and through net-snmp's parser.
 */

// --- a little BER, enough to read an SNMPv2c request and write any response ---------------

const lenBytes = (n: number) => (n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff])
const tlv = (tag: number, body: Buffer) => Buffer.concat([Buffer.from([tag, ...lenBytes(body.length)]), body])
function intBody(v: number): Buffer {
  const out: number[] = []
  let x = v
  do {
    out.unshift(x & 0xff)
    x >>= 8
  } while (x !== 0 && x !== -1)
  if (v >= 0 && (out[0]! & 0x80) !== 0) out.unshift(0)
  if (v < 0 && (out[0]! & 0x80) === 0) out.unshift(0xff)
  return Buffer.from(out)
}
const int = (v: number, tag = 0x02) => tlv(tag, intBody(v))
const oct = (s: string | Buffer) => tlv(0x04, Buffer.isBuffer(s) ? s : Buffer.from(s))
function oidBody(oid: string): Buffer {
  const p = oid.split('.').map(Number)
  const out = [p[0]! * 40 + p[1]!]
  for (const n of p.slice(2)) {
    const b: number[] = [n & 0x7f]
    for (let x = n >>> 7; x > 0; x >>>= 7) b.unshift((x & 0x7f) | 0x80)
    out.push(...b)
  }
  return Buffer.from(out)
}
const oid = (s: string) => tlv(0x06, oidBody(s))
const seq = (...parts: Buffer[]) => tlv(0x30, Buffer.concat(parts))
const empty = (tag: number) => Buffer.from([tag, 0])

interface Tlv {
  tag: number
  start: number
  end: number
}
function readTlv(b: Buffer, at: number): Tlv {
  const tag = b[at]!
  let len = b[at + 1]!
  let start = at + 2
  if (len & 0x80) {
    const n = len & 0x7f
    len = 0
    for (let i = 0; i < n; i++) len = (len << 8) | b[start + i]!
    start += n
  }
  return { tag, start, end: start + len }
}
function children(b: Buffer, t: Tlv): Tlv[] {
  const out: Tlv[] = []
  for (let at = t.start; at < t.end; ) {
    const c = readTlv(b, at)
    out.push(c)
    at = c.end
  }
  return out
}
function decodeOid(b: Buffer): string {
  const p = [Math.floor(b[0]! / 40), b[0]! % 40]
  let n = 0
  for (const x of b.subarray(1)) {
    n = (n << 7) | (x & 0x7f)
    if (!(x & 0x80)) {
      p.push(n)
      n = 0
    }
  }
  return p.join('.')
}

interface Request {
  community: Buffer
  type: number
  reqId: Buffer
  oids: string[]
}
function parseRequest(b: Buffer): Request {
  const [version, community, pdu] = children(b, readTlv(b, 0))
  void version
  const [reqId, , , vbl] = children(b, pdu!)
  const oids = children(b, vbl!).map((vb) => {
    const [o] = children(b, vb)
    return decodeOid(b.subarray(o!.start, o!.end))
  })
  return {
    community: b.subarray(community!.start, community!.end),
    type: pdu!.tag,
    reqId: b.subarray(reqId!.start, reqId!.end),
    oids,
  }
}
function response(req: Request, varbinds: Buffer[], errorStatus = 0, errorIndex = 0): Buffer {
  return seq(
    int(1),
    oct(req.community),
    tlv(0xa2, Buffer.concat([tlv(0x02, req.reqId), int(errorStatus), int(errorIndex), seq(...varbinds)])),
  )
}

// --- the fake PDU ------------------------------------------------------------------------

type Answer = (req: Request) => Buffer | undefined
let answer: Answer = () => undefined
let sock: dgram.Socket
let dir: string

beforeAll(async () => {
  sock = dgram.createSocket('udp4')
  sock.on('message', (msg, rinfo) => {
    let out: Buffer | undefined
    try {
      out = answer(parseRequest(msg))
    } catch {
      out = undefined
    }
    if (out) sock.send(out, rinfo.port, rinfo.address)
  })
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()))
  dir = mkdtempSync(path.join(tmpdir(), 'fg-snmp-bad-'))
  writeFileSync(path.join(dir, 'c'), 'private\n', { mode: 0o600 })
})
afterAll(async () => {
  await new Promise<void>((r) => sock.close(() => r()))
  rmSync(dir, { recursive: true, force: true })
})

function driver(overrides: Record<string, unknown> = {}): ApcSnmpDriver {
  const { config, problems } = apcSnmpDriver.validate({
    host: '127.0.0.1',
    port: sock.address().port,
    version: '2c',
    communityFile: path.join(dir, 'c'),
    model: 'rPDU',
    timeout: '80ms',
    retries: 0,
    ...overrides,
  })
  expect(problems).toEqual([])
  return apcSnmpDriver.create(config, { deviceId: 'bad', readSecret, log: () => {} }) as ApcSnmpDriver
}

const call = () => ({ signal: AbortSignal.timeout(5000) })
/** Answer every GET with these varbinds for the asked OIDs (f gets the OID and its outlet). */
const each =
  (f: (o: string, n: number) => Buffer): Answer =>
  (req) =>
    response(
      req,
      req.oids.map((o) => f(o, Number(o.split('.').pop()))),
    )

describe('a PDU answering badly: typed errors or unknown, never a false off', () => {
  let d: ApcSnmpDriver
  beforeEach(() => {
    d?.close()
    d = driver()
  })

  it('the harness itself: well-formed INTEGERs read as on and off', async () => {
    answer = each((o, n) => seq(oid(o), int(n === 1 ? 1 : 2)))
    expect([...(await d.status(['1', '2'], call()))]).toEqual([
      ['1', 'on'],
      ['2', 'off'],
    ])
  })

  const unknownCases: [string, (o: string, n: number) => Buffer][] = [
    ['an OCTET STRING "2"', (o) => seq(oid(o), oct('2'))],
    ['a Counter32 2', (o) => seq(oid(o), int(2, 0x41))],
    ['a Gauge32 2', (o) => seq(oid(o), int(2, 0x42))],
    ['a TimeTicks 2', (o) => seq(oid(o), int(2, 0x43))],
    ['an INTEGER out of the enumeration (3, 0, -1)', (o, n) => seq(oid(o), int([3, 0, -1][n % 3]!))],
    ['a NULL', (o) => seq(oid(o), empty(0x05))],
    ['an OID value', (o) => seq(oid(o), oid('1.3.6.1.2'))],
    ["another outlet's OID with value off", (o) => seq(oid(`${o.slice(0, o.lastIndexOf('.'))}.7`), int(2))],
  ]
  for (const [what, f] of unknownCases)
    it(`${what} is unknown`, async () => {
      answer = each(f)
      const st = await d.status(['1', '2', '3'], call())
      expect([...st.values()]).toEqual(['unknown', 'unknown', 'unknown'])
    })

  it('fewer varbinds than asked: the missing ones are unknown, the others are not shifted', async () => {
    answer = (req) => response(req, [seq(oid(req.oids[0]!), int(2))])
    const st = await d.status(['1', '2'], call()).catch((e: unknown) => e)
    if (st instanceof Map) expect(st.get('2')).toBe('unknown')
    else expect(st).toBeInstanceOf(FenceError)
  })

  it('noSuchInstance / noSuchObject / endOfMibView: NO_SUCH_PLUG, permanent', async () => {
    for (const tag of [0x80, 0x81, 0x82]) {
      answer = each((o) => seq(oid(o), empty(tag)))
      const err = await d.status(['4'], call()).catch((e: FenceError) => e)
      expect(err).toMatchObject({ code: 'NO_SUCH_PLUG' })
      expect((err as FenceError).transient).toBe(false)
    }
  })

  it('error statuses: genErr is DEVICE_ERROR, tooBig PROTOCOL_ERROR, noSuchName (v1 style) NO_SUCH_PLUG', async () => {
    for (const [status, code] of [
      [5, 'DEVICE_ERROR'],
      [1, 'PROTOCOL_ERROR'],
      [2, 'NO_SUCH_PLUG'],
      [13, 'DEVICE_BUSY'],
    ] as const) {
      answer = (req) =>
        response(
          req,
          req.oids.map((o) => seq(oid(o), empty(0x05))),
          status,
          1,
        )
      await expect(d.status(['1'], call())).rejects.toMatchObject({ code })
    }
  })

  it('a SET answered with noSuchInstance is NO_SUCH_PLUG, not success', async () => {
    answer = (req) =>
      req.type === 0xa3
        ? response(
            req,
            req.oids.map((o) => seq(oid(o), empty(0x81))),
          )
        : each((o) => seq(oid(o), int(2)))(req)
    await expect(d.set('1', 'off', call())).rejects.toMatchObject({ code: 'NO_SUCH_PLUG' })
  })

  it('sysObjectID of the wrong type is a PROTOCOL_ERROR; an unknown one a DEVICE_ERROR naming it', async () => {
    const auto = driver({ model: 'auto' })
    answer = each((o) => seq(oid(o), oct('1.3.6.1.4.1.318.1.3.4.5')))
    await expect(auto.status(['1'], call())).rejects.toMatchObject({ code: 'PROTOCOL_ERROR' })
    answer = each((o) => seq(oid(o), oid('1.3.6.1.4.1.318.1.3.4.9')))
    const err = await auto.status(['1'], call()).catch((e: FenceError) => e)
    expect(err).toMatchObject({ code: 'DEVICE_ERROR' })
    expect((err as FenceError).message).toMatch(/sysObjectID 1\.3\.6\.1\.4\.1\.318\.1\.3\.4\.9 .* set model/)
    await auto.close()
  })

  it('a names walk that goes backwards is a PROTOCOL_ERROR, not an endless loop', async () => {
    answer = (req) => response(req, [seq(oid('1.3.6.1.4.1.318.1.1.12.3.5.1.1.2.1'), oct('x'))])
    const err = await d.status(['by-name'], call()).catch((e: FenceError) => e)
    expect(err).toMatchObject({ code: 'PROTOCOL_ERROR' })
    expect((err as FenceError).message).toMatch(/went backwards/)
  })

  it('garbage bytes and a wrong community in the answer: no crash, DEVICE_UNREACHABLE after the tries', async () => {
    answer = () => Buffer.from('30 82 ff ff 02 01 01 04'.replace(/ /g, ''), 'hex')
    await expect(d.status(['1'], call())).rejects.toMatchObject({ code: 'DEVICE_UNREACHABLE' })
    expect(d.client.undecodable).toBeGreaterThan(0)
    answer = (req) =>
      seq(
        int(1),
        oct('someone-else'),
        tlv(0xa2, Buffer.concat([tlv(0x02, req.reqId), int(0), int(0), seq(seq(oid(req.oids[0]!), int(2)))])),
      )
    const err = await d.status(['1'], call()).catch((e: FenceError) => e)
    expect(err).toBeInstanceOf(FenceError)
    expect(['PROTOCOL_ERROR', 'DEVICE_UNREACHABLE']).toContain((err as FenceError).code)
    // the community we sent is never echoed into the message
    expect((err as FenceError).message).not.toContain('private')
  })
})

// --- fuzz ---------------------------------------------------------------------------------

describe('fuzz: varbind decoding', () => {
  it('random varbinds never throw, and decode to off only for INTEGER off at the asked OID', () => {
    const rnd = prng(0x5eed)
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!
    const asked = '1.3.6.1.4.1.318.1.1.26.9.2.3.1.5.4'
    const types = [...Object.values(SNMP_TYPE), 0, 1, 3, 64, 68, 70, 255, -1, undefined, '2', null]
    const values = [
      1,
      2,
      0,
      -1,
      3,
      2.5,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      2 ** 31,
      -(2 ** 31) - 1,
      '1',
      '2',
      '',
      Buffer.from([2]),
      Buffer.from('off'),
      null,
      undefined,
      true,
      {},
      [],
      2n,
    ]
    const oids = [asked, `.${asked}`, '1.3.6.1.4.1.318.1.1.26.9.2.3.1.5.5', '', undefined, 42, 'garbage']
    const values2 = { on: 2, off: 1 }
    let offs = 0
    for (let i = 0; i < 20_000; i++) {
      const vb: RawVarbind =
        rnd() < 0.02
          ? (pick([null, undefined, 1, 'x'] as const) as unknown as RawVarbind)
          : { oid: pick(oids), type: pick(types), value: pick(values) }
      const r = decodePowerState(vb, values2, asked)
      for (const f of [decodeInt, decodeString, decodeOidValue]) f(vb, asked)
      if ('state' in r && r.state === 'off') {
        offs++
        expect(vb.type).toBe(SNMP_TYPE.Integer)
        expect(vb.value).toBe(1)
        expect(String(vb.oid).replace(/^\./, '')).toBe(asked)
      }
      if ('missing' in r) expect([128, 129, 130]).toContain(vb.type)
    }
    expect(offs).toBeGreaterThan(0)
  })

  it('random answers through net-snmp: typed error or a state that matches an exact INTEGER', async () => {
    const d = driver({ timeout: '40ms' })
    const rnd = prng(0xfe11ce)
    const byte = () => Math.floor(rnd() * 256)
    const values: (() => [Buffer, 'on' | 'off' | undefined])[] = [
      () => [int(1), 'on'],
      () => [int(2), 'off'],
      () => [int(Math.floor(rnd() * 2 ** 31) - 2 ** 30), undefined],
      () => [int(Math.floor(rnd() * 4), [0x41, 0x42, 0x43, 0x46][Math.floor(rnd() * 4)]), undefined],
      () => [oct(Buffer.from(Array.from({ length: Math.floor(rnd() * 6) }, byte))), undefined],
      () => [empty([0x05, 0x80, 0x81, 0x82][Math.floor(rnd() * 4)]!), undefined],
      () => [tlv(byte() | 0x40, Buffer.from(Array.from({ length: Math.floor(rnd() * 4) }, byte))), undefined],
      () => [Buffer.from([0x02, 0x05, 1]), undefined], // truncated INTEGER: the whole message is malformed
    ]
    let answered = 0
    for (let i = 0; i < 250; i++) {
      const expected = new Map<string, 'on' | 'off' | undefined>()
      answer = (req) =>
        response(
          req,
          req.oids.map((o) => {
            const [v, e] = values[Math.floor(rnd() * values.length)]!()
            expected.set(o.split('.').pop()!, e)
            return seq(oid(o), v)
          }),
        )
      try {
        const st = await d.status(['1', '2', '3'], call())
        answered++
        for (const [plug, state] of st) {
          if (state !== 'unknown') expect(state).toBe(expected.get(plug))
        }
      } catch (e) {
        expect(e).toBeInstanceOf(FenceError)
      }
    }
    expect(answered).toBeGreaterThan(10)
    await d.close()
  })
})
