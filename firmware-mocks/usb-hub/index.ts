import { Fields } from '../../src/config/fields.js'
import { parseLocation } from '../../protocols/usb.js'
import type { FieldProblem } from '../../drivers/driver.js'
import type { MockFactory } from '../mock.js'
import type { UsbHubModelSpec } from './hub.js'
import { UsbHubMock } from './mock.js'

export const usbHubMock: MockFactory<UsbHubModelSpec> = {
  kind: 'usb-hub',
  driver: 'usb-hub',
  description:
    'a USB 2 or USB 3 hub (per-port, ganged or no power switching) on a simulated bus and a fake sysfs tree; a port is a plug',
  validate(section, at) {
    const f = new Fields(section, at)
    const problems: FieldProblem[] = []
    f.mark('kind', 'listen', 'plugs', 'transitionDelay', 'initial')
    if (section.pty !== undefined)
      problems.push({
        path: [...at, 'pty'],
        message: 'a USB hub is not on a serial line: no pty (listen: serves its bus over TCP)',
      })
    if (typeof section.plugs === 'number' && (section.plugs < 1 || section.plugs > 15))
      problems.push({ path: [...at, 'plugs'], message: 'a hub has 1 to 15 ports' })
    const usb = f.int('usb', { default: 2 })
    if (usb !== 2 && usb !== 3) problems.push({ path: [...at, 'usb'], message: `2 or 3, got ${usb}` })
    const location = f.str('location', { default: usb === 3 ? '2-1' : '1-1' })
    const companion = f.str('companion', { default: '1-1' })
    for (const [k, v] of [
      ['location', location],
      ['companion', companion],
    ] as const)
      if (!parseLocation(v))
        problems.push({ path: [...at, k], message: `a hub location like 1-1.4, got '${v}'` })
    if (usb === 3 && location === companion)
      problems.push({ path: [...at, 'companion'], message: 'the USB 2 companion sits at another location' })
    const id = f.str('id', {
      default: '2109:0817',
      pattern: /^[0-9a-fA-F]{4}:[0-9a-fA-F]{4}$/,
      hint: 'vendor:product',
    })
    const [vid, pid] = id.split(':').map((h) => Number.parseInt(h, 16))
    const spec: UsbHubModelSpec = {
      usb: usb === 3 ? 3 : 2,
      switching: f.oneOf('switching', ['per-port', 'ganged', 'none'] as const, 'per-port'),
      location,
      companion,
      vendorId: vid ?? 0x2109,
      productId: pid ?? 0x0817,
      serial: f.str('serial', { default: '' }),
      containerId: f.bool('containerId', true),
      sysfs: f.bool('sysfs', true),
      kernelRepower: f.bool('kernelRepower', false),
    }
    f.noOthers()
    return { spec, problems: [...problems, ...f.problems] }
  },
  create: (id, common, spec) => new UsbHubMock(id, common, spec),
  driverSection: (mock) => {
    const m = mock as UsbHubMock
    return {
      driver: 'usb-hub',
      location: m.spec.location,
      simulated: m.simulated,
      sysfsRoot: m.model.sysfsRoot,
      // the mock answers at once; a real hub wants the defaults
      offRepeatGap: '5ms',
      transferTimeout: '500ms',
    }
  },
}
