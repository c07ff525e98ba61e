/**
 * The usb-relay driver's config section, declared once (core/options.ts): the docs'
 * tables and `fencegate list --drivers` come from it. Docs: docs/drivers/usb-relay.md.
 */
import { Type } from 'typebox'
import { CH340_BAUD } from '../../protocols/usb.js'
import { Opt, type OptionValues } from '../../core/options.js'
import { type SerialTarget, serialTargetOptions } from '../transport/serial-target.js'

export type RelayBoard = 'ch340' | 'dcttech'

/** Where a CH340 board's line is (a tty or a terminal server): read for `board: ch340` only. */
export const CH340_LINE_OPTIONS = serialTargetOptions({
  baud: CH340_BAUD,
  bauds: [CH340_BAUD],
  baudHint: 'a CH340 relay board runs at 9600 baud (8N1)',
})

/** The fields of both boards (the CH340 line aside). */
export const RELAY_BOARD_OPTIONS = {
  board: Opt.oneOf(
    ['ch340', 'dcttech'],
    '`dcttech`: a HID USBRelayN board (reads its relays back); `ch340`: a serial LCUS board (cannot: unverified, operator power only)',
  ),
  channels: Opt.custom<number | undefined>(
    Type.Integer({ minimum: 1, maximum: 8 }),
    'how many relays the board has (plugs `1`…`N`): required for ch340; dcttech: from its product name when absent',
    {
      type: 'integer 1 to 8',
      defaultText: 'dcttech: from the board',
      read: (f, name) => (f.has(name) ? f.int(name, { min: 1, max: 8 }) : undefined),
    },
  ),
  frameGap: Opt.duration(
    "ch340: the pause between two frames (the board's MCU drops a frame that follows too soon)",
    {
      default: 50,
      max: 5000,
    },
  ),
  serial: Opt.custom<string | undefined>(
    Type.String({ pattern: '^[A-Z0-9]{5}$' }),
    "dcttech: the board's 5-character serial (in its feature report); absent: the only board",
    {
      type: '5 characters A-Z 0-9',
      defaultText: 'none',
      read: (f, name) => {
        const serial = f.optStr(name)
        if (serial !== undefined && !/^[A-Z0-9]{5}$/.test(serial))
          f.problems.push({
            path: [...f.base, name],
            message: `a dcttech serial is 5 characters A-Z 0-9, got '${serial}'`,
          })
        return serial
      },
    },
  ),
  hidPath: Opt.optionalString('dcttech: the hidraw path, when two boards share a serial'),
  reportTimeout: Opt.duration("dcttech: each feature-report exchange's timeout", {
    default: 1000,
    min: 10,
    max: 60_000,
  }),
  simulated: Opt.optionalString(
    "dcttech: an in-process simulated HID bus (the lab's usb-relay mock); absent: this machine's",
  ),
}

/** The usb-relay driver's config section (besides `driver` and the common `deviceCycle`), for the docs. */
export const USB_RELAY_OPTIONS = {
  board: RELAY_BOARD_OPTIONS.board,
  channels: RELAY_BOARD_OPTIONS.channels,
  ...CH340_LINE_OPTIONS,
  port: Opt.optionalString('ch340: a local tty (`/dev/ttyUSB0`); `port` or `server` is required'),
  frameGap: RELAY_BOARD_OPTIONS.frameGap,
  serial: RELAY_BOARD_OPTIONS.serial,
  hidPath: RELAY_BOARD_OPTIONS.hidPath,
  reportTimeout: RELAY_BOARD_OPTIONS.reportTimeout,
  simulated: RELAY_BOARD_OPTIONS.simulated,
}

export type UsbRelayConfig = OptionValues<typeof RELAY_BOARD_OPTIONS> & {
  /** ch340: the tty (or terminal server) of the board. */
  serialTarget?: SerialTarget
}
