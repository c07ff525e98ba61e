import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { Ch340RelayDriver, DctRelayDriver } from '../../drivers/usb-relay/driver.js'
import { usbRelayDriver } from '../../drivers/usb-relay/index.js'
import { readLab } from '../../firmware-mocks/lab-file.js'
import { Lab } from '../../firmware-mocks/lab.js'
import type { UsbRelayMock } from '../../firmware-mocks/usb-relay/mock.js'
import { ch340Frame, dctCommand, parseCh340Frame, parseDctStatus } from '../../protocols/usb.js'
import { readConfig } from '../../src/config/config.js'
import { FenceError } from '../../core/errors.js'
import type { PowerDriver } from '../../drivers/driver.js'

/** Frames as the boards' documentation prints them (LCUS-1/2 manual; dcttech usbrelay). */
const CH340 = {
  ch1On: 'A0 01 01 A2',
  ch1Off: 'A0 01 00 A1',
  ch2On: 'A0 02 01 A3',
  ch2Off: 'A0 02 00 A2',
}
const hex = (b: Uint8Array) =>
  Buffer.from(b)
    .toString('hex')
    .toUpperCase()
    .replace(/(..)(?!$)/g, '$1 ')

const call = () => ({ signal: AbortSignal.timeout(5000) })
let cleanup: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const c of cleanup.reverse()) await c()
  cleanup = []
})

async function board(lab: Record<string, unknown>): Promise<{ mock: UsbRelayMock; driver: PowerDriver }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'fencegate-relay-'))
  const section: Record<string, unknown> = { kind: 'usb-relay', plugs: 4, ...lab }
  if (section.pty) section.pty = path.join(dir, 'tty')
  const { lab: spec, problems } = readLab({ devices: { r: section } })
  expect(problems).toEqual([])
  const l = await Lab.start(spec)
  const { driver: _k, ...rest }: Record<string, unknown> = { ...l.driverSections().r!, frameGap: '5ms' }
  const { config, problems: dp } = usbRelayDriver.validate(rest)
  expect(dp).toEqual([])
  const driver = usbRelayDriver.create(config, { deviceId: 'relay', readSecret: () => '', log: () => {} })
  cleanup.push(async () => {
    await driver.close()
    await l.stop()
    rmSync(dir, { recursive: true, force: true })
  })
  return { mock: l.device('r') as UsbRelayMock, driver }
}

async function meter(mock: UsbRelayMock, plug: string, want: 'on' | 'off'): Promise<string> {
  for (let i = 0; i < 100 && mock.sim.state(plug) !== want; i++) await new Promise((r) => setTimeout(r, 20))
  return mock.sim.state(plug)
}

describe('usb-relay: CH340 serial boards (unverified)', () => {
  it('frames are A0 ch op sum, byte for byte', () => {
    expect(hex(ch340Frame(1, true))).toBe(CH340.ch1On)
    expect(hex(ch340Frame(1, false))).toBe(CH340.ch1Off)
    expect(hex(ch340Frame(2, true))).toBe(CH340.ch2On)
    expect(hex(ch340Frame(2, false))).toBe(CH340.ch2Off)
    expect(parseCh340Frame(Buffer.from([0xa0, 1, 1, 0xa3]))).toBeUndefined() // bad sum
  })

  it('sends those bytes on the tty; status is unknown whatever the relay', async () => {
    const { mock, driver } = await board({ board: 'ch340', pty: 'x' })
    expect(driver).toBeInstanceOf(Ch340RelayDriver)
    await driver.set('2', 'off', call())
    await driver.set('1', 'on', call())
    expect(await meter(mock, '2', 'off')).toBe('off')
    expect(mock.frames).toEqual([CH340.ch2Off, CH340.ch1On])
    for (const s of ['on', 'off'] as const) {
      mock.sim.setPhysical('3', s)
      expect((await driver.status(['3'], call())).get('3')).toBe('unknown')
    }
  })

  it('a missing tty fails status (a dead line is seen by the health probe)', async () => {
    const { config } = usbRelayDriver.validate({ board: 'ch340', channels: 2, port: '/nonexistent/ttyUSB9' })
    const d = new Ch340RelayDriver(config, 'relay')
    const e = await d.status(['1'], call()).catch((x: unknown) => x)
    expect(e).toBeInstanceOf(FenceError)
    expect((e as FenceError).code).toBe('DEVICE_UNREACHABLE')
    await d.close()
  })

  it('verifies is a function of the board; check-config refuses a CH340 board as a fencing level', () => {
    const ch340 = usbRelayDriver.validate({ board: 'ch340', channels: 4, port: '/dev/ttyUSB0' }).config
    const dct = usbRelayDriver.validate({ board: 'dcttech' }).config
    const verifies = usbRelayDriver.verifies as (c: typeof ch340) => boolean
    expect(verifies(ch340)).toBe(false)
    expect(verifies(dct)).toBe(true)
    const doc = (fence: boolean) => ({
      devices: { relay: { driver: 'usb-relay', board: 'ch340', channels: 4, port: '/dev/ttyUSB0' } },
      nodes: { pi: { plugs: ['relay:1'], fence } },
    })
    const bad = readConfig(doc(true)).problems
    expect(bad).toHaveLength(1)
    expect(bad[0]!.message).toMatch(/cannot read its outlets back.*fence: false/)
    expect(readConfig(doc(false)).problems).toEqual([])
  })

  it('bad config: every problem with its field', () => {
    const p = usbRelayDriver.validate({ board: 'ch340', baud: 115200, serial: 'AB', extra: true }).problems
    expect(p.map((x) => x.path[0]).sort()).toEqual(
      ['baud', 'channels', 'extra', 'port', 'serial', 'serial'].sort(),
    )
    expect(usbRelayDriver.validate({ board: 'sainsmart' }).problems.map((x) => x.path[0])).toContain('board')
  })
})

describe('usb-relay: dcttech HID boards (verified)', () => {
  it('feature report 0: FF n on, FD n off; the status report: serial and bitmask', () => {
    expect(dctCommand(2, true)).toEqual([0, 0xff, 2, 0, 0, 0, 0, 0, 0])
    expect(dctCommand(3, false)).toEqual([0, 0xfd, 3, 0, 0, 0, 0, 0, 0])
    expect(parseDctStatus(Buffer.from([0, 0x51, 0x57, 0x45, 0x52, 0x54, 0, 0, 0b0101]))).toEqual({
      serial: 'QWERT',
      mask: 5,
    })
    expect(() => parseDctStatus(Buffer.alloc(5))).toThrow(/5 bytes/)
  })

  it('switches relays and reads the bitmask back', async () => {
    const { mock, driver } = await board({ board: 'dcttech', serial: 'AB123' })
    expect(driver).toBeInstanceOf(DctRelayDriver)
    expect((await driver.plugs(call())).map((p) => p.id)).toEqual(['1', '2', '3', '4'])
    await driver.set('3', 'off', call())
    expect(mock.sim.state('3')).toBe('off')
    expect(await driver.status(['3', '4'], call())).toEqual(
      new Map([
        ['3', 'off'],
        ['4', 'on'],
      ]),
    )
  })

  it('a short feature report is a protocol error, never a state', async () => {
    const { mock, driver } = await board({ board: 'dcttech' })
    await driver.plugs(call())
    mock.sim.faults.add({ type: 'garble', count: 1 })
    const e = await driver.status(['1'], call()).catch((x: unknown) => x)
    expect(e).toBeInstanceOf(FenceError)
    expect((e as FenceError).code).toBe('PROTOCOL_ERROR')
    expect((e as FenceError).message).toMatch(/feature report of 5 bytes/)
  })

  it('a board that leaves the bus: connection lost, then unreachable', async () => {
    const { mock, driver } = await board({ board: 'dcttech' })
    await driver.plugs(call())
    mock.sim.faults.add({ type: 'disconnect' })
    const e = (await driver.set('1', 'off', call()).catch((x: unknown) => x)) as FenceError
    expect(e.code).toBe('CONNECTION_LOST')
    expect(mock.sim.state('1')).toBe('on')
    const again = (await driver.status(['1'], call()).catch((x: unknown) => x)) as FenceError
    expect(again.code).toBe('DEVICE_UNREACHABLE')
  })

  it('node-hid on this machine: a board is found, or a clear error (never a state)', async () => {
    const { config } = usbRelayDriver.validate({ board: 'dcttech' })
    const d = new DctRelayDriver(config, 'relay')
    const e = (await d.status(['1'], call()).catch((x: unknown) => x)) as FenceError
    expect(e).toBeInstanceOf(FenceError)
    // here: node-hid's binary wants libusb-1.0 (DEVICE_ERROR); with it and no board: unreachable
    expect(['DEVICE_ERROR', 'DEVICE_UNREACHABLE']).toContain(e.code)
    expect(e.message).toMatch(/node-hid does not load|no such board/)
    await d.close()
  })

  it('another serial: no such board', async () => {
    const { mock } = await board({ board: 'dcttech', serial: 'AAAAA' })
    const { config } = usbRelayDriver.validate({
      board: 'dcttech',
      serial: 'BBBBB',
      simulated: mock.hostName,
    })
    const e = (await new DctRelayDriver(config, 'relay').plugs(call()).catch((x: unknown) => x)) as FenceError
    expect(e.code).toBe('DEVICE_UNREACHABLE')
    expect(e.message).toMatch(/no such board .*1 USBRelay boards/)
  })
})
