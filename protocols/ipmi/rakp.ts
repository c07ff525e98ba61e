/**
 * RMCP+ session establishment (IPMI v2.0 13.17–13.31): Open Session Request/Response and
 * RAKP messages 1–4, with the HMACs and key derivation of RAKP-HMAC-SHA1/SHA256.
 *
 * Names follow the spec: m = remote console, c = managed system (the BMC). Session ids are
 * hashed as their little-endian wire bytes, the GUID in wire order, ROLEm as the whole byte
 * (privilege and the name-only lookup bit).
 */
import type { SuiteAlgorithms } from './constants.js'
import { type CipherProfile, type SessionKeys, deriveKeys, hmac } from './crypto.js'
import { IpmiCodecError, need } from './errors.js'

function u32(n: number): Buffer {
  const b = Buffer.alloc(4)
  b.writeUInt32LE(n >>> 0, 0)
  return b
}

function algRecord(type: number, alg: number): Buffer {
  return Buffer.from([type, 0, 0, 8, alg & 0x3f, 0, 0, 0])
}

/** Read one 8-byte algorithm payload; returns the algorithm id. */
function readAlg(buf: Buffer, off: number, type: number, what: string): number {
  if (buf.readUInt8(off) !== type)
    throw new IpmiCodecError('field', `${what}: payload type ${buf.readUInt8(off)}, expected ${type}`)
  if (buf.readUInt8(off + 3) !== 8)
    throw new IpmiCodecError('field', `${what}: payload length ${buf.readUInt8(off + 3)}, expected 8`)
  return buf.readUInt8(off + 4) & 0x3f
}

export interface OpenSessionRequest extends SuiteAlgorithms {
  tag: number
  /** Requested maximum privilege; 0 = the highest that matches the proposed algorithms. */
  maxPriv: number
  consoleSid: number
}

export function encodeOpenSessionRequest(r: OpenSessionRequest): Buffer {
  return Buffer.concat([
    Buffer.from([r.tag & 0xff, r.maxPriv & 0x0f, 0, 0]),
    u32(r.consoleSid),
    algRecord(0, r.auth),
    algRecord(1, r.integrity),
    algRecord(2, r.confidentiality),
  ])
}

export function decodeOpenSessionRequest(buf: Buffer): OpenSessionRequest {
  need(buf, 32, 'Open Session Request')
  return {
    tag: buf.readUInt8(0),
    maxPriv: buf.readUInt8(1) & 0x0f,
    consoleSid: buf.readUInt32LE(4),
    auth: readAlg(buf, 8, 0, 'authentication payload'),
    integrity: readAlg(buf, 16, 1, 'integrity payload'),
    confidentiality: readAlg(buf, 24, 2, 'confidentiality payload'),
  }
}

export interface OpenSessionResponse {
  tag: number
  status: number
  maxPriv: number
  consoleSid: number
  /** Present when status is 0. */
  bmcSid?: number
  algorithms?: SuiteAlgorithms
}

export function encodeOpenSessionResponse(r: OpenSessionResponse): Buffer {
  const head = Buffer.concat([Buffer.from([r.tag & 0xff, r.status, r.maxPriv & 0x0f, 0]), u32(r.consoleSid)])
  if (r.status !== 0 || r.bmcSid === undefined || !r.algorithms) return head
  return Buffer.concat([
    head,
    u32(r.bmcSid),
    algRecord(0, r.algorithms.auth),
    algRecord(1, r.algorithms.integrity),
    algRecord(2, r.algorithms.confidentiality),
  ])
}

export function decodeOpenSessionResponse(buf: Buffer): OpenSessionResponse {
  need(buf, 2, 'Open Session Response')
  const tag = buf.readUInt8(0)
  const status = buf.readUInt8(1)
  if (status !== 0) {
    // error responses may stop after the status or after the console session id
    return {
      tag,
      status,
      maxPriv: buf.length > 2 ? buf.readUInt8(2) & 0x0f : 0,
      consoleSid: buf.length >= 8 ? buf.readUInt32LE(4) : 0,
    }
  }
  need(buf, 36, 'Open Session Response')
  return {
    tag,
    status,
    maxPriv: buf.readUInt8(2) & 0x0f,
    consoleSid: buf.readUInt32LE(4),
    bmcSid: buf.readUInt32LE(8),
    algorithms: {
      auth: readAlg(buf, 12, 0, 'authentication payload'),
      integrity: readAlg(buf, 20, 1, 'integrity payload'),
      confidentiality: readAlg(buf, 28, 2, 'confidentiality payload'),
    },
  }
}

export interface Rakp1 {
  tag: number
  bmcSid: number
  /** Remote console random number Rm, 16 bytes. */
  rm: Buffer
  /** ROLEm: privilege (bits 3:0) and the name-only lookup bit (bit 4). */
  role: number
  username: Buffer
}

export function encodeRakp1(r: Rakp1): Buffer {
  if (r.rm.length !== 16) throw new IpmiCodecError('field', 'Rm must be 16 bytes')
  if (r.username.length > 16) throw new IpmiCodecError('field', 'user names are at most 16 bytes')
  return Buffer.concat([
    Buffer.from([r.tag & 0xff, 0, 0, 0]),
    u32(r.bmcSid),
    r.rm,
    Buffer.from([r.role & 0xff, 0, 0, r.username.length]),
    r.username,
  ])
}

export function decodeRakp1(buf: Buffer): Rakp1 {
  need(buf, 28, 'RAKP Message 1')
  const ulen = buf.readUInt8(27)
  if (ulen > 16) throw new IpmiCodecError('field', `RAKP1 user name length ${ulen}`)
  need(buf, 28 + ulen, 'RAKP1 user name')
  return {
    tag: buf.readUInt8(0),
    bmcSid: buf.readUInt32LE(4),
    rm: Buffer.from(buf.subarray(8, 24)),
    role: buf.readUInt8(24),
    username: Buffer.from(buf.subarray(28, 28 + ulen)),
  }
}

export interface Rakp2 {
  tag: number
  status: number
  consoleSid: number
  /** Present when status is 0. */
  rc?: Buffer
  guid?: Buffer
  authCode?: Buffer
}

export function encodeRakp2(r: Rakp2): Buffer {
  const head = Buffer.concat([Buffer.from([r.tag & 0xff, r.status, 0, 0]), u32(r.consoleSid)])
  if (r.status !== 0 || !r.rc || !r.guid) return head
  return Buffer.concat([head, r.rc, r.guid, r.authCode ?? Buffer.alloc(0)])
}

/** The auth code's length depends on the negotiated algorithm: the caller checks it. */
export function decodeRakp2(buf: Buffer): Rakp2 {
  need(buf, 2, 'RAKP Message 2')
  const tag = buf.readUInt8(0)
  const status = buf.readUInt8(1)
  if (status !== 0) return { tag, status, consoleSid: buf.length >= 8 ? buf.readUInt32LE(4) : 0 }
  need(buf, 40, 'RAKP Message 2')
  return {
    tag,
    status,
    consoleSid: buf.readUInt32LE(4),
    rc: Buffer.from(buf.subarray(8, 24)),
    guid: Buffer.from(buf.subarray(24, 40)),
    authCode: Buffer.from(buf.subarray(40)),
  }
}

export interface Rakp3 {
  tag: number
  /** The console's verdict on RAKP2 (0x0F: its HMAC was wrong). */
  status: number
  bmcSid: number
  authCode: Buffer
}

export function encodeRakp3(r: Rakp3): Buffer {
  return Buffer.concat([Buffer.from([r.tag & 0xff, r.status, 0, 0]), u32(r.bmcSid), r.authCode])
}

export function decodeRakp3(buf: Buffer): Rakp3 {
  need(buf, 8, 'RAKP Message 3')
  return {
    tag: buf.readUInt8(0),
    status: buf.readUInt8(1),
    bmcSid: buf.readUInt32LE(4),
    authCode: Buffer.from(buf.subarray(8)),
  }
}

export interface Rakp4 {
  tag: number
  status: number
  consoleSid: number
  icv: Buffer
}

export function encodeRakp4(r: Rakp4): Buffer {
  return Buffer.concat([Buffer.from([r.tag & 0xff, r.status, 0, 0]), u32(r.consoleSid), r.icv])
}

export function decodeRakp4(buf: Buffer): Rakp4 {
  need(buf, 2, 'RAKP Message 4')
  const tag = buf.readUInt8(0)
  const status = buf.readUInt8(1)
  if (status !== 0)
    return { tag, status, consoleSid: buf.length >= 8 ? buf.readUInt32LE(4) : 0, icv: Buffer.alloc(0) }
  need(buf, 8, 'RAKP Message 4')
  return { tag, status, consoleSid: buf.readUInt32LE(4), icv: Buffer.from(buf.subarray(8)) }
}

/** What both ends know once RAKP2 is through: the inputs of every HMAC below. */
export interface RakpExchange {
  consoleSid: number
  bmcSid: number
  rm: Buffer
  rc: Buffer
  guid: Buffer
  role: number
  username: Buffer
}

/** Kuid / Kg: the password (or BMC key), at most 20 bytes; HMAC's zero-padding makes 20-byte padding moot. */
export function keyBytes(secret: string | Buffer): Buffer {
  const b = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret
  if (b.length > 20) throw new IpmiCodecError('field', 'IPMI v2.0 keys are at most 20 bytes')
  return b
}

function nameField(x: RakpExchange): Buffer {
  return Buffer.concat([Buffer.from([x.role & 0xff, x.username.length]), x.username])
}

/** RAKP2 key exchange auth code: HMAC_Kuid(SIDm ‖ SIDc ‖ Rm ‖ Rc ‖ GUIDc ‖ ROLEm ‖ ULENm ‖ UNAMEm). */
export function rakp2AuthCode(p: CipherProfile, kuid: Buffer, x: RakpExchange): Buffer {
  return hmac(p.authHash, kuid, u32(x.consoleSid), u32(x.bmcSid), x.rm, x.rc, x.guid, nameField(x))
}

/** RAKP3 key exchange auth code: HMAC_Kuid(Rc ‖ SIDm ‖ ROLEm ‖ ULENm ‖ UNAMEm). */
export function rakp3AuthCode(p: CipherProfile, kuid: Buffer, x: RakpExchange): Buffer {
  return hmac(p.authHash, kuid, x.rc, u32(x.consoleSid), nameField(x))
}

/**
 * SIK = HMAC_{Kg, or Kuid when Kg is absent or all zero}(Rm ‖ Rc ‖ ROLEm ‖ ULENm ‖ UNAMEm),
 * then K1 and K2 from it.
 */
export function sessionKeys(
  p: CipherProfile,
  kuid: Buffer,
  kg: Buffer | undefined,
  x: RakpExchange,
): SessionKeys {
  const key = kg?.some((b) => b !== 0) ? kg : kuid
  return deriveKeys(p, hmac(p.authHash, key, x.rm, x.rc, nameField(x)))
}

/** RAKP4 integrity check value: HMAC_SIK(Rm ‖ SIDc ‖ GUIDc), truncated. */
export function rakp4Icv(keys: SessionKeys, x: RakpExchange): Buffer {
  return hmac(keys.profile.authHash, keys.sik, x.rm, u32(x.bmcSid), x.guid).subarray(
    0,
    keys.profile.rakp4IcvLen,
  )
}
