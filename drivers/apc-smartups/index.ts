import { Fields } from '../../core/fields.js'
import { readOptions } from '../../core/options.js'
import type { DriverFactory } from '../driver.js'
import { LOAD, SmartUpsDriver } from './driver.js'
import { SMARTUPS_OPTIONS, type SmartUpsConfig } from './options.js'

export const smartUpsDriver: DriverFactory<SmartUpsConfig> = {
  kind: 'apc-smartups',
  description:
    'an APC Smart-UPS on its serial port (smart protocol): the UPS load as one plug, on a tty or a TCP terminal server',
  singlePlug: LOAD,
  options: SMARTUPS_OPTIONS,
  validate(section) {
    const f = new Fields(section)
    const config = readOptions(f, SMARTUPS_OPTIONS)
    f.noOthers()
    return { config, problems: f.problems }
  },
  create: (config, ctx) => new SmartUpsDriver(config, ctx.deviceId, { log: ctx.log }),
}
