import { Fields } from '../../core/fields.js'
import { readOptions } from '../../core/options.js'
import type { DriverFactory } from '../driver.js'
import { RedfishCredentials, RedfishDriver, SYSTEM } from './driver.js'
import { REDFISH_OPTIONS, type RedfishConfig } from './options.js'

export const redfishDriver: DriverFactory<RedfishConfig> = {
  kind: 'redfish',
  description:
    'a BMC over Redfish (iDRAC, iLO, XCC, OpenBMC…) over HTTPS: PowerState, ComputerSystem.Reset ForceOff/On; one plug, system',
  singlePlug: SYSTEM,
  options: REDFISH_OPTIONS,
  validate(section) {
    const f = new Fields(section)
    const config = readOptions(f, REDFISH_OPTIONS)
    const ways = [config.caFile !== undefined, config.fingerprint !== undefined, config.insecure]
    if (ways.filter(Boolean).length > 1)
      f.problems.push({
        path: ['insecure'],
        message: 'give one of caFile, fingerprint or insecure: true, not several',
      })
    f.noOthers()
    return { config, problems: f.problems }
  },
  create: (config, ctx) =>
    new RedfishDriver(
      config,
      new RedfishCredentials(config.user, ctx.readSecret(config.password, 'password')),
      ctx,
    ),
}
