/**
 * USB hub class requests and USB relay frames, shared by the usb-hub / usb-relay drivers and
 * their mocks. Values from the USB 2.0 specification (chapter 11.24, hub class requests; table
 * 11-13 hub descriptor; table 11-21 port status), the USB 3.2 specification (chapter 10.16, the
 * enhanced SuperSpeed hub descriptor and port status; 9.6.2 BOS) and uhubctl's use of them.
 */

/** bmRequestType: device-to-host, class, device (GET_DESCRIPTOR of the hub). */
export const RT_GET_HUB_DESCRIPTOR = 0xa0
/** bmRequestType: device-to-host, class, other (= port): GET_STATUS of a port. */
export const RT_GET_PORT_STATUS = 0xa3
/** bmRequestType: host-to-device, class, other (= port): SET/CLEAR_FEATURE of a port. */
export const RT_SET_PORT_FEATURE = 0x23

export const REQ_GET_STATUS = 0
export const REQ_CLEAR_FEATURE = 1
export const REQ_SET_FEATURE = 3
export const REQ_GET_DESCRIPTOR = 6

/** Hub descriptor types: USB 2 hub (0x29), USB 3 SuperSpeed hub (0x2A). */
export const DT_HUB = 0x29
export const DT_SS_HUB = 0x2a
/** Binary device Object Store and its Container ID capability. */
export const DT_BOS = 0x0f
export const DT_DEVICE_CAPABILITY = 0x10
export const CAP_CONTAINER_ID = 0x04

/** Port feature selector PORT_POWER (USB 2.0 table 11-17; the same value on USB 3). */
export const PORT_POWER = 8

/** wPortStatus bits. */
export const PORT_STAT_CONNECTION = 0x0001
export const PORT_STAT_ENABLE = 0x0002
/** USB 2 port power bit. */
export const USB2_PORT_STAT_POWER = 0x0100
/** USB 3 port power bit (moved: bits 5-8 carry the link state). */
export const USB3_PORT_STAT_POWER = 0x0200

/** wHubCharacteristics bits 1:0, the logical power switching mode. */
export const HUB_CHAR_LPSM = 0x0003
export type PowerSwitching = 'ganged' | 'per-port' | 'none'

/** The shortest hub descriptor uhubctl accepts: bLength … bHubContrCurrent. */
export const HUB_DESCRIPTOR_MIN = 7
/** USB 2 class code of a hub. */
export const CLASS_HUB = 9
/** uhubctl's control transfer timeout. */
export const DEFAULT_TRANSFER_TIMEOUT_MS = 5000

export interface HubDescriptor {
  type: number
  ports: number
  characteristics: number
  switching: PowerSwitching
  /** bPwrOn2PwrGood in ms (units of 2 ms). */
  powerOnToGoodMs: number
}

/** The switching mode of wHubCharacteristics: 0 ganged, 1 per-port, 2/3 none. */
export function switchingMode(characteristics: number): PowerSwitching {
  const m = characteristics & HUB_CHAR_LPSM
  return m === 0 ? 'ganged' : m === 1 ? 'per-port' : 'none'
}

/** Parse a hub descriptor; `expectType` is 0x29 or 0x2A. Throws a message on anything else. */
export function parseHubDescriptor(buf: Uint8Array, expectType: number): HubDescriptor {
  if (buf.length < HUB_DESCRIPTOR_MIN)
    throw new Error(`hub descriptor too short: ${buf.length} bytes (at least ${HUB_DESCRIPTOR_MIN})`)
  const type = buf[1]!
  if (type !== expectType)
    throw new Error(
      `wrong descriptor type 0x${type.toString(16).padStart(2, '0')} (expected 0x${expectType.toString(16)})`,
    )
  const ports = buf[2]!
  if (ports < 1 || ports > 15) throw new Error(`hub descriptor gives ${ports} ports`)
  const characteristics = buf[3]! | (buf[4]! << 8)
  let switching = switchingMode(characteristics)
  // uhubctl: a one-port ganged hub is per-port
  if (switching === 'ganged' && ports === 1) switching = 'per-port'
  return { type, ports, characteristics, switching, powerOnToGoodMs: buf[5]! * 2 }
}

export function buildHubDescriptor(d: {
  usb3: boolean
  ports: number
  switching: PowerSwitching
}): Uint8Array {
  const lpsm = d.switching === 'ganged' ? 0 : d.switching === 'per-port' ? 1 : 2
  // over-current reporting per port (0x08), as most hubs
  const chars = lpsm | 0x08
  if (d.usb3) {
    // USB 3.2 table 10-3: bLength 12, type, ports, chars(2), PwrOn2PwrGood, ContrCurrent,
    // bHubHdrDecLat, wHubDelay(2), DeviceRemovable(2)
    return Uint8Array.from([12, DT_SS_HUB, d.ports, chars, 0, 50, 0, 0, 0, 0, 0, 0])
  }
  // USB 2.0 table 11-13 with one byte of DeviceRemovable and one of PortPwrCtrlMask
  return Uint8Array.from([9, DT_HUB, d.ports, chars, 0, 50, 100, 0, 0xff])
}

/** Port status: 4 bytes, wPortStatus and wPortChange, little-endian. */
export function parsePortStatus(buf: Uint8Array): { status: number; change: number } {
  if (buf.length < 4) throw new Error(`port status too short: ${buf.length} bytes (expected 4)`)
  return { status: buf[0]! | (buf[1]! << 8), change: buf[2]! | (buf[3]! << 8) }
}

export function powerBit(usb3: boolean): number {
  return usb3 ? USB3_PORT_STAT_POWER : USB2_PORT_STAT_POWER
}

/** The 16-byte Container ID from a BOS descriptor, as 32 hex digits; undefined when absent. */
export function containerIdFromBos(buf: Uint8Array): string | undefined {
  if (buf.length < 5 || buf[1] !== DT_BOS) return undefined
  let at = buf[0]!
  while (at + 3 <= buf.length) {
    const len = buf[at]!
    if (len < 3) return undefined
    if (buf[at + 1] === DT_DEVICE_CAPABILITY && buf[at + 2] === CAP_CONTAINER_ID && at + 20 <= buf.length)
      return Buffer.from(buf.subarray(at + 4, at + 20)).toString('hex')
    at += len
  }
  return undefined
}

export function buildBos(containerId: string): Uint8Array {
  const cap = [20, DT_DEVICE_CAPABILITY, CAP_CONTAINER_ID, 0, ...Buffer.from(containerId, 'hex')]
  const total = 5 + cap.length
  return Uint8Array.from([5, DT_BOS, total & 0xff, total >> 8, 1, ...cap])
}

/** A hub's location, uhubctl style: `1-1.4` (bus 1, ports 1 then 4). */
export function parseLocation(loc: string): { bus: number; ports: number[] } | undefined {
  const m = /^(\d{1,3})-(\d{1,2}(?:\.\d{1,2}){0,6})$/.exec(loc)
  if (!m) return undefined
  return { bus: Number(m[1]), ports: m[2]!.split('.').map(Number) }
}

export function formatLocation(bus: number, ports: readonly number[]): string {
  return `${bus}-${ports.join('.')}`
}

// ---- CH340 serial relay boards (LCUS-1/2/4/8) ----

export const CH340_BAUD = 9600
export const CH340_START = 0xa0

/** `A0 ch op sum`: op 1 on, 0 off; sum = (A0 + ch + op) & FF. */
export function ch340Frame(channel: number, on: boolean): Buffer {
  const op = on ? 1 : 0
  return Buffer.from([CH340_START, channel, op, (CH340_START + channel + op) & 0xff])
}

/** Parse one 4-byte frame; undefined when it is not a valid one. */
export function parseCh340Frame(b: Uint8Array): { channel: number; on: boolean } | undefined {
  if (b.length !== 4 || b[0] !== CH340_START || (b[2] !== 0 && b[2] !== 1)) return undefined
  if (((CH340_START + b[1]! + b[2]!) & 0xff) !== b[3]) return undefined
  return { channel: b[1]!, on: b[2] === 1 }
}

// ---- dcttech HID relays (USBRelayN, 16c0:05df) ----

export const DCTTECH_VID = 0x16c0
export const DCTTECH_PID = 0x05df
export const DCT_ON = 0xff
export const DCT_OFF = 0xfd
export const DCT_ALL_ON = 0xfe
export const DCT_ALL_OFF = 0xfc
/** A feature report: report id 0, then 8 data bytes. */
export const DCT_REPORT_LENGTH = 9

export function dctCommand(channel: number, on: boolean): number[] {
  const out = new Array<number>(DCT_REPORT_LENGTH).fill(0)
  out[1] = on ? DCT_ON : DCT_OFF
  out[2] = channel
  return out
}

/** A get-feature-report answer (with or without the leading report id 0): serial and state bitmask. */
export function parseDctStatus(b: Uint8Array): { serial: string; mask: number } {
  const data = b.length === DCT_REPORT_LENGTH ? b.subarray(1) : b
  if (data.length !== 8) throw new Error(`feature report of ${b.length} bytes (expected 8 or 9)`)
  return { serial: Buffer.from(data.subarray(0, 5)).toString('latin1').replace(/\0+$/, ''), mask: data[7]! }
}
