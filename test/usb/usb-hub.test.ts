import { readFileSync } from 'node:fs'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { ControlSetup, UsbHost } from '../../drivers/usb-hub/host.js'
import { usbHubDriver } from '../../drivers/usb-hub/index.js'
import { UsbHubDriver } from '../../drivers/usb-hub/driver.js'
import { readLab } from '../../firmware-mocks/lab-file.js'
import { Lab } from '../../firmware-mocks/lab.js'
import type { UsbHubMock } from '../../firmware-mocks/usb-hub/mock.js'
import * as usb from '../../protocols/usb.js'
import { readConfig } from '../../src/config/config.js'
import { FenceError } from '../../core/errors.js'

/** Values as the specifications print them (USB 2.0 ch. 11.24, USB 3.2 ch. 10.16). */
const SPEC = {
  /** USB 2.0 table 11-15: GetHubDescriptor is 10100000B, GetPortStatus 10100011B, Set/ClearPortFeature 00100011B. */
  bmRequestType: { getHubDescriptor: 0b1010_0000, getPortStatus: 0b1010_0011, setPortFeature: 0b0010_0011 },
  /** USB 2.0 table 9-4: GET_STATUS 0, CLEAR_FEATURE 1, SET_FEATURE 3, GET_DESCRIPTOR 6. */
  bRequest: { GET_STATUS: 0, CLEAR_FEATURE: 1, SET_FEATURE: 3, GET_DESCRIPTOR: 6 },
  /** USB 2.0 table 11-13 (hub 29H); USB 3.2 table 10-3 (SuperSpeed hub 2AH). */
  descriptorType: { hub: 0x29, superSpeedHub: 0x2a },
  /** USB 2.0 table 11-17: PORT_POWER feature selector 8. */
  PORT_POWER: 8,
  /** USB 2.0 table 11-21: PORT_POWER is bit 8; USB 3.2 table 10-13: PORT_POWER is bit 9. */
  usb2PortPower: 1 << 8,
  usb3PortPower: 1 << 9,
  /** wHubCharacteristics D1..D0: 00 ganged, 01 individual, 1X no power switching. */
  lpsm: { ganged: 0b00, individual: 0b01, none: 0b10 },
}

/** bmRequestType of a WebUSB-style setup (USB 2.0 table 9-2). */
function bmRequestType(dir: 'in' | 'out', s: ControlSetup): number {
  const type = { standard: 0, class: 1, vendor: 2 }[s.requestType]
  const recipient = { device: 0, interface: 1, endpoint: 2, other: 3 }[s.recipient]
  return (dir === 'in' ? 0x80 : 0) | (type << 5) | recipient
}

const call = () => ({ signal: AbortSignal.timeout(5000) })

let labs: Lab[] = []
afterEach(async () => {
  await Promise.all(labs.map((l) => l.stop()))
  labs = []
})

async function hub(
  lab: Record<string, unknown>,
  over: Record<string, unknown> = {},
): Promise<{ mock: UsbHubMock; driver: UsbHubDriver; transfers: string[] }> {
  const { lab: spec, problems } = readLab({ devices: { h: { kind: 'usb-hub', plugs: 4, ...lab } } })
  expect(problems).toEqual([])
  const l = await Lab.start(spec)
  labs.push(l)
  const mock = l.device('h') as UsbHubMock
  const { driver: _d, ...section } = { ...l.driverSections().h!, ...over }
  const { config, problems: dp } = usbHubDriver.validate(section)
  expect(dp).toEqual([])
  return { mock, driver: new UsbHubDriver(config, 'hub'), transfers: mock.model.transfers }
}

async function rejects(p: Promise<unknown>): Promise<FenceError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  )
  expect(e).toBeInstanceOf(FenceError)
  return e as FenceError
}

describe('usb-hub: the USB specification values', () => {
  it('protocols/usb.ts carries the spec numbers', () => {
    expect(usb.RT_GET_HUB_DESCRIPTOR).toBe(SPEC.bmRequestType.getHubDescriptor)
    expect(usb.RT_GET_PORT_STATUS).toBe(SPEC.bmRequestType.getPortStatus)
    expect(usb.RT_SET_PORT_FEATURE).toBe(SPEC.bmRequestType.setPortFeature)
    expect(usb.REQ_GET_STATUS).toBe(SPEC.bRequest.GET_STATUS)
    expect(usb.REQ_CLEAR_FEATURE).toBe(SPEC.bRequest.CLEAR_FEATURE)
    expect(usb.REQ_SET_FEATURE).toBe(SPEC.bRequest.SET_FEATURE)
    expect(usb.REQ_GET_DESCRIPTOR).toBe(SPEC.bRequest.GET_DESCRIPTOR)
    expect(usb.DT_HUB).toBe(SPEC.descriptorType.hub)
    expect(usb.DT_SS_HUB).toBe(SPEC.descriptorType.superSpeedHub)
    expect(usb.PORT_POWER).toBe(SPEC.PORT_POWER)
    expect(usb.USB2_PORT_STAT_POWER).toBe(SPEC.usb2PortPower)
    expect(usb.USB3_PORT_STAT_POWER).toBe(SPEC.usb3PortPower)
    expect(usb.switchingMode(SPEC.lpsm.ganged)).toBe('ganged')
    expect(usb.switchingMode(SPEC.lpsm.individual | 0x08)).toBe('per-port')
    expect(usb.switchingMode(SPEC.lpsm.none)).toBe('none')
    expect(usb.switchingMode(0b11)).toBe('none')
  })

  it('the driver sends the spec bmRequestType, bRequest, wValue and wIndex', async () => {
    const seen: string[] = []
    const { mock, driver } = await hub({ usb: 2, sysfs: false })
    const dev = mock.model.devices[0]!
    const tIn = dev.controlTransferIn.bind(dev)
    const tOut = dev.controlTransferOut.bind(dev)
    dev.controlTransferIn = (s, l) => {
      seen.push(
        `in ${bmRequestType('in', s).toString(16)} ${s.request} ${s.value.toString(16)} ${s.index} ${l}`,
      )
      return tIn(s, l)
    }
    dev.controlTransferOut = (s, d) => {
      seen.push(`out ${bmRequestType('out', s).toString(16)} ${s.request} ${s.value} ${s.index}`)
      return tOut(s, d)
    }
    await driver.set('3', 'off', call())
    expect(await driver.status(['3'], call())).toEqual(new Map([['3', 'off']]))
    expect(seen).toContain(`in a0 6 2900 0 16`)
    expect(seen).toContain(`out 23 1 8 3`)
    expect(seen).toContain(`in a3 0 0 3 4`)
    await driver.set('3', 'on', call())
    expect(seen.at(-1)).toBe(`out 23 3 8 3`)
  })

  it('a one-port ganged hub counts as per-port (uhubctl)', () => {
    const d = usb.parseHubDescriptor(
      usb.buildHubDescriptor({ usb3: false, ports: 1, switching: 'ganged' }),
      0x29,
    )
    expect(d.switching).toBe('per-port')
  })
})

describe('usb-hub: switching and read-back', () => {
  it('USB 3: VBUS drops only when both halves are off; the driver switches both', async () => {
    const { mock, driver, transfers } = await hub({ usb: 3, sysfs: false })
    await driver.set('2', 'off', call())
    expect(mock.sim.state('2')).toBe('off')
    expect(transfers).toContain('CLEAR_FEATURE ss 2')
    expect(transfers).toContain('CLEAR_FEATURE hs 2')
    expect(await driver.status(['2', '1'], call())).toEqual(
      new Map([
        ['2', 'off'],
        ['1', 'on'],
      ]),
    )
  })

  it('USB 3 with companion: none switches one half and VBUS stays on', async () => {
    const { mock, driver } = await hub({ usb: 3, sysfs: false }, { companion: 'none' })
    await driver.set('2', 'off', call())
    expect(mock.sim.state('2')).toBe('on')
    expect((await driver.status(['2'], call())).get('2')).toBe('off') // the SuperSpeed half alone: bit clear
  })

  it('pairs the companion by port path when no BOS container ID is given', async () => {
    const { mock, driver, transfers } = await hub({
      usb: 3,
      sysfs: false,
      containerId: false,
      location: '2-3',
      companion: '1-3',
    })
    await driver.set('1', 'off', call())
    expect(mock.sim.state('1')).toBe('off')
    expect(transfers).toContain('CLEAR_FEATURE hs 1')
  })

  it('sysfs first: writes the disable files of both halves, no hub request', async () => {
    const { mock, driver, transfers } = await hub({ usb: 3 })
    await driver.set('4', 'off', call())
    expect(mock.sim.state('4')).toBe('off')
    const root = mock.model.sysfsRoot
    expect(readFileSync(path.join(root, '2-1:1.0', '2-1-port4', 'disable'), 'utf8')).toBe('1\n')
    expect(readFileSync(path.join(root, '1-1:1.0', '1-1-port4', 'disable'), 'utf8')).toBe('1\n')
    expect(transfers.some((t) => t.startsWith('CLEAR_FEATURE'))).toBe(false)
    await driver.set('4', 'on', call())
    expect(mock.sim.state('4')).toBe('on')
  })

  it('the kernel powers a port back on once: one off is not enough, a repeated off is', async () => {
    const once = await hub({ usb: 2, sysfs: false, kernelRepower: true }, { offRepeat: 1 })
    await once.driver.set('1', 'off', call())
    // the read-back shows the truth: powered again (the engine would report the fence failed)
    expect((await once.driver.status(['1'], call())).get('1')).toBe('on')
    const repeated = await hub({ usb: 2, sysfs: false, kernelRepower: true }, { offRepeat: 3 })
    await repeated.driver.set('1', 'off', call())
    expect((await repeated.driver.status(['1'], call())).get('1')).toBe('off')
    expect(repeated.mock.sim.state('1')).toBe('off')
  })

  it('a lying port (acknowledged, still powered) reads back on', async () => {
    const { mock, driver } = await hub({ usb: 2, sysfs: false })
    mock.sim.faults.add({ type: 'lie' })
    await driver.set('1', 'off', call())
    expect((await driver.status(['1'], call())).get('1')).toBe('on')
  })

  it('finds the hub by vendor:product and serial', async () => {
    const { mock } = await hub({ usb: 2, sysfs: false, id: '0424:2514', serial: 'HUB7' })
    const { config } = usbHubDriver.validate({
      id: '0424:2514',
      serial: 'HUB7',
      simulated: mock.simulated,
      sysfs: false,
    })
    const d = new UsbHubDriver(config, 'hub')
    await d.set('2', 'off', call())
    expect(mock.sim.state('2')).toBe('off')
    const { config: other } = usbHubDriver.validate({
      id: '0424:2514',
      serial: 'NOPE',
      simulated: mock.simulated,
    })
    expect((await rejects(new UsbHubDriver(other, 'hub').plugs(call()))).code).toBe('DEVICE_UNREACHABLE')
  })

  it('reaches a hub served over TCP (fencegate lab in another process)', async () => {
    const { mock, driver } = await hub({ usb: 3, listen: '127.0.0.1:0' })
    expect(mock.simulated).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/)
    expect((await driver.plugs(call())).map((p) => p.id)).toEqual(['1', '2', '3', '4'])
    await driver.set('3', 'off', call())
    expect(mock.sim.state('3')).toBe('off')
    expect((await driver.status(['3'], call())).get('3')).toBe('off')
  })
})

describe('usb-hub: refusals and clear errors', () => {
  it('a ganged hub is refused unless the config says ganged: true', async () => {
    const { mock, driver } = await hub({ usb: 2, sysfs: false, switching: 'ganged' })
    const e = await rejects(driver.set('1', 'off', call()))
    expect(e.code).toBe('DEVICE_ERROR')
    expect(e.message).toMatch(/ganged.*switches every port.*gang/)
    expect(mock.sim.describe().every((o) => o.state === 'on')).toBe(true)
    const ok = await hub({ usb: 2, sysfs: false, switching: 'ganged' }, { ganged: true, gang: ['a', 'b'] })
    await ok.driver.set('1', 'off', call())
    expect(ok.mock.sim.describe().map((o) => o.state)).toEqual(['off', 'off', 'off', 'off'])
  })

  it('check-config: ganged: true must list every node on the hub, and only those', () => {
    const doc = (gang: string[]) => ({
      devices: { hub: { driver: 'usb-hub', location: '1-1', ganged: true, gang } },
      nodes: { a: { plugs: ['hub:1'] }, b: { plugs: ['hub:2'] } },
    })
    expect(readConfig(doc(['a', 'b'])).problems).toEqual([])
    const missing = readConfig(doc(['a'])).problems
    expect(missing).toEqual([
      {
        path: ['devices', 'hub', 'gang'],
        message: expect.stringMatching(/node b is powered from this ganged hub/),
      },
    ])
    expect(readConfig(doc(['a', 'b', 'c'])).problems[0]!.message).toMatch(/gang lists c/)
    const noGang = usbHubDriver.validate({ location: '1-1', ganged: true }).problems
    expect(noGang[0]).toMatchObject({ path: ['gang'] })
  })

  it('a hub without power switching: unsupported, nothing switched', async () => {
    const { mock, driver } = await hub({ usb: 2, sysfs: false, switching: 'none' })
    const e = await rejects(driver.set('1', 'off', call()))
    expect(e.code).toBe('UNSUPPORTED_ACTION')
    expect(e.message).toMatch(/wHubCharacteristics 0x000a/)
    expect(mock.sim.state('1')).toBe('on')
  })

  it('a wrong descriptor type is a protocol error, nothing switched', async () => {
    const { mock, driver } = await hub({ usb: 2, sysfs: false })
    mock.model.quirks.descriptorType = 0x2a
    const e = await rejects(driver.set('1', 'off', call()))
    expect(e.code).toBe('PROTOCOL_ERROR')
    expect(e.message).toMatch(/wrong descriptor type 0x2a \(expected 0x29\)/)
    expect(mock.sim.state('1')).toBe('on')
  })

  it('a short port status is a protocol error, never a state', async () => {
    const { mock, driver } = await hub({ usb: 2, sysfs: false })
    mock.sim.setPhysical('1', 'off')
    mock.model.quirks.shortStatus = true
    const e = await rejects(driver.status(['1'], call()))
    expect(e.code).toBe('PROTOCOL_ERROR')
    expect(e.message).toMatch(/port 1 status: port status too short: 2 bytes/)
  })

  it('a hub that vanishes mid-command: connection lost, no false success', async () => {
    const { mock, driver } = await hub({ usb: 3, sysfs: false })
    // descriptor, BOS ×2, companion descriptor go through; the first CLEAR_FEATURE does not
    mock.model.quirks.vanishAfter = 4
    const e = await rejects(driver.set('1', 'off', call()))
    expect(e.code).toBe('CONNECTION_LOST')
    expect(e.message).toMatch(/vanished from the bus/)
    expect(mock.sim.state('1')).toBe('on')
    expect((await rejects(driver.status(['1'], call()))).code).toBe('DEVICE_UNREACHABLE')
  })

  it('no permission on the device node: a permanent error naming it', async () => {
    const { mock, driver } = await hub({ usb: 2, sysfs: false, location: '1-4' })
    mock.model.quirks.noPermission = true
    const e = await rejects(driver.plugs(call()))
    expect(e.code).toBe('AUTH_REFUSED')
    expect(e.message).toContain('/dev/bus/usb/001/002')
    expect(e.message).toMatch(/udev rule/)
  })

  it('no permission on a sysfs disable file: a permanent error naming the file', async () => {
    const { mock } = await hub({ usb: 2 })
    const inner = mock.model.host('x')
    const host: UsbHost = {
      ...inner,
      sysfs: {
        readFile: inner.sysfs.readFile,
        writeFile: async (p) => {
          const err: NodeJS.ErrnoException = new Error(`EACCES: permission denied, open '${p}'`)
          err.code = 'EACCES'
          throw err
        },
      },
    }
    const { config } = usbHubDriver.validate({ location: '1-1', sysfsRoot: '/sys/bus/usb/devices' })
    const e = await rejects(new UsbHubDriver(config, 'hub', { host }).set('2', 'off', call()))
    expect(e.code).toBe('AUTH_REFUSED')
    expect(e.message).toContain('/sys/bus/usb/devices/1-1:1.0/1-1-port2/disable')
  })

  it('a port the hub does not have; cycle is the engine’s', async () => {
    const { driver } = await hub({ usb: 2, sysfs: false })
    expect((await rejects(driver.set('5', 'off', call()))).code).toBe('NO_SUCH_PLUG')
    expect((await rejects(driver.set('x', 'off', call()))).code).toBe('NO_SUCH_PLUG')
    expect((await rejects(driver.set('1', 'cycle', call()))).code).toBe('UNSUPPORTED_ACTION')
  })

  it('bad config: every problem with its field', () => {
    expect(usbHubDriver.validate({}).problems.map((p) => p.path[0])).toEqual(['location'])
    const p = usbHubDriver.validate({
      location: '1-x',
      id: '12:34',
      companion: 'left',
      offRepeat: 0,
      transferTimeout: 'soon',
      extra: 1,
    }).problems
    expect(p.map((x) => x.path[0]).sort()).toEqual(
      ['companion', 'extra', 'id', 'id', 'location', 'offRepeat', 'transferTimeout'].sort(),
    )
  })

  it('the real host: without the usb package loading or the bus, a clear error (no hardware here)', async () => {
    const { config } = usbHubDriver.validate({ location: '1-1', sysfsRoot: '/nonexistent-sysfs' })
    const e = await rejects(new UsbHubDriver(config, 'hub').plugs(call()))
    expect(['DEVICE_UNREACHABLE', 'DEVICE_ERROR']).toContain(e.code)
    expect(e.message).toMatch(/hub \(USB hub location 1-1\)/)
  })
})
