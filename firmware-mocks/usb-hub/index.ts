import { Type } from 'typebox'
import { parseLocation } from '../../protocols/usb.js'
import { Fields } from '../../core/fields.js'
import { Opt, readOptions } from '../../core/options.js'
import type { MockFactory } from '../mock.js'
import type { UsbHubModelSpec } from './hub.js'
import { UsbHubMock } from './mock.js'

const location = (description: string, def: string, defaultText: string) =>
  Opt.custom<string>(Type.String({ default: def }), description, {
    type: 'a hub location like `1-1.4`',
    defaultText,
    read: (f, name, defaults) => {
      const v = f.str(name, { default: (defaults[name] as string | undefined) ?? def })
      if (!parseLocation(v))
        f.problems.push({ path: [...f.base, name], message: `a hub location like 1-1.4, got '${v}'` })
      return v
    },
  })

/** The own fields of a `kind: usb-hub` lab device (`listen:` also serves its bus over TCP). */
export const USB_HUB_LAB_OPTIONS = {
  usb: Opt.custom<2 | 3>(
    Type.Union([Type.Literal(2), Type.Literal(3)]),
    'a USB 2 hub, or a USB 3 hub with its USB 2 companion',
    {
      type: '`2`, `3`',
      defaultText: '`2`',
      read: (f, name) => {
        const usb = f.int(name, { default: 2 })
        if (usb !== 2 && usb !== 3)
          f.problems.push({ path: [...f.base, name], message: `2 or 3, got ${usb}` })
        return usb === 3 ? 3 : 2
      },
    },
  ),
  location: location('where the hub sits on the bus', '1-1', '`1-1`, USB 3: `2-1`'),
  companion: location("USB 3: the USB 2 companion's location", '1-1', '`1-1`'),
  id: Opt.string('vendor:product (hex)', {
    default: '2109:0817',
    pattern: /^[0-9a-fA-F]{4}:[0-9a-fA-F]{4}$/,
    hint: 'vendor:product',
  }),
  switching: Opt.oneOf(['per-port', 'ganged', 'none'], 'how the hub switches port power', {
    default: 'per-port',
  }),
  serial: Opt.string("the hub's serial number", { default: '', defaultText: 'none' }),
  containerId: Opt.bool('a USB 3 hub reports a container ID (the two halves are found by it)', {
    default: true,
  }),
  sysfs: Opt.bool("the fake sysfs tree has the ports' `disable` files (kernel 6.0 and later)", {
    default: true,
  }),
  kernelRepower: Opt.bool('the kernel powers a port back on after a hub request turned it off', {
    default: false,
  }),
}

export const usbHubMock: MockFactory<UsbHubModelSpec> = {
  kind: 'usb-hub',
  driver: 'usb-hub',
  description:
    'a USB 2 or USB 3 hub (per-port, ganged or no power switching) on a simulated bus and a fake sysfs tree; a port is a plug',
  // in-process; `listen:` serves the bus over TCP too (for a driver in another process)
  endpoint: 'network',
  options: USB_HUB_LAB_OPTIONS,
  validate(section, at, common) {
    const f = new Fields(section, at)
    if (typeof common.plugs === 'number' && (common.plugs < 1 || common.plugs > 15))
      f.problems.push({ path: [...at, 'plugs'], message: 'a hub has 1 to 15 ports' })
    const usb = f.has('usb') && String(section.usb) === '3' ? 3 : 2
    const o = readOptions(f, USB_HUB_LAB_OPTIONS, { location: usb === 3 ? '2-1' : '1-1' })
    if (o.usb === 3 && o.location === o.companion)
      f.problems.push({ path: [...at, 'companion'], message: 'the USB 2 companion sits at another location' })
    const [vid, pid] = o.id.split(':').map((h) => Number.parseInt(h, 16))
    const spec: UsbHubModelSpec = {
      usb: o.usb,
      switching: o.switching,
      location: o.location,
      companion: o.companion,
      vendorId: vid ?? 0x2109,
      productId: pid ?? 0x0817,
      serial: o.serial,
      containerId: o.containerId,
      sysfs: o.sysfs,
      kernelRepower: o.kernelRepower,
    }
    f.noOthers()
    return { spec, problems: f.problems }
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
