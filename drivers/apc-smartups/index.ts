import { Fields } from '../../src/config/fields.js'
import { DEFAULT_BAUD, REPEAT_MIN_MS } from '../../protocols/apc-smart.js'
import type { DriverFactory, FieldProblem } from '../driver.js'
import { LOAD, type SmartUpsConfig, SmartUpsDriver } from './driver.js'

export const smartUpsDriver: DriverFactory<SmartUpsConfig> = {
  kind: 'apc-smartups',
  description:
    'an APC Smart-UPS on its serial port (smart protocol): the UPS load as one plug, on a tty or a TCP terminal server',
  singlePlug: LOAD,
  deviceCycleAllowed: (c) => c.deviceCycle,
  validate(section) {
    const f = new Fields(section)
    const problems: FieldProblem[] = []
    const port = f.optStr('port')
    f.mark('server')
    const server = f.has('server') ? f.hostPort('server') : undefined
    if (!port && !server)
      problems.push({
        path: ['port'],
        message: 'required: port (a tty such as /dev/ttyS0) or server (HOST:PORT)',
      })
    if (port && server) problems.push({ path: ['server'], message: 'give port or server, not both' })
    const config: SmartUpsConfig = {
      port,
      server,
      baud: f.int('baud', { default: DEFAULT_BAUD, min: 1200, max: 19_200 }),
      charDelayMs: f.duration('charDelay', 50, { max: 1000 }),
      repeatGapMs: f.duration('repeatGap', 2000, { min: REPEAT_MIN_MS, max: 10_000 }),
      replyTimeoutMs: f.duration('replyTimeout', 3000, { min: 50, max: 60_000 }),
      connectTimeoutMs: f.duration('connectTimeout', 2000, { min: 1 }),
      deviceCycle: f.bool('deviceCycle', false),
    }
    f.noOthers()
    return { config, problems: [...problems, ...f.problems] }
  },
  create: (config, ctx) => new SmartUpsDriver(config, ctx.deviceId),
}
