import { FenceError } from '../../core/errors.js'
import type { DriverFactory } from '../driver.js'
import { IPMI_OPTIONS, type IpmiConfig, readIpmiConfig } from './config.js'
import { CHASSIS, IpmiCredentials, IpmiDriver } from './driver.js'

export const ipmiDriver: DriverFactory<IpmiConfig> = {
  kind: 'ipmi',
  description: 'a BMC over IPMI v2.0 / RMCP+ (cipher suite 17 or 3), natively over UDP; one plug, chassis',
  singlePlug: CHASSIS,
  options: IPMI_OPTIONS,
  validate: (section) => readIpmiConfig(section),
  create(config, ctx) {
    const password = Buffer.from(ctx.readSecret(config.password, 'password'), 'utf8')
    if (password.length === 0 || password.length > 20)
      throw new FenceError(
        'CONFIG_INVALID',
        `${ctx.deviceId}: password: IPMI v2.0 passwords are 1 to 20 bytes`,
      )
    let kg: Buffer | undefined
    if (config.kg) {
      const hex = ctx.readSecret(config.kg, 'kg').trim().replace(/^0x/i, '')
      if (!/^([0-9a-fA-F]{2}){1,20}$/.test(hex))
        throw new FenceError(
          'CONFIG_INVALID',
          `${ctx.deviceId}: kg: expected 1 to 20 bytes in hex (as ipmitool -y)`,
        )
      kg = Buffer.from(hex, 'hex')
    }
    return new IpmiDriver(config, new IpmiCredentials(Buffer.from(config.user, 'utf8'), password, kg), ctx)
  },
}
