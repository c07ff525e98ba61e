/**
 * Request and response bodies of the commands the gateway and the mock BMC use. Decoders take
 * the response data after the completion code; they throw IpmiCodecError on short data.
 */
import { CURRENT_CHANNEL } from './constants.js'
import { IpmiCodecError, need } from './errors.js'

// --- Get Channel Authentication Capabilities (App 0x38) ---------------------------------

export function authCapsRequest(privilege: number, channel = CURRENT_CHANNEL): Buffer {
  // bit 7: "get IPMI v2.0+ extended data"
  return Buffer.from([0x80 | (channel & 0x0f), privilege & 0x0f])
}

export interface AuthCapsRequest {
  v20: boolean
  channel: number
  privilege: number
}

export function decodeAuthCapsRequest(data: Buffer): AuthCapsRequest {
  need(data, 2, 'Get Channel Auth Caps request')
  return {
    v20: (data.readUInt8(0) & 0x80) !== 0,
    channel: data.readUInt8(0) & 0x0f,
    privilege: data.readUInt8(1) & 0x0f,
  }
}

export interface AuthCaps {
  channel: number
  /** IPMI v2.0 extended data present (ipmitool lanplus requires it). */
  v20Data: boolean
  /** IPMI v1.5 auth types enabled (bit 0 none, 1 MD2, 2 MD5, 4 straight password, 5 OEM). */
  v15AuthTypes: number
  kgSet: boolean
  perMessageAuthDisabled: boolean
  userLevelAuthDisabled: boolean
  nonNullUsers: boolean
  nullUsers: boolean
  anonymousLogin: boolean
  ipmi20: boolean
  ipmi15: boolean
  oemIana: number
  oemAux: number
}

export function encodeAuthCaps(c: AuthCaps): Buffer {
  const b = Buffer.alloc(8)
  b.writeUInt8(c.channel, 0)
  b.writeUInt8((c.v20Data ? 0x80 : 0) | (c.v15AuthTypes & 0x3f), 1)
  b.writeUInt8(
    (c.kgSet ? 0x20 : 0) |
      (c.perMessageAuthDisabled ? 0x10 : 0) |
      (c.userLevelAuthDisabled ? 0x08 : 0) |
      (c.nonNullUsers ? 0x04 : 0) |
      (c.nullUsers ? 0x02 : 0) |
      (c.anonymousLogin ? 0x01 : 0),
    2,
  )
  b.writeUInt8((c.ipmi20 ? 0x02 : 0) | (c.ipmi15 ? 0x01 : 0), 3)
  b.writeUIntLE(c.oemIana, 4, 3)
  b.writeUInt8(c.oemAux, 7)
  return b
}

export function decodeAuthCaps(data: Buffer): AuthCaps {
  need(data, 8, 'Get Channel Auth Caps response')
  const b1 = data.readUInt8(1)
  const b2 = data.readUInt8(2)
  const b3 = data.readUInt8(3)
  return {
    channel: data.readUInt8(0),
    v20Data: (b1 & 0x80) !== 0,
    v15AuthTypes: b1 & 0x3f,
    kgSet: (b2 & 0x20) !== 0,
    perMessageAuthDisabled: (b2 & 0x10) !== 0,
    userLevelAuthDisabled: (b2 & 0x08) !== 0,
    nonNullUsers: (b2 & 0x04) !== 0,
    nullUsers: (b2 & 0x02) !== 0,
    anonymousLogin: (b2 & 0x01) !== 0,
    ipmi20: (b1 & 0x80) !== 0 && (b3 & 0x02) !== 0,
    ipmi15: (b3 & 0x01) !== 0,
    oemIana: data.readUIntLE(4, 3),
    oemAux: data.readUInt8(7),
  }
}

// --- Get Channel Cipher Suites (App 0x54) ------------------------------------------------

/** Records come 16 bytes per index; a shorter chunk is the last. */
export const CIPHER_SUITE_CHUNK = 16

export function cipherSuitesRequest(index: number, channel = CURRENT_CHANNEL): Buffer {
  // payload type 0 (IPMI), bit 7: list by cipher suite
  return Buffer.from([channel & 0x0f, 0x00, 0x80 | (index & 0x3f)])
}

export interface CipherSuitesRequest {
  channel: number
  payloadType: number
  bySuite: boolean
  index: number
}

export function decodeCipherSuitesRequest(data: Buffer): CipherSuitesRequest {
  need(data, 3, 'Get Channel Cipher Suites request')
  const b2 = data.readUInt8(2)
  return {
    channel: data.readUInt8(0) & 0x0f,
    payloadType: data.readUInt8(1) & 0x3f,
    bySuite: (b2 & 0x80) !== 0,
    index: b2 & 0x3f,
  }
}

export interface CipherSuiteRecord {
  id: number
  /** Standard (0xC0) or OEM (0xC1, with an IANA number). */
  oemIana?: number
  auth: number[]
  integrity: number[]
  confidentiality: number[]
}

export function encodeCipherSuiteRecords(records: CipherSuiteRecord[]): Buffer {
  const out: number[] = []
  for (const r of records) {
    if (r.oemIana !== undefined)
      out.push(0xc1, r.id, r.oemIana & 0xff, (r.oemIana >> 8) & 0xff, (r.oemIana >> 16) & 0xff)
    else out.push(0xc0, r.id)
    for (const a of r.auth) out.push(a & 0x3f)
    for (const a of r.integrity) out.push(0x40 | (a & 0x3f))
    for (const a of r.confidentiality) out.push(0x80 | (a & 0x3f))
  }
  return Buffer.from(out)
}

/** Parse the concatenated record bytes of every chunk (after the channel byte). */
export function decodeCipherSuiteRecords(bytes: Buffer): CipherSuiteRecord[] {
  const records: CipherSuiteRecord[] = []
  let i = 0
  let cur: CipherSuiteRecord | undefined
  while (i < bytes.length) {
    const b = bytes.readUInt8(i)
    if (b === 0xc0 || b === 0xc1) {
      const oem = b === 0xc1
      need(bytes, i + (oem ? 5 : 2), 'cipher suite record')
      cur = { id: bytes.readUInt8(i + 1), auth: [], integrity: [], confidentiality: [] }
      if (oem) cur.oemIana = bytes.readUIntLE(i + 2, 3)
      records.push(cur)
      i += oem ? 5 : 2
      continue
    }
    if (!cur)
      throw new IpmiCodecError('field', `cipher suite data starts with 0x${b.toString(16)}, not a record`)
    const tag = b & 0xc0
    if (tag === 0x00) cur.auth.push(b & 0x3f)
    else if (tag === 0x40) cur.integrity.push(b & 0x3f)
    else if (tag === 0x80) cur.confidentiality.push(b & 0x3f)
    else throw new IpmiCodecError('field', `cipher suite algorithm byte 0x${b.toString(16)}`)
    i++
  }
  return records
}

// --- Set Session Privilege Level (App 0x3B) / Close Session (App 0x3C) -------------------

export function closeSessionRequest(bmcSid: number): Buffer {
  const b = Buffer.alloc(4)
  b.writeUInt32LE(bmcSid >>> 0, 0)
  return b
}

export function decodeCloseSessionRequest(data: Buffer): number {
  need(data, 4, 'Close Session request')
  return data.readUInt32LE(0)
}

// --- Get Device ID (App 0x01) ---------------------------------------------------------------

export interface DeviceId {
  deviceId: number
  deviceRevision: number
  firmwareMajor: number
  /** BCD on the wire: 0x13 = .13 */
  firmwareMinor: number
  ipmiVersion: number
  additionalSupport: number
  manufacturerId: number
  productId: number
  aux?: Buffer
}

export function encodeDeviceId(d: DeviceId): Buffer {
  const b = Buffer.alloc(11)
  b.writeUInt8(d.deviceId, 0)
  b.writeUInt8(d.deviceRevision & 0x0f, 1)
  b.writeUInt8(d.firmwareMajor & 0x7f, 2)
  b.writeUInt8(d.firmwareMinor, 3)
  b.writeUInt8(d.ipmiVersion, 4)
  b.writeUInt8(d.additionalSupport, 5)
  b.writeUIntLE(d.manufacturerId, 6, 3)
  b.writeUInt16LE(d.productId, 9)
  return d.aux ? Buffer.concat([b, d.aux]) : b
}

export function decodeDeviceId(data: Buffer): DeviceId {
  need(data, 11, 'Get Device ID response')
  const d: DeviceId = {
    deviceId: data.readUInt8(0),
    deviceRevision: data.readUInt8(1) & 0x0f,
    firmwareMajor: data.readUInt8(2) & 0x7f,
    firmwareMinor: data.readUInt8(3),
    ipmiVersion: data.readUInt8(4),
    additionalSupport: data.readUInt8(5),
    manufacturerId: data.readUIntLE(6, 3),
    productId: data.readUInt16LE(9),
  }
  if (data.length >= 15) d.aux = Buffer.from(data.subarray(11, 15))
  return d
}

// --- Get Chassis Status (Chassis 0x01) ------------------------------------------------------

export interface ChassisStatus {
  powerOn: boolean
  overload: boolean
  interlock: boolean
  mainPowerFault: boolean
  powerControlFault: boolean
  /** 0 stays off, 1 restores the previous state, 2 powers up, 3 unknown. */
  restorePolicy: number
  /** Last power event byte (bit 4: last power on was by an IPMI command). */
  lastEvent: number
  misc: number
}

export function encodeChassisStatus(s: ChassisStatus): Buffer {
  return Buffer.from([
    (s.powerOn ? 0x01 : 0) |
      (s.overload ? 0x02 : 0) |
      (s.interlock ? 0x04 : 0) |
      (s.mainPowerFault ? 0x08 : 0) |
      (s.powerControlFault ? 0x10 : 0) |
      ((s.restorePolicy & 3) << 5),
    s.lastEvent & 0x1f,
    s.misc & 0x0f,
  ])
}

export function decodeChassisStatus(data: Buffer): ChassisStatus {
  need(data, 3, 'Get Chassis Status response')
  const b0 = data.readUInt8(0)
  return {
    powerOn: (b0 & 0x01) !== 0,
    overload: (b0 & 0x02) !== 0,
    interlock: (b0 & 0x04) !== 0,
    mainPowerFault: (b0 & 0x08) !== 0,
    powerControlFault: (b0 & 0x10) !== 0,
    restorePolicy: (b0 >> 5) & 3,
    lastEvent: data.readUInt8(1),
    misc: data.readUInt8(2),
  }
}
