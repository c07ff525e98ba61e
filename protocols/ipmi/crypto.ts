/**
 * The cryptography of RMCP+ sessions that this codec implements: RAKP-HMAC-SHA1 and
 * RAKP-HMAC-SHA256 authentication, HMAC-SHA1-96 and HMAC-SHA256-128 integrity, AES-CBC-128
 * confidentiality. That is cipher suites 3 and 17, nothing weaker: no MD5, no RC4, no "none".
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { AuthAlg, ConfAlg, IntegrityAlg, STANDARD_SUITES, type SuiteAlgorithms } from './constants.js'
import { IpmiCodecError } from './errors.js'

export type HashName = 'sha1' | 'sha256'

/** Everything that differs between the suites we speak. */
export interface CipherProfile extends SuiteAlgorithms {
  suite: number
  /** Hash of the RAKP HMACs, the SIK and K1/K2. */
  authHash: HashName
  /** Length of the RAKP2/RAKP3 key exchange auth codes. */
  rakpCodeLen: number
  /** Length of the RAKP4 integrity check value (the HMAC truncated). */
  rakp4IcvLen: number
  /** Hash and truncated length of the per-packet AuthCode. */
  integrityHash: HashName
  integrityLen: number
}

export const SUITE_3: CipherProfile = {
  suite: 3,
  auth: AuthAlg.HMAC_SHA1,
  integrity: IntegrityAlg.HMAC_SHA1_96,
  confidentiality: ConfAlg.AES_CBC_128,
  authHash: 'sha1',
  rakpCodeLen: 20,
  rakp4IcvLen: 12,
  integrityHash: 'sha1',
  integrityLen: 12,
}

export const SUITE_17: CipherProfile = {
  suite: 17,
  auth: AuthAlg.HMAC_SHA256,
  integrity: IntegrityAlg.HMAC_SHA256_128,
  confidentiality: ConfAlg.AES_CBC_128,
  authHash: 'sha256',
  rakpCodeLen: 32,
  rakp4IcvLen: 16,
  integrityHash: 'sha256',
  integrityLen: 16,
}

/** The only suites the codec implements (and so the only ones driver and mock can use). */
export const PROFILES: ReadonlyMap<number, CipherProfile> = new Map([
  [3, SUITE_3],
  [17, SUITE_17],
])

/** The profile whose algorithms are exactly these, or undefined (a suite we refuse). */
export function profileForAlgorithms(a: SuiteAlgorithms): CipherProfile | undefined {
  for (const p of PROFILES.values())
    if (p.auth === a.auth && p.integrity === a.integrity && p.confidentiality === a.confidentiality) return p
  return undefined
}

/** The standard suite id of these algorithms, when they form one. */
export function suiteIdOf(a: SuiteAlgorithms): number | undefined {
  for (const [id, s] of STANDARD_SUITES)
    if (s.auth === a.auth && s.integrity === a.integrity && s.confidentiality === a.confidentiality) return id
  return undefined
}

export function hmac(hash: HashName, key: Buffer, ...parts: Buffer[]): Buffer {
  const h = createHmac(hash, key)
  for (const p of parts) h.update(p)
  return h.digest()
}

/** Constant-time comparison; lengths are public, so a length mismatch returns at once. */
export function constantTimeEqual(a: Buffer, b: Buffer): boolean {
  if (a.length !== b.length) return false
  return timingSafeEqual(a, b)
}

export function secureRandom(n: number): Buffer {
  return randomBytes(n)
}

/** A random non-zero 32-bit session id (0 means "no session" on the wire). */
export function randomSessionId(): number {
  for (;;) {
    const id = randomBytes(4).readUInt32LE(0)
    if (id !== 0) return id
  }
}

export const AES_BLOCK = 16

/**
 * AES-CBC-128 payload (IPMI v2.0 13.29): IV ‖ AES(data ‖ 01 02 … N ‖ N) with N chosen so the
 * plaintext fills whole blocks. No PKCS#7: the pad and its length byte are IPMI's own.
 */
export function aesEncrypt(k2: Buffer, data: Buffer, iv: Buffer = randomBytes(AES_BLOCK)): Buffer {
  const n = (AES_BLOCK - ((data.length + 1) % AES_BLOCK)) % AES_BLOCK
  const pad = Buffer.alloc(n + 1)
  for (let i = 0; i < n; i++) pad.writeUInt8(i + 1, i)
  pad.writeUInt8(n, n)
  const c = createCipheriv('aes-128-cbc', k2.subarray(0, 16), iv)
  c.setAutoPadding(false)
  return Buffer.concat([iv, c.update(Buffer.concat([data, pad])), c.final()])
}

export function aesDecrypt(k2: Buffer, payload: Buffer): Buffer {
  if (payload.length < 2 * AES_BLOCK || payload.length % AES_BLOCK !== 0)
    throw new IpmiCodecError(
      'confidentiality',
      `encrypted payload of ${payload.length} bytes is not an IV and whole AES blocks`,
    )
  const d = createDecipheriv('aes-128-cbc', k2.subarray(0, 16), payload.subarray(0, AES_BLOCK))
  d.setAutoPadding(false)
  const plain = Buffer.concat([d.update(payload.subarray(AES_BLOCK)), d.final()])
  const n = plain.readUInt8(plain.length - 1)
  if (n >= AES_BLOCK) throw new IpmiCodecError('confidentiality', `confidentiality pad length ${n}`)
  for (let i = 0; i < n; i++)
    if (plain.readUInt8(plain.length - 1 - n + i) !== i + 1)
      throw new IpmiCodecError('confidentiality', 'confidentiality pad bytes are not 1..N')
  return plain.subarray(0, plain.length - 1 - n)
}

/** The keys of an established session, as both ends derive them. */
export interface SessionKeys {
  profile: CipherProfile
  sik: Buffer
  /** Integrity key (HMAC key of the AuthCode). */
  k1: Buffer
  /** Confidentiality key; AES uses its first 16 bytes. */
  k2: Buffer
}

const CONST_1 = Buffer.alloc(20, 0x01)
const CONST_2 = Buffer.alloc(20, 0x02)

/** K1 = HMAC_SIK(0x01 × 20), K2 = HMAC_SIK(0x02 × 20) with the authentication hash. */
export function deriveKeys(profile: CipherProfile, sik: Buffer): SessionKeys {
  return {
    profile,
    sik,
    k1: hmac(profile.authHash, sik, CONST_1),
    k2: hmac(profile.authHash, sik, CONST_2),
  }
}

/** The AuthCode of a packet: HMAC_K1 over authType..nextHeader, truncated. */
export function authCode(keys: SessionKeys, covered: Buffer): Buffer {
  return hmac(keys.profile.integrityHash, keys.k1, covered).subarray(0, keys.profile.integrityLen)
}

/** Is `id` one of the algorithms we never accept (for clear error messages)? */
export function weakness(a: SuiteAlgorithms): string | undefined {
  if (a.auth === AuthAlg.NONE) return 'no authentication'
  if (a.integrity === IntegrityAlg.NONE) return 'no integrity protection'
  if (a.confidentiality === ConfAlg.NONE) return 'no encryption'
  if (
    a.auth === AuthAlg.HMAC_MD5 ||
    a.integrity === IntegrityAlg.HMAC_MD5_128 ||
    a.integrity === IntegrityAlg.MD5_128
  )
    return 'MD5'
  if (a.confidentiality === ConfAlg.XRC4_128 || a.confidentiality === ConfAlg.XRC4_40) return 'RC4'
  return undefined
}
