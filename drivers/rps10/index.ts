import { Fields } from '../../core/fields.js'
import { readOptions } from '../../core/options.js'
import type { DriverFactory } from '../driver.js'
import { Rps10Driver } from './driver.js'
import { RPS10_OPTIONS, type Rps10Config } from './options.js'

export const rps10Driver: DriverFactory<Rps10Config> = {
  kind: 'rps10',
  description:
    'WTI RPS-10(M) serial power switches, a chain of units 0-9, on a local tty or a TCP terminal server',
  options: RPS10_OPTIONS,
  validate(section) {
    const f = new Fields(section)
    const config = readOptions(f, RPS10_OPTIONS, { commandGap: Number(section.baud) === 2400 ? 1500 : 500 })
    f.noOthers()
    return { config, problems: f.problems }
  },
  create: (config, ctx) => new Rps10Driver(config, ctx.deviceId, { log: ctx.log }),
}
