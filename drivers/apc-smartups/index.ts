import { Fields } from '../../src/config/fields.js'
import { DEFAULT_BAUD, REPEAT_MIN_MS } from '../../protocols/apc-smart.js'
import type { DriverFactory } from '../driver.js'
import { readSerialTarget } from '../transport/serial-target.js'
import { LOAD, type SmartUpsConfig, SmartUpsDriver } from './driver.js'

export const smartUpsDriver: DriverFactory<SmartUpsConfig> = {
  kind: 'apc-smartups',
  description:
    'an APC Smart-UPS on its serial port (smart protocol): the UPS load as one plug, on a tty or a TCP terminal server',
  singlePlug: LOAD,
  validate(section) {
    const f = new Fields(section)
    const { target, problems } = readSerialTarget(f, {
      baud: DEFAULT_BAUD,
      isBaud: (b) => [1200, 2400, 4800, 9600].includes(b),
      baudHint: 'a Smart-UPS runs at 2400 baud (some at 1200-9600)',
    })
    const config: SmartUpsConfig = {
      ...target,
      charDelayMs: f.duration('charDelay', 50, { max: 1000 }),
      repeatGapMs: f.duration('repeatGap', 2000, { min: REPEAT_MIN_MS, max: 10_000 }),
      replyTimeoutMs: f.duration('replyTimeout', 3000, { min: 50, max: 60_000 }),
    }
    f.noOthers()
    return { config, problems: [...problems, ...f.problems] }
  },
  create: (config, ctx) => new SmartUpsDriver(config, ctx.deviceId, { log: ctx.log }),
}
