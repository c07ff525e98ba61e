import { Fields } from '../../src/config/fields.js'
import { CH340_BAUD } from '../../protocols/usb.js'
import type { FieldProblem } from '../driver.js'
import { type SerialTarget, readSerialTarget } from '../transport/serial-target.js'

export type RelayBoard = 'ch340' | 'dcttech'

/** The usb-relay driver's options: every one is read here (docs/drivers/usb-relay.md lists them). */
export interface UsbRelayConfig {
  board: RelayBoard
  /** How many relays the board has (plugs `1`…`N`); dcttech: from its product name when absent. */
  channels?: number
  /** ch340: the tty (or terminal server) of the board. */
  serialTarget?: SerialTarget
  /** ch340: the pause between two frames (the board's MCU drops a frame that follows too soon). */
  frameGapMs: number
  /** dcttech: the board's 5-character serial (in its feature report); absent = the only board. */
  serial?: string
  /** dcttech: the hidraw path, when two boards share a serial. */
  hidPath?: string
  /** dcttech: each feature-report exchange's timeout. */
  reportTimeoutMs: number
  /** dcttech: an in-process simulated HID bus (the lab's usb-relay mock); absent = this machine's. */
  simulated?: string
}

export function readUsbRelayConfig(section: Record<string, unknown>): {
  config: UsbRelayConfig
  problems: FieldProblem[]
} {
  const f = new Fields(section)
  const problems: FieldProblem[] = []
  const board = f.oneOf<RelayBoard>('board', ['ch340', 'dcttech'])
  const channels = f.has('channels') ? f.int('channels', { min: 1, max: 8 }) : undefined
  let serialTarget: SerialTarget | undefined
  if (board === 'ch340') {
    const r = readSerialTarget(f, {
      baud: CH340_BAUD,
      isBaud: (b) => b === CH340_BAUD,
      baudHint: 'a CH340 relay board runs at 9600 baud (8N1)',
    })
    serialTarget = r.target
    problems.push(...r.problems)
    if (channels === undefined)
      problems.push({
        path: ['channels'],
        message: 'required for a ch340 board: how many relays it has (1-8)',
      })
  }
  const serial = f.optStr('serial')
  if (serial !== undefined && !/^[A-Z0-9]{5}$/.test(serial))
    problems.push({ path: ['serial'], message: `a dcttech serial is 5 characters A-Z 0-9, got '${serial}'` })
  const hidPath = f.optStr('hidPath')
  if (board === 'ch340')
    for (const k of ['serial', 'hidPath'] as const)
      if (section[k] !== undefined) problems.push({ path: [k], message: `${k} is for dcttech boards` })
  const config: UsbRelayConfig = {
    board,
    channels,
    serialTarget,
    frameGapMs: f.duration('frameGap', 50, { max: 5000 }),
    serial,
    hidPath,
    reportTimeoutMs: f.duration('reportTimeout', 1000, { min: 10, max: 60_000 }),
    simulated: f.optStr('simulated'),
  }
  f.noOthers()
  return { config, problems: [...problems, ...f.problems] }
}
