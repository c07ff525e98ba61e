import type { DriverFactory } from '../driver.js'
import { RedfishCredentials, RedfishDriver, SYSTEM } from './driver.js'
import { type RedfishConfig, readRedfishConfig } from './options.js'

export const redfishDriver: DriverFactory<RedfishConfig> = {
  kind: 'redfish',
  description:
    'a BMC over Redfish (iDRAC, iLO, XCC, OpenBMC…) over HTTPS: PowerState, ComputerSystem.Reset ForceOff/On; one plug, system',
  singlePlug: SYSTEM,
  deviceCycleAllowed: (c) => c.deviceCycle,
  validate: (section) => readRedfishConfig(section),
  create: (config, ctx) =>
    new RedfishDriver(
      config,
      new RedfishCredentials(config.user, ctx.readSecret(config.password, 'password')),
      ctx,
    ),
}
