/**
 * RMCP framing (4 bytes: version, reserved, sequence, class) and the ASF presence ping/pong.
 * ASF fields are big-endian, unlike everything IPMI.
 */
import { ASF_IANA, AsfType, RMCP_SEQ_NO_ACK, RMCP_VERSION, RmcpClass } from './constants.js'
import { IpmiCodecError, need } from './errors.js'

export const RMCP_HEADER_LEN = 4

export function rmcpHeader(cls: number, seq = RMCP_SEQ_NO_ACK): Buffer {
  return Buffer.from([RMCP_VERSION, 0x00, seq, cls])
}

export interface RmcpHeader {
  seq: number
  /** Message class, bits 4:0 (0x06 ASF, 0x07 IPMI, 0x08 OEM). */
  cls: number
  /** Bit 7 of the class byte: an RMCP ACK, not a message. */
  ack: boolean
}

export function decodeRmcpHeader(buf: Buffer): RmcpHeader {
  need(buf, RMCP_HEADER_LEN, 'RMCP header')
  if (buf.readUInt8(0) !== RMCP_VERSION)
    throw new IpmiCodecError('rmcp-header', `RMCP version 0x${buf.readUInt8(0).toString(16)}, expected 0x06`)
  const clsByte = buf.readUInt8(3)
  return { seq: buf.readUInt8(2), cls: clsByte & 0x1f, ack: (clsByte & 0x80) !== 0 }
}

/**
 * The RMCP header of an IPMI packet: class IPMI, no ACK, sequence 0xFF (OpenIPMI drops IPMI
 * packets with another sequence; so do we).
 */
export function expectIpmiClass(buf: Buffer): void {
  const h = decodeRmcpHeader(buf)
  if (h.ack || h.cls !== RmcpClass.IPMI)
    throw new IpmiCodecError('rmcp-class', `RMCP class 0x${h.cls.toString(16)}, expected IPMI (0x07)`)
  if (h.seq !== RMCP_SEQ_NO_ACK)
    throw new IpmiCodecError('rmcp-header', `RMCP sequence ${h.seq} on an IPMI packet, expected 0xFF`)
}

export interface AsfMessage {
  type: number
  tag: number
  data: Buffer
}

const ASF_HEADER_LEN = 8

export function encodeAsf(msg: AsfMessage): Buffer {
  const h = Buffer.alloc(ASF_HEADER_LEN)
  h.writeUInt32BE(ASF_IANA, 0)
  h.writeUInt8(msg.type, 4)
  h.writeUInt8(msg.tag & 0xff, 5)
  h.writeUInt8(0, 6)
  h.writeUInt8(msg.data.length, 7)
  return Buffer.concat([rmcpHeader(RmcpClass.ASF), h, msg.data])
}

export function encodeAsfPing(tag: number): Buffer {
  return encodeAsf({ type: AsfType.PING, tag, data: Buffer.alloc(0) })
}

/** Pong data: IANA, OEM-defined, supported entities (bit 7 IPMI, ASF 1.0), interactions, 6 reserved. */
export function encodeAsfPong(tag: number): Buffer {
  const data = Buffer.alloc(16)
  data.writeUInt32BE(ASF_IANA, 0)
  data.writeUInt32BE(0, 4)
  data.writeUInt8(0x81, 8)
  data.writeUInt8(0x00, 9)
  return encodeAsf({ type: AsfType.PONG, tag, data })
}

export function decodeAsf(buf: Buffer): AsfMessage {
  const h = decodeRmcpHeader(buf)
  if (h.cls !== RmcpClass.ASF || h.ack)
    throw new IpmiCodecError('rmcp-class', `RMCP class 0x${h.cls.toString(16)}, expected ASF (0x06)`)
  need(buf, RMCP_HEADER_LEN + ASF_HEADER_LEN, 'ASF message')
  const iana = buf.readUInt32BE(4)
  if (iana !== ASF_IANA) throw new IpmiCodecError('field', `ASF IANA ${iana}, expected ${ASF_IANA}`)
  const len = buf.readUInt8(11)
  need(buf, RMCP_HEADER_LEN + ASF_HEADER_LEN + len, 'ASF data')
  return {
    type: buf.readUInt8(8),
    tag: buf.readUInt8(9),
    data: buf.subarray(RMCP_HEADER_LEN + ASF_HEADER_LEN, RMCP_HEADER_LEN + ASF_HEADER_LEN + len),
  }
}
