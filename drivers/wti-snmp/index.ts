import type { WtiMibVersion } from '../../protocols/wti-mib.js'
import { Fields } from '../../src/config/fields.js'
import type { DriverFactory } from '../driver.js'
import { readSnmpTarget } from '../transport/snmp-config.js'
import { WtiSnmpDriver, type WtiSnmpConfig } from './driver.js'

export const wtiSnmpDriver: DriverFactory<WtiSnmpConfig> = {
  kind: 'wti-snmp',
  description: 'WTI MPC-series power switches over SNMP (plug groups, WTI MIB v1 and v3)',
  validate(section) {
    const f = new Fields(section)
    const target = readSnmpTarget(f, { defaultVersion: '1' })
    const mib = f.oneOf('mib', ['auto', '1', '3'] as const, 'auto')
    f.noOthers()
    const config: WtiSnmpConfig = {
      target,
      mib: mib === 'auto' ? 'auto' : (Number(mib) as WtiMibVersion),
    }
    return { config, problems: f.problems }
  },
  create: (config, ctx) => new WtiSnmpDriver(config, ctx),
}
