import { APC_FAMILIES, type ApcFamily } from '../../protocols/apc-mib.js'
import { Fields } from '../../src/config/fields.js'
import type { DriverFactory } from '../driver.js'
import { readSnmpTarget } from '../transport/snmp-config.js'
import { type ApcSnmpConfig, ApcSnmpDriver } from './driver.js'

export const apcSnmpDriver: DriverFactory<ApcSnmpConfig> = {
  kind: 'apc-snmp',
  description: 'APC switched PDUs over SNMP v1/v2c/v3: MasterSwitch (sPDU), MasterSwitch Plus, rPDU, rPDU2',
  validate(section) {
    const f = new Fields(section)
    const target = readSnmpTarget(f, { defaultVersion: '1' })
    const model = f.oneOf('model', ['auto', ...APC_FAMILIES] as ('auto' | ApcFamily)[], 'auto')
    f.noOthers()
    return { config: { target, model }, problems: f.problems }
  },
  create: (config, ctx) => new ApcSnmpDriver(config, ctx),
}
