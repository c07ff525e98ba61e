import { Fields } from '../../core/fields.js'
import { readOptions } from '../../core/options.js'
import type { DriverFactory } from '../driver.js'
import { consolePassword } from '../console/options.js'
import { WtiNpsDriver } from './driver.js'
import { WTI_NPS_OPTIONS, type WtiNpsConfig } from './options.js'

export const wtiNpsDriver: DriverFactory<WtiNpsConfig> = {
  kind: 'wti-nps',
  description:
    'WTI NPS / IPS / TPS network power switches over their telnet console (NPS> prompt, /S, /ON, /OFF)',
  options: WTI_NPS_OPTIONS,
  validate(section) {
    const f = new Fields(section)
    const config = readOptions(f, WTI_NPS_OPTIONS)
    f.noOthers()
    return { config, problems: f.problems }
  },
  create: (config, ctx) =>
    new WtiNpsDriver(config, ctx.deviceId, consolePassword(config.password, ctx), { log: ctx.log }),
}
