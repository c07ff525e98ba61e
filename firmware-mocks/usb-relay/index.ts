import type { FieldProblem } from '../../drivers/driver.js'
import { Fields } from '../../src/config/fields.js'
import type { MockFactory } from '../mock.js'
import { UsbRelayMock, type UsbRelaySpec } from './mock.js'

export const usbRelayMock: MockFactory<UsbRelaySpec> = {
  kind: 'usb-relay',
  driver: 'usb-relay',
  description:
    'a USB relay board: CH340 serial (A0 ch op sum, no answer) on a pseudo-terminal or TCP, or a dcttech HID USBRelayN on a simulated HID bus',
  validate(section, at) {
    const f = new Fields(section, at)
    const problems: FieldProblem[] = []
    f.mark('kind', 'listen', 'pty', 'plugs', 'transitionDelay', 'initial')
    const board = f.oneOf('board', ['ch340', 'dcttech'] as const, 'ch340')
    const line = (section.pty !== undefined ? 1 : 0) + (section.listen !== undefined ? 1 : 0)
    if (board === 'ch340' && line !== 1)
      problems.push({
        path: [...at, 'pty'],
        message: 'a CH340 board is on a serial line: pty: PATH or listen: HOST:PORT',
      })
    if (board === 'dcttech' && line !== 0)
      problems.push({
        path: [...at, 'pty'],
        message: 'a dcttech board is on a simulated HID bus: no pty or listen',
      })
    if (typeof section.plugs === 'number' && (section.plugs < 1 || section.plugs > 8))
      problems.push({ path: [...at, 'plugs'], message: 'a board has 1 to 8 relays' })
    const spec: UsbRelaySpec = {
      board,
      serial: f.str('serial', { default: 'QWERT', pattern: /^[A-Z0-9]{5}$/, hint: '5 characters A-Z 0-9' }),
    }
    f.noOthers()
    return { spec, problems: [...problems, ...f.problems] }
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
