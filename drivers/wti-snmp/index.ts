import type { WtiMibVersion } from '../../protocols/wti-mib.js'
import { Fields } from '../../src/config/fields.js'
import { Opt, readOptions } from '../../src/config/options.js'
import type { DriverFactory } from '../driver.js'
import { SNMP_OPTIONS, readSnmpTarget } from '../snmp/config.js'
import { WtiSnmpDriver, type WtiSnmpConfig } from './driver.js'

/** The wti-snmp driver's config section: the SNMP options and the WTI MIB. */
export const WTI_SNMP_OPTIONS = {
  ...SNMP_OPTIONS,
  mib: Opt.oneOf(['auto', '1', '3'], 'the WTI MIB version; `auto` asks the unit', { default: 'auto' }),
}

export const wtiSnmpDriver: DriverFactory<WtiSnmpConfig> = {
  kind: 'wti-snmp',
  description: 'WTI MPC-series power switches over SNMP (plug groups, WTI MIB v1 and v3)',
  options: WTI_SNMP_OPTIONS,
  validate(section) {
    const f = new Fields(section)
    const target = readSnmpTarget(f, { defaultVersion: '1' })
    const { mib } = readOptions(f, { mib: WTI_SNMP_OPTIONS.mib })
    f.noOthers()
    const config: WtiSnmpConfig = {
      target,
      mib: mib === 'auto' ? 'auto' : (Number(mib) as WtiMibVersion),
    }
    return { config, problems: f.problems }
  },
  create: (config, ctx) => new WtiSnmpDriver(config, ctx),
}
