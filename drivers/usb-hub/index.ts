import type { DriverFactory } from '../driver.js'
import { type UsbHubConfig, readUsbHubConfig } from './config.js'
import { UsbHubDriver } from './driver.js'

export const usbHubDriver: DriverFactory<UsbHubConfig> = {
  kind: 'usb-hub',
  description:
    'per-port VBUS on a USB hub (uhubctl semantics): sysfs disable files, else hub class requests; USB 3 with its companion',
  validate: readUsbHubConfig,
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
