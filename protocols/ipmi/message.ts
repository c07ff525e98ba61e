/**
 * IPMI LAN messages (IPMI v2.0 table 13-4/13-5):
 *
 *   request:  rsAddr | netFn<<2|rsLUN | chk1 | rqAddr | rqSeq<<2|rqLUN | cmd | data | chk2
 *   response: rqAddr | netFn<<2|rqLUN | chk1 | rsAddr | rqSeq<<2|rsLUN | cmd | cc | data | chk2
 *
 * chk1 covers the two bytes before it, chk2 everything from the fourth byte to the last data
 * byte; a checksum makes the covered bytes plus itself sum to 0 (mod 256).
 */
import { BMC_ADDR, REMOTE_CONSOLE_ADDR } from './constants.js'
import { IpmiCodecError, need } from './errors.js'

export function checksum(bytes: Uint8Array): number {
  let sum = 0
  for (const b of bytes) sum = (sum + b) & 0xff
  return (0x100 - sum) & 0xff
}

export interface IpmiRequest {
  rsAddr: number
  netFn: number
  rsLun: number
  rqAddr: number
  /** 6-bit request sequence chosen by the requester, echoed in the response. */
  rqSeq: number
  rqLun: number
  cmd: number
  data: Buffer
}

export interface IpmiResponse {
  rqAddr: number
  /** The response netFn as sent on the wire (request netFn + 1). */
  netFn: number
  rqLun: number
  rsAddr: number
  rqSeq: number
  rsLun: number
  cmd: number
  /** Completion code. */
  cc: number
  data: Buffer
}

/** A request from a remote console (0x81) to the BMC (0x20), LUN 0. */
export function request(
  netFn: number,
  cmd: number,
  rqSeq: number,
  data: Buffer | number[] = [],
): IpmiRequest {
  return {
    rsAddr: BMC_ADDR,
    netFn,
    rsLun: 0,
    rqAddr: REMOTE_CONSOLE_ADDR,
    rqSeq: rqSeq & 0x3f,
    rqLun: 0,
    cmd,
    data: Buffer.from(data),
  }
}

/** The response to `rq` (addresses swapped, netFn + 1), with a completion code and data. */
export function responseTo(rq: IpmiRequest, cc: number, data: Buffer | number[] = []): IpmiResponse {
  return {
    rqAddr: rq.rqAddr,
    netFn: (rq.netFn + 1) & 0x3f,
    rqLun: rq.rqLun,
    rsAddr: rq.rsAddr,
    rqSeq: rq.rqSeq,
    rsLun: rq.rsLun,
    cmd: rq.cmd,
    cc,
    data: Buffer.from(data),
  }
}

function frame(a: number, b: number, body: number[], data: Buffer): Buffer {
  const head = Buffer.from([a & 0xff, b & 0xff])
  const rest = Buffer.concat([Buffer.from(body.map((x) => x & 0xff)), data])
  return Buffer.concat([head, Buffer.from([checksum(head)]), rest, Buffer.from([checksum(rest)])])
}

export function encodeRequest(r: IpmiRequest): Buffer {
  return frame(
    r.rsAddr,
    (r.netFn << 2) | (r.rsLun & 3),
    [r.rqAddr, ((r.rqSeq & 0x3f) << 2) | (r.rqLun & 3), r.cmd],
    r.data,
  )
}

export function encodeResponse(r: IpmiResponse): Buffer {
  return frame(
    r.rqAddr,
    (r.netFn << 2) | (r.rqLun & 3),
    [r.rsAddr, ((r.rqSeq & 0x3f) << 2) | (r.rsLun & 3), r.cmd, r.cc],
    r.data,
  )
}

function verifyChecksums(buf: Buffer, what: string): void {
  if (checksum(buf.subarray(0, 3)) !== 0) throw new IpmiCodecError('checksum', `${what}: bad header checksum`)
  if (checksum(buf.subarray(3)) !== 0) throw new IpmiCodecError('checksum', `${what}: bad data checksum`)
}

export function decodeRequest(buf: Buffer): IpmiRequest {
  need(buf, 7, 'IPMI request')
  verifyChecksums(buf, 'IPMI request')
  const b1 = buf.readUInt8(1)
  const b4 = buf.readUInt8(4)
  return {
    rsAddr: buf.readUInt8(0),
    netFn: b1 >> 2,
    rsLun: b1 & 3,
    rqAddr: buf.readUInt8(3),
    rqSeq: b4 >> 2,
    rqLun: b4 & 3,
    cmd: buf.readUInt8(5),
    data: Buffer.from(buf.subarray(6, buf.length - 1)),
  }
}

export function decodeResponse(buf: Buffer): IpmiResponse {
  need(buf, 8, 'IPMI response')
  verifyChecksums(buf, 'IPMI response')
  const b1 = buf.readUInt8(1)
  const b4 = buf.readUInt8(4)
  return {
    rqAddr: buf.readUInt8(0),
    netFn: b1 >> 2,
    rqLun: b1 & 3,
    rsAddr: buf.readUInt8(3),
    rqSeq: b4 >> 2,
    rsLun: b4 & 3,
    cmd: buf.readUInt8(5),
    cc: buf.readUInt8(6),
    data: Buffer.from(buf.subarray(7, buf.length - 1)),
  }
}
