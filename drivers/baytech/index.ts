import { FenceError } from '../../src/core/errors.js'
import type { DriverFactory } from '../driver.js'
import { type BaytechConfig, readBaytechConfig } from './config.js'
import { BaytechDriver } from './driver.js'

export const baytechDriver: DriverFactory<BaytechConfig> = {
  kind: 'baytech',
  description: 'BayTech RPC power controllers over their telnet console (RPC-x> prompt, STATUS, ON n, OFF n)',
  deviceCycleAllowed: (c) => c.deviceCycle,
  validate: (section) => readBaytechConfig(section),
  create(config, ctx) {
    const password = ctx.readSecret(config.password, 'password').replace(/\r?\n$/, '')
    if (!password) throw new FenceError('CONFIG_INVALID', `${ctx.deviceId}: password: the secret is empty`)
    return new BaytechDriver(config, ctx.deviceId, password, { log: ctx.log })
  },
}
