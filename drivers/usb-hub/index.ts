import { Fields } from '../../core/fields.js'
import { readOptions } from '../../core/options.js'
import type { DriverFactory } from '../driver.js'
import { UsbHubDriver } from './driver.js'
import { USB_HUB_OPTIONS, type UsbHubConfig } from './options.js'

export const usbHubDriver: DriverFactory<UsbHubConfig> = {
  kind: 'usb-hub',
  description:
    'per-port VBUS on a USB hub (uhubctl semantics): sysfs disable files, else hub class requests; USB 3 with its companion',
  options: USB_HUB_OPTIONS,
  validate(section) {
    const f = new Fields(section)
    const { id, ...o } = readOptions(f, USB_HUB_OPTIONS)
    const problems = f.problems
    if (!o.location && !f.has('id'))
      problems.push({
        path: ['location'],
        message: 'required: location (1-1.4) or id (vendor:product, with serial)',
      })
    if (o.location && section.id) problems.push({ path: ['id'], message: 'give location or id, not both' })
    if (o.serial !== undefined && !section.id)
      problems.push({ path: ['serial'], message: 'serial goes with id' })
    if (o.ganged && o.gang.length === 0)
      problems.push({
        path: ['gang'],
        message:
          'ganged: true needs gang: [every node powered from this hub] (switching one port switches them all)',
      })
    if (!o.ganged && o.gang.length > 0)
      problems.push({ path: ['gang'], message: 'gang goes with ganged: true' })
    f.noOthers()
    return { config: { ...o, vendorId: id?.vendorId, productId: id?.productId }, problems }
  },
  checkNodes(config, uses) {
    if (!config.ganged) return []
    // switching one port of a gang switches them all: the config must know every node on it
    const gang = new Set(config.gang)
    const problems = uses
      .filter((u) => !gang.has(u.node))
      .map((u) => ({
        path: ['gang'],
        message: `node ${u.node} is powered from this ganged hub but is not listed in gang: fencing any node on the hub powers it off too`,
      }))
    const users = new Set(uses.map((u) => u.node))
    for (const n of config.gang)
      if (!users.has(n))
        problems.push({ path: ['gang'], message: `gang lists ${n}, which has no plug on this hub` })
    return problems
  },
  create: (config, ctx) => new UsbHubDriver(config, ctx.deviceId, { log: ctx.log }),
}
