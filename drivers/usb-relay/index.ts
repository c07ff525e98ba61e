import type { DriverFactory } from '../driver.js'
import { type UsbRelayConfig, readUsbRelayConfig } from './config.js'
import { Ch340RelayDriver, DctRelayDriver } from './driver.js'

export const usbRelayDriver: DriverFactory<UsbRelayConfig> = {
  kind: 'usb-relay',
  description:
    'USB relay boards: dcttech HID (USBRelayN, read back) or CH340 serial (LCUS, no read-back: unverified, operator power only)',
  // a CH340 board reports nothing: it can never prove a node off
  verifies: (c) => c.board !== 'ch340',
  validate: readUsbRelayConfig,
  create: (config, ctx) =>
    config.board === 'ch340'
      ? new Ch340RelayDriver(config, ctx.deviceId, { log: ctx.log })
      : new DctRelayDriver(config, ctx.deviceId, { log: ctx.log }),
}
