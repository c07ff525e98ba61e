import { APC_FAMILIES, APC_FAMILY_MIBS } from '../../protocols/apc-mib.js'
import { Type } from 'typebox'
import { Fields } from '../../core/fields.js'
import { Opt, readOptions } from '../../core/options.js'
import type { MockFactory } from '../mock.js'
import { type ApcPduSpec, ApcPduMock } from './mock.js'
import { SNMP_LAB_OPTION, snmpDriverFields } from '../snmp/lab-section.js'

/** An optional value read only when present (no default). */
const optional =
  <T>(read: (f: Fields, name: string) => T) =>
  (f: Fields, name: string) =>
    f.has(name) ? read(f, name) : undefined

/** The own fields of a `kind: apc-pdu` lab device. */
export const APC_PDU_LAB_OPTIONS = {
  model: Opt.oneOf(APC_FAMILIES, 'the PDU family (MIB, sysObjectID, outlet numbering)', { default: 'rPDU' }),
  snmp: SNMP_LAB_OPTION,
  reportedOutlets: Opt.custom<number | undefined>(
    Type.Integer({ minimum: 0, maximum: 1024 }),
    'the outlet count the unit reports, when it should differ from its outlets (a misconfigured unit)',
    {
      type: 'integer 0 to 1024',
      defaultText: 'the outlets',
      read: optional((f, n) => f.int(n, { min: 0, max: 1024 })),
    },
  ),
  cycleOff: Opt.custom<number | undefined>(
    Type.Integer({ minimum: 0, maximum: 600_000 }),
    "the off time of the unit's own reboot (cycle)",
    {
      type: 'duration 0ms to 10m',
      defaultText: '`rebootDuration`',
      read: optional((f, n) => f.duration(n, undefined, { min: 0, max: 600_000 })),
    },
  ),
  powerOnTime: Opt.int("the outlets' power-on delay in seconds (-1: never)", {
    default: 0,
    min: -1,
    max: 7200,
  }),
  powerOffTime: Opt.int("the outlets' power-off delay in seconds (-1: never)", {
    default: 0,
    min: -1,
    max: 7200,
  }),
  rebootDuration: Opt.int('the off time of a reboot in seconds', { default: 5, min: 5, max: 60 }),
  sysName: Opt.optionalString("the unit's sysName"),
}

export const apcPduMock: MockFactory<ApcPduSpec> = {
  kind: 'apc-pdu',
  driver: 'apc-snmp',
  description: 'an APC PDU (MasterSwitch sPDU, MasterSwitch Plus, rPDU, rPDU2) as an SNMP v1/v2c/v3 agent',
  endpoint: 'network',
  options: APC_PDU_LAB_OPTIONS,
  validate(section, path, common) {
    const f = new Fields(section, path)
    const o = readOptions(f, APC_PDU_LAB_OPTIONS)
    const model = o.model
    const spec: ApcPduSpec = {
      model,
      access: o.snmp,
      powerOnTime: o.powerOnTime,
      powerOffTime: o.powerOffTime,
      rebootDuration: o.rebootDuration,
      ...(o.reportedOutlets !== undefined ? { reportedOutlets: o.reportedOutlets } : {}),
      ...(o.cycleOff !== undefined ? { cycleOffMs: o.cycleOff } : {}),
    }
    if (o.sysName) spec.sysName = o.sysName
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
    return { spec, problems: f.problems }
  },
  create: (id, common, spec) => new ApcPduMock(id, common, spec),
  driverSection(mock, secretsDir) {
    const m = mock as ApcPduMock
    const { host, port } = m.address
    return { driver: 'apc-snmp', host, port, ...snmpDriverFields(m.id, m.spec.access, secretsDir) }
  },
}
