import { APC_FAMILIES, APC_FAMILY_MIBS } from '../../protocols/apc-mib.js'
import { Fields } from '../../src/config/fields.js'
import type { MockFactory } from '../mock.js'
import { type ApcPduSpec, ApcPduMock } from './mock.js'
import { readSnmpLab, snmpDriverFields } from './snmp-lab.js'

export const apcPduMock: MockFactory<ApcPduSpec> = {
  kind: 'apc-pdu',
  driver: 'apc-snmp',
  description: 'an APC PDU (MasterSwitch sPDU, MasterSwitch Plus, rPDU, rPDU2) as an SNMP v1/v2c/v3 agent',
  endpoint: 'network',
  validate(section, path, common) {
    const f = new Fields(section, path)
    const model = f.oneOf('model', APC_FAMILIES, 'rPDU')
    const { access, problems } = readSnmpLab(section, path)
    f.mark('snmp')
    const reportedOutlets = f.has('reportedOutlets')
      ? f.int('reportedOutlets', { min: 0, max: 1024 })
      : undefined
    const cycleOffMs = f.has('cycleOff')
      ? f.duration('cycleOff', undefined, { min: 0, max: 600_000 })
      : undefined
    const spec: ApcPduSpec = {
      model,
      access,
      powerOnTime: f.int('powerOnTime', { default: 0, min: -1, max: 7200 }),
      powerOffTime: f.int('powerOffTime', { default: 0, min: -1, max: 7200 }),
      rebootDuration: f.int('rebootDuration', { default: 5, min: 5, max: 60 }),
      ...(reportedOutlets !== undefined ? { reportedOutlets } : {}),
      ...(cycleOffMs !== undefined ? { cycleOffMs } : {}),
    }
    const sysName = f.optStr('sysName')
    if (sysName) spec.sysName = sysName
    // outlet ids are what the MIB indexes by: numbers, or switch:outlet on a MasterSwitch Plus
    const idPattern = APC_FAMILY_MIBS[model].switched ? /^\d{1,4}(:\d{1,4})?$/ : /^\d{1,4}$/
    if (Array.isArray(common.plugs))
      common.plugs.forEach(({ id }, i) => {
        if (!idPattern.test(String(id)) || /^0+$|:0+$/.test(String(id)))
          f.problems.push({
            path: [...path, 'plugs', i],
            message: `${model} outlets are numbered from 1${APC_FAMILY_MIBS[model].switched ? ' (or switch:outlet)' : ''}, got '${String(id)}'`,
          })
      })
    f.noOthers()
    return { spec, problems: [...f.problems, ...problems] }
  },
  create: (id, common, spec) => new ApcPduMock(id, common, spec),
  driverSection(mock, secretsDir) {
    const m = mock as ApcPduMock
    const { host, port } = m.address
    return { driver: 'apc-snmp', host, port, ...snmpDriverFields(m.id, m.spec.access, secretsDir) }
  },
}
