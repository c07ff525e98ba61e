import { Fields } from '../../src/config/fields.js'
import type { DriverFactory } from '../driver.js'
import { type DummyConfig, DummyDriver } from './driver.js'

export const dummyDriver: DriverFactory<DummyConfig> = {
  kind: 'dummy',
  description: 'the dummy device of the lab (fence_dummy over TCP): tests, demo, rehearsals',
  validate(section) {
    const f = new Fields(section)
    const config: DummyConfig = {
      host: f.str('host', { default: '127.0.0.1' }),
      port: f.int('port', { min: 1, max: 65535 }),
      connectTimeoutMs: f.duration('connectTimeout', 1000, { min: 1 }),
      requestTimeoutMs: f.duration('requestTimeout', 2000, { min: 1 }),
    }
    f.noOthers()
    return { config, problems: f.problems }
  },
  create: (config, ctx) => new DummyDriver(config, ctx.deviceId),
}
