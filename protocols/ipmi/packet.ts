/**
 * Session packets inside RMCP class IPMI.
 *
 * IPMI v1.5 (used here only for the session-less Get Channel Authentication Capabilities and
 * Get Channel Cipher Suites, as ipmitool and ipmi_sim do):
 *   RMCP | authType | seq(4 LE) | sessionId(4 LE) | [authCode(16) if authType ≠ 0] | len | message
 *
 * RMCP+ (IPMI v2.0, table 13-8):
 *   RMCP | 0x06 | payloadType (bit7 encrypted, bit6 authenticated) | sessionId(4 LE) | seq(4 LE)
 *        | len(2 LE) | payload | [0xFF pad | pad length | next header 0x07 | AuthCode]
 * The session id is always the receiver's id; the AuthCode covers authType..next header.
 */
import {
  AuthType,
  NEXT_HEADER,
  PAYLOAD_AUTHENTICATED,
  PAYLOAD_ENCRYPTED,
  PayloadType,
  RmcpClass,
} from './constants.js'
import { type SessionKeys, aesDecrypt, aesEncrypt, authCode, constantTimeEqual } from './crypto.js'
import { IpmiCodecError, need } from './errors.js'
import { RMCP_HEADER_LEN, expectIpmiClass, rmcpHeader } from './rmcp.js'

/** The auth type byte of an IPMI-class packet: tells v1.5 framing from RMCP+. */
export function sessionFormat(buf: Buffer): 'v15' | 'v20' {
  expectIpmiClass(buf)
  need(buf, RMCP_HEADER_LEN + 1, 'session header')
  const at = buf.readUInt8(RMCP_HEADER_LEN)
  if (at === AuthType.RMCP_PLUS) return 'v20'
  if (
    at === AuthType.NONE ||
    at === AuthType.MD2 ||
    at === AuthType.MD5 ||
    at === AuthType.PASSWORD ||
    at === AuthType.OEM
  )
    return 'v15'
  throw new IpmiCodecError('auth-type', `session auth type 0x${at.toString(16)}`)
}

export interface V15Packet {
  authType: number
  seq: number
  sessionId: number
  /** 16 bytes when authType ≠ 0. */
  authCode?: Buffer
  message: Buffer
}

export function encodeV15(p: V15Packet): Buffer {
  const h = Buffer.alloc(9)
  h.writeUInt8(p.authType, 0)
  h.writeUInt32LE(p.seq >>> 0, 1)
  h.writeUInt32LE(p.sessionId >>> 0, 5)
  const code = p.authType === AuthType.NONE ? Buffer.alloc(0) : (p.authCode ?? Buffer.alloc(16))
  if (p.message.length > 255) throw new IpmiCodecError('length', 'IPMI v1.5 message longer than 255 bytes')
  return Buffer.concat([rmcpHeader(RmcpClass.IPMI), h, code, Buffer.from([p.message.length]), p.message])
}

export function decodeV15(buf: Buffer): V15Packet {
  if (sessionFormat(buf) !== 'v15') throw new IpmiCodecError('auth-type', 'not an IPMI v1.5 packet')
  need(buf, RMCP_HEADER_LEN + 10, 'IPMI v1.5 session header')
  const authType = buf.readUInt8(4)
  const seq = buf.readUInt32LE(5)
  const sessionId = buf.readUInt32LE(9)
  let off = 13
  let code: Buffer | undefined
  if (authType !== AuthType.NONE) {
    need(buf, off + 16 + 1, 'IPMI v1.5 auth code')
    code = Buffer.from(buf.subarray(off, off + 16))
    off += 16
  }
  const len = buf.readUInt8(off)
  off += 1
  // a trailing legacy pad byte (ipmitool adds one for some lengths) is allowed and ignored
  need(buf, off + len, 'IPMI v1.5 message')
  const p: V15Packet = { authType, seq, sessionId, message: Buffer.from(buf.subarray(off, off + len)) }
  if (code) p.authCode = code
  return p
}

export interface V2Header {
  /** Bits 5:0 of the payload type byte. */
  payloadType: number
  sessionId: number
  seq: number
}

export interface V2Packet extends V2Header {
  encrypted: boolean
  authenticated: boolean
  /** The payload as on the wire (IV + ciphertext when encrypted). */
  payload: Buffer
  /** What follows the payload: integrity pad, pad length, next header, AuthCode. */
  trailer: Buffer
  /** The whole packet, for the AuthCode check. */
  raw: Buffer
}

const V2_HEADER_LEN = 12 // auth type .. payload length

/** Structural decode: no keys needed, nothing verified beyond the layout. */
export function parseV2(buf: Buffer): V2Packet {
  if (sessionFormat(buf) !== 'v20') throw new IpmiCodecError('auth-type', 'not an RMCP+ packet')
  need(buf, RMCP_HEADER_LEN + V2_HEADER_LEN, 'RMCP+ session header')
  const pt = buf.readUInt8(5)
  const payloadType = pt & 0x3f
  if (payloadType === PayloadType.OEM)
    throw new IpmiCodecError('payload-type', 'OEM explicit payloads are not supported')
  const sessionId = buf.readUInt32LE(6)
  const seq = buf.readUInt32LE(10)
  const len = buf.readUInt16LE(14)
  const start = RMCP_HEADER_LEN + V2_HEADER_LEN
  need(buf, start + len, 'RMCP+ payload')
  return {
    payloadType,
    encrypted: (pt & PAYLOAD_ENCRYPTED) !== 0,
    authenticated: (pt & PAYLOAD_AUTHENTICATED) !== 0,
    sessionId,
    seq,
    payload: Buffer.from(buf.subarray(start, start + len)),
    trailer: Buffer.from(buf.subarray(start + len)),
    raw: buf,
  }
}

function v2Header(h: V2Header, flags: number, payloadLen: number): Buffer {
  if (payloadLen > 0xffff) throw new IpmiCodecError('length', 'RMCP+ payload longer than 65535 bytes')
  const b = Buffer.alloc(V2_HEADER_LEN)
  b.writeUInt8(AuthType.RMCP_PLUS, 0)
  b.writeUInt8((h.payloadType & 0x3f) | flags, 1)
  b.writeUInt32LE(h.sessionId >>> 0, 2)
  b.writeUInt32LE(h.seq >>> 0, 6)
  b.writeUInt16LE(payloadLen, 10)
  return b
}

/** An unprotected RMCP+ packet (pre-session messages: sid 0, seq 0, no flags). */
export function encodeV2Plain(h: V2Header, payload: Buffer): Buffer {
  return Buffer.concat([rmcpHeader(RmcpClass.IPMI), v2Header(h, 0, payload.length), payload])
}

/** Integrity pad count: (12 + payloadLen + n + 2) % 4 == 0. */
export function integrityPadLength(payloadLen: number): number {
  return (4 - ((V2_HEADER_LEN + payloadLen + 2) % 4)) % 4
}

/** An encrypted and authenticated RMCP+ packet under the session keys. */
export function encodeV2Protected(keys: SessionKeys, h: V2Header, plaintext: Buffer, iv?: Buffer): Buffer {
  const payload = aesEncrypt(keys.k2, plaintext, iv)
  const n = integrityPadLength(payload.length)
  const covered = Buffer.concat([
    v2Header(h, PAYLOAD_ENCRYPTED | PAYLOAD_AUTHENTICATED, payload.length),
    payload,
    Buffer.alloc(n, 0xff),
    Buffer.from([n, NEXT_HEADER]),
  ])
  return Buffer.concat([rmcpHeader(RmcpClass.IPMI), covered, authCode(keys, covered)])
}

/**
 * Verify and decrypt a protected packet: the AuthCode first (constant time), then the
 * confidentiality layer. Anything short of both flags is refused: a session here is always
 * authenticated and encrypted (suites 3 and 17).
 */
export function openV2(keys: SessionKeys, p: V2Packet): Buffer {
  if (!p.authenticated) throw new IpmiCodecError('integrity', 'packet is not authenticated')
  if (!p.encrypted) throw new IpmiCodecError('confidentiality', 'packet is not encrypted')
  const L = keys.profile.integrityLen
  const t = p.trailer
  if (t.length < L + 2) throw new IpmiCodecError('integrity', `integrity trailer of ${t.length} bytes`)
  if (t.readUInt8(t.length - L - 1) !== NEXT_HEADER)
    throw new IpmiCodecError('integrity', 'next header is not 0x07')
  const padLen = t.readUInt8(t.length - L - 2)
  if (padLen + 2 + L !== t.length) throw new IpmiCodecError('integrity', `integrity pad length ${padLen}`)
  const covered = p.raw.subarray(RMCP_HEADER_LEN, p.raw.length - L)
  const got = p.raw.subarray(p.raw.length - L)
  if (!constantTimeEqual(authCode(keys, covered), got))
    throw new IpmiCodecError('integrity', 'AuthCode does not match')
  return aesDecrypt(keys.k2, p.payload)
}
