/**
 * Known-answer tests of the shared IPMI codec (protocols/ipmi). The vector is a real session
 * between ipmitool 1.8.19 and OpenIPMI's ipmi_sim, dumped with ipmitool -vvvvv and recomputed
 * independently (shared/reference/ipmi-drac-redfish.md §2): if the codec disagrees with it,
 * both our driver and our mock would be wrong the same way.
 */
import { describe, expect, it } from 'vitest'
import {
  AsfType,
  Cmd,
  NetFn,
  SUITE_17,
  SUITE_3,
  SequenceWindow,
  authCapsRequest,
  checksum,
  decodeAsf,
  decodeRequest,
  decodeResponse,
  decodeRakp1,
  decodeOpenSessionRequest,
  encodeAsfPing,
  encodeAsfPong,
  encodeOpenSessionRequest,
  encodeRakp1,
  encodeRequest,
  encodeResponse,
  encodeV2Protected,
  encodeV15,
  decodeV15,
  keyBytes,
  openV2,
  parseV2,
  rakp2AuthCode,
  rakp3AuthCode,
  rakp4Icv,
  request,
  responseTo,
  sessionKeys,
  decodeCipherSuiteRecords,
  encodeCipherSuiteRecords,
  nextSeq,
  IpmiCodecError,
  type RakpExchange,
} from '../../../protocols/ipmi/index.js'

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex')

const X: RakpExchange = {
  consoleSid: hex('a4a3a2a0').readUInt32LE(0),
  bmcSid: hex('821a0000').readUInt32LE(0),
  rm: hex('4ab5c20b1d1d398f6942d2bb8cfc8764'),
  rc: hex('99fd14bf5d2e73ff797bb493c2c2125f'),
  guid: hex('a123456789abcdefa123456789abcdef'),
  role: 0x14,
  username: Buffer.from('admin'),
}
const KUID = keyBytes('secret')

describe('IPMI message framing', () => {
  it('encodes Get Channel Auth Caps exactly as ipmitool does', () => {
    const bytes = encodeRequest(request(NetFn.APP, Cmd.GET_CHANNEL_AUTH_CAPS, 0, authCapsRequest(4)))
    expect(bytes.toString('hex')).toBe('2018c881003 88e04b5'.replace(/ /g, ''))
    const back = decodeRequest(bytes)
    expect(back).toMatchObject({ netFn: NetFn.APP, cmd: 0x38, rqSeq: 0, rsAddr: 0x20, rqAddr: 0x81 })
    expect(back.data.toString('hex')).toBe('8e04')
  })

  it('checksums make the covered bytes sum to zero', () => {
    expect(checksum(hex('2018'))).toBe(0xc8)
    expect(checksum(hex('81003 88e04'.replace(/ /g, '')))).toBe(0xb5)
  })

  it('round-trips a response and refuses a bad checksum', () => {
    const rq = request(NetFn.CHASSIS, Cmd.GET_CHASSIS_STATUS, 17)
    const rs = encodeResponse(responseTo(rq, 0, [1, 0, 0]))
    const back = decodeResponse(rs)
    expect(back).toMatchObject({ netFn: 1, cmd: 1, rqSeq: 17, cc: 0 })
    expect([...back.data]).toEqual([1, 0, 0])
    rs.writeUInt8(rs.readUInt8(7) ^ 1, 7)
    expect(() => decodeResponse(rs)).toThrow(IpmiCodecError)
  })
})

describe('ASF presence ping', () => {
  it('matches the reference bytes', () => {
    expect(encodeAsfPing(0x42).toString('hex')).toBe('0600ff06000011be80420000')
    const pong = encodeAsfPong(0x42)
    expect(pong.toString('hex')).toBe(`0600ff06000011be40420010000011be000000008100${'00'.repeat(6)}`)
    const d = decodeAsf(pong)
    expect(d.type).toBe(AsfType.PONG)
    expect(d.tag).toBe(0x42)
  })
})

describe('RAKP known-answer vector (suite 3, ipmitool ↔ ipmi_sim)', () => {
  it('computes the RAKP2 and RAKP3 key exchange auth codes', () => {
    expect(rakp2AuthCode(SUITE_3, KUID, X).toString('hex')).toBe('d8b317c8fb2b3dd81238e559d1039a5b21e1de9a')
    expect(rakp3AuthCode(SUITE_3, KUID, X).toString('hex')).toBe('d805cf58a58520d66772912a6af840911c861da2')
  })

  it('derives SIK, K1, K2 and the RAKP4 ICV', () => {
    const keys = sessionKeys(SUITE_3, KUID, undefined, X)
    expect(keys.sik.toString('hex')).toBe('c101b2fb8a91616bb70b10e4b7b0a1e9c558c96e')
    expect(keys.k1.toString('hex')).toBe('009f7f770cc5147167fc4d5f96010ce157d4ef49')
    expect(keys.k2.toString('hex')).toBe('02e65f65946bac37bfc091ada82117dfa963114f')
    expect(rakp4Icv(keys, X).toString('hex')).toBe('c9d516f115e40bef6349f1c6')
  })

  it('a zero Kg is no Kg; a real Kg changes the SIK only', () => {
    const none = sessionKeys(SUITE_3, KUID, Buffer.alloc(20), X)
    expect(none.sik.toString('hex')).toBe('c101b2fb8a91616bb70b10e4b7b0a1e9c558c96e')
    const kg = sessionKeys(SUITE_3, KUID, Buffer.from('bmc-key'), X)
    expect(kg.sik.equals(none.sik)).toBe(false)
  })

  const PACKET = hex(`0600ff07 06 c0 821a0000 03000000 2000
    6aad2226c9d466718d0ba3d0d50e528e 461eb70fce60c45b96f4a539a81e57da ffff 02 07 4cda89ad21a79acb8c74ab10`)

  it('encrypts and authenticates the first protected packet byte for byte', () => {
    const keys = sessionKeys(SUITE_3, KUID, undefined, X)
    const msg = encodeRequest(request(NetFn.APP, Cmd.SET_SESSION_PRIVILEGE, 1, [4]))
    expect(msg.toString('hex')).toBe('2018c881043b043c')
    const out = encodeV2Protected(
      keys,
      { payloadType: 0, sessionId: X.bmcSid, seq: 3 },
      msg,
      hex('6aad2226c9d466718d0ba3d0d50e528e'),
    )
    expect(out.toString('hex')).toBe(PACKET.toString('hex'))
  })

  it('verifies and decrypts it, and refuses it with any bit flipped', () => {
    const keys = sessionKeys(SUITE_3, KUID, undefined, X)
    const p = parseV2(PACKET)
    expect(p).toMatchObject({
      authenticated: true,
      encrypted: true,
      sessionId: X.bmcSid,
      seq: 3,
      payloadType: 0,
    })
    const plain = openV2(keys, p)
    expect(decodeRequest(plain)).toMatchObject({ cmd: Cmd.SET_SESSION_PRIVILEGE, rqSeq: 1 })
    for (const i of [5, 6, 10, 20, 40, PACKET.length - 13, PACKET.length - 1]) {
      const bad = Buffer.from(PACKET)
      bad.writeUInt8(bad.readUInt8(i) ^ 0x01, i)
      expect(() => openV2(keys, parseV2(bad)), `byte ${i}`).toThrow(IpmiCodecError)
    }
  })
})

describe('suite 17 (RAKP-HMAC-SHA256, HMAC-SHA256-128, AES-CBC-128)', () => {
  it('uses 32-byte RAKP codes, a 16-byte ICV and 16-byte AuthCodes, and round-trips', () => {
    expect(rakp2AuthCode(SUITE_17, KUID, X)).toHaveLength(32)
    const keys = sessionKeys(SUITE_17, KUID, undefined, X)
    expect(keys.k1).toHaveLength(32)
    expect(rakp4Icv(keys, X)).toHaveLength(16)
    const msg = encodeRequest(request(NetFn.CHASSIS, Cmd.CHASSIS_CONTROL, 9, [0]))
    const pkt = encodeV2Protected(keys, { payloadType: 0, sessionId: 77, seq: 1 }, msg)
    expect((pkt.length - 16 - 16) % 4).toBe(0)
    expect(openV2(keys, parseV2(pkt)).equals(msg)).toBe(true)
    // the suite-3 keys of the same exchange must not open it
    expect(() => openV2(sessionKeys(SUITE_3, KUID, undefined, X), parseV2(pkt))).toThrow(IpmiCodecError)
  })
})

describe('session set-up messages', () => {
  it('Open Session Request matches the 32-byte layout', () => {
    const b = encodeOpenSessionRequest({
      tag: 0,
      maxPriv: 0,
      consoleSid: X.consoleSid,
      auth: 1,
      integrity: 1,
      confidentiality: 1,
    })
    expect(b.toString('hex')).toBe('00000000a4a3a2a0000000080100000001000008010000000200000801000000')
    expect(decodeOpenSessionRequest(b)).toMatchObject({
      consoleSid: X.consoleSid,
      auth: 1,
      integrity: 1,
      confidentiality: 1,
    })
  })

  it('RAKP1 carries role and user name', () => {
    const b = encodeRakp1({ tag: 1, bmcSid: X.bmcSid, rm: X.rm, role: 0x14, username: X.username })
    expect(b).toHaveLength(28 + 5)
    const back = decodeRakp1(b)
    expect(back.username.toString()).toBe('admin')
    expect(back.role).toBe(0x14)
    expect(back.rm.equals(X.rm)).toBe(true)
  })

  it('cipher suite records of suites 3 and 17 as the reference lists them', () => {
    const recs = [
      { id: 3, auth: [1], integrity: [1], confidentiality: [1] },
      { id: 17, auth: [3], integrity: [4], confidentiality: [1] },
    ]
    const b = encodeCipherSuiteRecords(recs)
    expect(b.toString('hex')).toBe('c003014181c011034481')
    expect(decodeCipherSuiteRecords(b)).toEqual(recs)
    // ipmi_sim's first chunk (suite 0 listed as explicit "none" algorithms)
    expect(decodeCipherSuiteRecords(hex('c000004080c001014080c0020141'))[0]).toEqual({
      id: 0,
      auth: [0],
      integrity: [0],
      confidentiality: [0],
    })
  })

  it('IPMI v1.5 framing round-trips (session-less, auth type none)', () => {
    const msg = encodeRequest(request(NetFn.APP, Cmd.GET_CHANNEL_AUTH_CAPS, 0, authCapsRequest(4)))
    const pkt = encodeV15({ authType: 0, seq: 0, sessionId: 0, message: msg })
    expect(pkt.toString('hex')).toBe(`0600ff0700000000000000000009${msg.toString('hex')}`)
    expect(decodeV15(pkt).message.equals(msg)).toBe(true)
  })
})

describe('sequence window', () => {
  it('refuses zero, replays, old and far-ahead numbers; skips 0 on wrap', () => {
    const w = new SequenceWindow(8, 32, false)
    expect(w.check(0)).toBe('zero')
    expect(w.check(5)).toBeUndefined()
    w.accept(5)
    expect(w.check(5)).toBe('replayed')
    expect(w.check(6)).toBeUndefined()
    w.accept(7)
    expect(w.check(6)).toBeUndefined()
    w.accept(6)
    expect(w.check(6)).toBe('replayed')
    expect(w.check(40)).toBe('too-far-ahead')
    w.accept(30)
    expect(w.check(21)).toBe('too-old')
    expect(nextSeq(0xffffffff)).toBe(1)
    const lax = new SequenceWindow(16, 15, true)
    lax.accept(3)
    expect(lax.check(3)).toBeUndefined()
  })
})
