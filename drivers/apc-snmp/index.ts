import { APC_FAMILIES } from '../../protocols/apc-mib.js'
import { Fields } from '../../core/fields.js'
import { Opt, readOptions } from '../../core/options.js'
import type { DriverFactory } from '../driver.js'
import { SNMP_OPTIONS, readSnmpTarget } from '../snmp/config.js'
import { type ApcSnmpConfig, ApcSnmpDriver } from './driver.js'

/** The apc-snmp driver's config section: the SNMP options and the PDU family. */
export const APC_SNMP_OPTIONS = {
  ...SNMP_OPTIONS,
  model: Opt.oneOf(['auto', ...APC_FAMILIES], 'the PDU family (MIB); `auto` reads sysObjectID', {
    default: 'auto',
  }),
}

export const apcSnmpDriver: DriverFactory<ApcSnmpConfig> = {
  kind: 'apc-snmp',
  description: 'APC switched PDUs over SNMP v1/v2c/v3: MasterSwitch (sPDU), MasterSwitch Plus, rPDU, rPDU2',
  options: APC_SNMP_OPTIONS,
  validate(section) {
    const f = new Fields(section)
    const target = readSnmpTarget(f, { defaultVersion: '1' })
    const { model } = readOptions(f, { model: APC_SNMP_OPTIONS.model })
    f.noOthers()
    return { config: { target, model }, problems: f.problems }
  },
  create: (config, ctx) => new ApcSnmpDriver(config, ctx),
}
