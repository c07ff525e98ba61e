import { Fields } from '../../core/fields.js'
import { readOptions } from '../../core/options.js'
import type { DriverFactory } from '../driver.js'
import { DummyDriver } from './driver.js'
import { DUMMY_OPTIONS, type DummyConfig } from './options.js'

export const dummyDriver: DriverFactory<DummyConfig> = {
  kind: 'dummy',
  description: 'the dummy device of the lab (fence_dummy over TCP): tests, demo, rehearsals',
  options: DUMMY_OPTIONS,
  validate(section) {
    const f = new Fields(section)
    const config = readOptions(f, DUMMY_OPTIONS)
    f.noOthers()
    return { config, problems: f.problems }
  },
  create: (config, ctx) => new DummyDriver(config, ctx.deviceId),
}
