import { FenceError } from '../../src/core/errors.js'
import type { DriverFactory } from '../driver.js'
import { type ApcMenuConfig, readApcMenuConfig } from './config.js'
import { ApcMenuDriver } from './driver.js'

export const apcMenuDriver: DriverFactory<ApcMenuConfig> = {
  kind: 'apc-menu',
  description:
    'APC MasterSwitch / Switched Rack PDU console over telnet or SSH: AP9211, AP79xx v2/v3 menus, AOS v5-7 apc> CLI',
  deviceCycleAllowed: (c) => c.deviceCycle,
  validate: (section) => readApcMenuConfig(section),
  create(config, ctx) {
    const password = ctx.readSecret(config.password, 'password').replace(/\r?\n$/, '')
    if (!password) throw new FenceError('CONFIG_INVALID', `${ctx.deviceId}: password: the secret is empty`)
    if (config.transport === 'ssh' && config.hostKey === 'any')
      ctx.log('warn', 'ssh host key not checked (hostKey: any): the password goes to whoever answers', {
        device: ctx.deviceId,
      })
    return new ApcMenuDriver(config, ctx.deviceId, password, { log: ctx.log })
  },
}
