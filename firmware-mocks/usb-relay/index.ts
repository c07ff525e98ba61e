import { Fields } from '../../core/fields.js'
import { Opt, readOptions } from '../../core/options.js'
import type { MockFactory } from '../mock.js'
import { UsbRelayMock, type UsbRelaySpec } from './mock.js'

/** The own fields of a `kind: usb-relay` lab device. */
export const USB_RELAY_LAB_OPTIONS = {
  board: Opt.oneOf(
    ['ch340', 'dcttech'],
    '`ch340`: on a serial line (`pty` or `listen`); `dcttech`: on an in-process simulated HID bus (neither)',
    { default: 'ch340' },
  ),
  serial: Opt.string("dcttech: the board's serial", {
    default: 'QWERT',
    pattern: /^[A-Z0-9]{5}$/,
    hint: '5 characters A-Z 0-9',
  }),
}

/**
 * A CH340 board is on a serial line (pty or listen), a dcttech board on no line at all: which
 * one depends on `board`, so the line is optional to the lab and this kind checks it.
 * (`optional` is read by firmware-mocks/lab-file.ts once it knows the variant; until then the
 * lab asks every usb-relay device for a line.)
 */
const LINE = { serial: "a CH340 board's line", optional: true as const }

export const usbRelayMock: MockFactory<UsbRelaySpec> = {
  kind: 'usb-relay',
  driver: 'usb-relay',
  description:
    'a USB relay board: CH340 serial (A0 ch op sum, no answer) on a pseudo-terminal or TCP, or a dcttech HID USBRelayN on a simulated HID bus',
  endpoint: LINE,
  options: USB_RELAY_LAB_OPTIONS,
  validate(section, at, common) {
    const f = new Fields(section, at)
    const { board, serial } = readOptions(f, USB_RELAY_LAB_OPTIONS)
    const line = common.pty !== undefined || common.listen !== undefined
    if (board === 'ch340' && !line)
      f.problems.push({
        path: [...at, 'pty'],
        message: 'a CH340 board is on a serial line: pty: PATH or listen: HOST:PORT',
      })
    if (board === 'dcttech' && line)
      f.problems.push({
        path: [...at, 'pty'],
        message: 'a dcttech board is on a simulated HID bus: no pty or listen',
      })
    if (typeof common.plugs === 'number' && (common.plugs < 1 || common.plugs > 8))
      f.problems.push({ path: [...at, 'plugs'], message: 'a board has 1 to 8 relays' })
    f.noOthers()
    return { spec: { board, serial }, problems: f.problems }
  },
  create: (id, common, spec) => new UsbRelayMock(id, common, spec),
  driverSection: (mock) => {
    const m = mock as UsbRelayMock
    const channels = m.sim.plugIds().length
    if (m.line) {
      const where = m.line.ptyPath
        ? { port: m.line.ptyPath }
        : { server: `${m.line.address.host}:${m.line.address.port}` }
      return { driver: 'usb-relay', board: 'ch340', channels, ...where }
    }
    return {
      driver: 'usb-relay',
      board: 'dcttech',
      simulated: m.hostName,
      serial: m.spec.serial,
      reportTimeout: '300ms',
    }
  },
}
