import { FenceError } from '../../src/core/errors.js'
import type { DriverFactory } from '../driver.js'
import { type WtiNpsConfig, readWtiNpsConfig } from './config.js'
import { WtiNpsDriver } from './driver.js'

export const wtiNpsDriver: DriverFactory<WtiNpsConfig> = {
  kind: 'wti-nps',
  description:
    'WTI NPS / IPS / TPS network power switches over their telnet console (NPS> prompt, /S, /ON, /OFF)',
  deviceCycleAllowed: (c) => c.deviceCycle,
  validate: (section) => readWtiNpsConfig(section),
  create(config, ctx) {
    const password = ctx.readSecret(config.password, 'password').replace(/\r?\n$/, '')
    if (!password) throw new FenceError('CONFIG_INVALID', `${ctx.deviceId}: password: the secret is empty`)
    return new WtiNpsDriver(config, ctx.deviceId, password, { log: ctx.log })
  },
}
