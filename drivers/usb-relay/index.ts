import { Fields } from '../../core/fields.js'
import { readOptions } from '../../core/options.js'
import type { DriverFactory } from '../driver.js'
import { Ch340RelayDriver, DctRelayDriver } from './driver.js'
import { CH340_LINE_OPTIONS, RELAY_BOARD_OPTIONS, USB_RELAY_OPTIONS, type UsbRelayConfig } from './options.js'

export const usbRelayDriver: DriverFactory<UsbRelayConfig> = {
  kind: 'usb-relay',
  description:
    'USB relay boards: dcttech HID (USBRelayN, read back) or CH340 serial (LCUS, no read-back: unverified, operator power only)',
  // a CH340 board reports nothing: it can never prove a node off
  verifies: (c) => c.board !== 'ch340',
  options: USB_RELAY_OPTIONS,
  validate(section) {
    const f = new Fields(section)
    const config: UsbRelayConfig = readOptions(f, RELAY_BOARD_OPTIONS)
    // the line's fields are a CH340 board's only: on a dcttech board they are unknown fields
    if (config.board === 'ch340') {
      config.serialTarget = readOptions(f, CH340_LINE_OPTIONS)
      if (config.channels === undefined)
        f.problems.push({
          path: ['channels'],
          message: 'required for a ch340 board: how many relays it has (1-8)',
        })
      for (const k of ['serial', 'hidPath'] as const)
        if (section[k] !== undefined) f.problems.push({ path: [k], message: `${k} is for dcttech boards` })
    }
    f.noOthers()
    return { config, problems: f.problems }
  },
  create: (config, ctx) =>
    config.board === 'ch340'
      ? new Ch340RelayDriver(config, ctx.deviceId, { log: ctx.log })
      : new DctRelayDriver(config, ctx.deviceId, { log: ctx.log }),
}
