import { Fields } from '../../core/fields.js'
import { readOptions } from '../../core/options.js'
import type { DriverFactory } from '../driver.js'
import { consolePassword } from '../console/options.js'
import { BaytechDriver } from './driver.js'
import { BAYTECH_OPTIONS, type BaytechConfig } from './options.js'

export const baytechDriver: DriverFactory<BaytechConfig> = {
  kind: 'baytech',
  description: 'BayTech RPC power controllers over their telnet console (RPC-x> prompt, STATUS, ON n, OFF n)',
  options: BAYTECH_OPTIONS,
  validate(section) {
    const f = new Fields(section)
    const config = readOptions(f, BAYTECH_OPTIONS)
    f.noOthers()
    return { config, problems: f.problems }
  },
  create: (config, ctx) =>
    new BaytechDriver(config, ctx.deviceId, consolePassword(config.password, ctx), { log: ctx.log }),
}
