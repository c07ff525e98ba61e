/**
 * Fuzz of the IPMI codec's decoders and of the mock BMC's packet handling: random, truncated
 * and mutated packets must give a result or an IpmiCodecError, never another exception. Seeded
 * (reproducible) and bounded.
 */
import dgram from 'node:dgram'
import { describe, expect, it, vi } from 'vitest'
import { startBmc } from '../../../firmware-mocks/bmc/standalone.js'
import {
  Cmd,
  IpmiCodecError,
  NetFn,
  PayloadType,
  SUITE_17,
  SUITE_3,
  aesDecrypt,
  authCapsRequest,
  decodeAsf,
  decodeAuthCaps,
  decodeAuthCapsRequest,
  decodeChassisStatus,
  decodeCipherSuiteRecords,
  decodeCipherSuitesRequest,
  decodeCloseSessionRequest,
  decodeDeviceId,
  decodeOpenSessionRequest,
  decodeOpenSessionResponse,
  decodeRakp1,
  decodeRakp2,
  decodeRakp3,
  decodeRakp4,
  decodeRequest,
  decodeResponse,
  decodeRmcpHeader,
  decodeV15,
  deriveKeys,
  encodeAsfPing,
  encodeAuthCaps,
  encodeOpenSessionRequest,
  encodeRakp1,
  encodeRequest,
  encodeResponse,
  encodeV15,
  encodeV2Plain,
  encodeV2Protected,
  openV2,
  parseV2,
  request,
  responseTo,
  sessionFormat,
} from '../../../protocols/ipmi/index.js'
import { prng, randomBytes } from '../../helpers/fuzz.js'

/** Truncate, flip bits, overwrite bytes with interesting values, or splice random bytes in. */
function mutate(rnd: () => number, seed: Buffer): Buffer {
  const b = Buffer.from(seed)
  switch (Math.floor(rnd() * 5)) {
    case 0:
      return b.subarray(0, Math.floor(rnd() * b.length))
    case 1: {
      for (let k = 0; k < 1 + rnd() * 4; k++) {
        const i = Math.floor(rnd() * b.length)
        if (b.length) b.writeUInt8(b.readUInt8(i) ^ (1 << Math.floor(rnd() * 8)), i)
      }
      return b
    }
    case 2: {
      const i = Math.floor(rnd() * b.length)
      if (b.length) b.writeUInt8([0x00, 0xff, 0x7f, 0x80, 0x10, 0x06, 0x07][Math.floor(rnd() * 7)]!, i)
      return b
    }
    case 3:
      return Buffer.concat([b, randomBytes(rnd, Math.floor(rnd() * 40))])
    default: {
      const i = Math.floor(rnd() * (b.length + 1))
      return Buffer.concat([b.subarray(0, i), randomBytes(rnd, 1 + Math.floor(rnd() * 8)), b.subarray(i)])
    }
  }
}

const KEYS17 = deriveKeys(SUITE_17, Buffer.alloc(32, 7))
const KEYS3 = deriveKeys(SUITE_3, Buffer.alloc(20, 9))

/** Valid packets of every kind, to mutate. */
const SEEDS: Buffer[] = [
  encodeAsfPing(3),
  encodeV15({
    authType: 0,
    seq: 0,
    sessionId: 0,
    message: encodeRequest(request(NetFn.APP, Cmd.GET_CHANNEL_AUTH_CAPS, 1, authCapsRequest(4))),
  }),
  encodeV15({
    authType: 2,
    seq: 9,
    sessionId: 77,
    authCode: Buffer.alloc(16, 1),
    message: Buffer.from([1, 2, 3]),
  }),
  encodeV2Plain(
    { payloadType: PayloadType.OPEN_SESSION_REQUEST, sessionId: 0, seq: 0 },
    encodeOpenSessionRequest({
      tag: 1,
      maxPriv: 3,
      consoleSid: 42,
      auth: 3,
      integrity: 4,
      confidentiality: 1,
    }),
  ),
  encodeV2Plain(
    { payloadType: PayloadType.RAKP1, sessionId: 0, seq: 0 },
    encodeRakp1({ tag: 2, bmcSid: 5, rm: Buffer.alloc(16, 3), role: 0x13, username: Buffer.from('oper') }),
  ),
  encodeV2Protected(
    KEYS17,
    { payloadType: 0, sessionId: 9, seq: 4 },
    encodeRequest(request(NetFn.CHASSIS, Cmd.CHASSIS_CONTROL, 3, [0])),
  ),
  encodeV2Protected(
    KEYS3,
    { payloadType: 0, sessionId: 9, seq: 4 },
    encodeResponse(responseTo(request(0, 1, 2), 0, [1, 0, 0])),
  ),
]

/** Run `fn`; anything but success or an IpmiCodecError fails the test with the input. */
function survive(name: string, input: Buffer, fn: (b: Buffer) => unknown): void {
  try {
    fn(input)
  } catch (e) {
    if (!(e instanceof IpmiCodecError))
      throw new Error(
        `${name} threw ${(e as Error).name}: ${(e as Error).message} on ${input.toString('hex')}`,
      )
  }
}

const PACKET_DECODERS: [string, (b: Buffer) => unknown][] = [
  ['decodeRmcpHeader', decodeRmcpHeader],
  ['decodeAsf', decodeAsf],
  ['sessionFormat', sessionFormat],
  ['decodeV15', decodeV15],
  ['parseV2', parseV2],
  ['openV2 (suite 17)', (b) => openV2(KEYS17, parseV2(b))],
  ['openV2 (suite 3)', (b) => openV2(KEYS3, parseV2(b))],
]

const BODY_DECODERS: [string, (b: Buffer) => unknown][] = [
  ['decodeRequest', decodeRequest],
  ['decodeResponse', decodeResponse],
  ['decodeOpenSessionRequest', decodeOpenSessionRequest],
  ['decodeOpenSessionResponse', decodeOpenSessionResponse],
  ['decodeRakp1', decodeRakp1],
  ['decodeRakp2', decodeRakp2],
  ['decodeRakp3', decodeRakp3],
  ['decodeRakp4', decodeRakp4],
  ['decodeAuthCaps', decodeAuthCaps],
  ['decodeAuthCapsRequest', decodeAuthCapsRequest],
  ['decodeCipherSuitesRequest', decodeCipherSuitesRequest],
  ['decodeCipherSuiteRecords', decodeCipherSuiteRecords],
  ['decodeCloseSessionRequest', decodeCloseSessionRequest],
  ['decodeDeviceId', decodeDeviceId],
  ['decodeChassisStatus', decodeChassisStatus],
  ['aesDecrypt', (b) => aesDecrypt(KEYS17.k2, b)],
]

describe('codec decoders under fuzz', () => {
  it('packet decoders: random, truncated and mutated packets give a result or an IpmiCodecError', () => {
    const rnd = prng(0x1badb002)
    let codecErrors = 0
    for (let i = 0; i < 4000; i++) {
      const input =
        i % 4 === 0
          ? randomBytes(rnd, Math.floor(rnd() * 80))
          : mutate(rnd, SEEDS[Math.floor(rnd() * SEEDS.length)]!)
      for (const [name, fn] of PACKET_DECODERS) {
        survive(name, input, fn)
        try {
          fn(input)
        } catch {
          codecErrors++
        }
      }
    }
    // the fuzz reached the error paths, not only the happy ones
    expect(codecErrors).toBeGreaterThan(1000)
  })

  it('body decoders: every length from 0 to 64 and random contents', () => {
    const rnd = prng(0xc0ffee)
    const bodies = [
      encodeAuthCaps({
        channel: 1,
        v20Data: true,
        v15AuthTypes: 0,
        kgSet: false,
        perMessageAuthDisabled: false,
        userLevelAuthDisabled: false,
        nonNullUsers: true,
        nullUsers: false,
        anonymousLogin: false,
        ipmi20: true,
        ipmi15: false,
        oemIana: 0,
        oemAux: 0,
      }),
      Buffer.from('c003014181c011034481', 'hex'),
    ]
    for (let n = 0; n <= 64; n++)
      for (let k = 0; k < 30; k++) {
        const input = k % 3 === 0 && n < 24 ? mutate(rnd, bodies[k % 2]!) : randomBytes(rnd, n)
        for (const [name, fn] of BODY_DECODERS) survive(name, input, fn)
      }
    // a bit flip anywhere in a protected packet is caught by the AuthCode, never decrypted
    const pkt = SEEDS[5]!
    for (let i = 4; i < pkt.length; i++) {
      const bad = Buffer.from(pkt)
      bad.writeUInt8(bad.readUInt8(i) ^ 0x04, i)
      expect(() => openV2(KEYS17, parseV2(bad)), `byte ${i}`).toThrow(IpmiCodecError)
    }
  })
})

describe('the mock BMC under fuzz', () => {
  it('survives random and mutated datagrams and still answers a real session', async () => {
    const bmc = await startBmc()
    const sock = dgram.createSocket('udp4')
    try {
      const rnd = prng(0x5eed)
      await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()))
      for (let i = 0; i < 600; i++) {
        const input =
          i % 3 === 0
            ? randomBytes(rnd, Math.floor(rnd() * 100))
            : mutate(rnd, SEEDS[Math.floor(rnd() * SEEDS.length)]!)
        await new Promise<void>((r) => sock.send(input, bmc.address.port, '127.0.0.1', () => r()))
        // let the BMC read: a burst would overflow the socket's receive buffer (datagrams lost, not tested)
        if (i % 16 === 15) await new Promise((r) => setTimeout(r, 2))
      }
      // every datagram was looked at (a record each), none brought the BMC down
      await vi.waitFor(() => expect(bmc.records.length).toBeGreaterThanOrEqual(600))
      expect(bmc.records.filter((r) => r.note?.startsWith('internal error'))).toEqual([])
      const { ipmiDriver } = await import('../../../drivers/ipmi/index.js')
      const { config } = ipmiDriver.validate({
        host: '127.0.0.1',
        port: bmc.address.port,
        user: 'admin',
        passwordEnv: 'FG_FUZZ_PW',
      })
      process.env.FG_FUZZ_PW = 'fencegate-lab'
      const { readSecret } = await import('../../../src/config/secrets.js')
      const d = ipmiDriver.create(config, { deviceId: 'fuzzed', readSecret, log: () => {} })
      delete process.env.FG_FUZZ_PW
      expect((await d.status(['chassis'], { signal: AbortSignal.timeout(5000) })).get('chassis')).toBe('on')
    } finally {
      sock.close()
      await bmc.stop()
    }
  })
})
