import { WTI_MAX_GROUPS } from '../../protocols/wti-mib.js'
import { Fields, describe } from '../../src/config/fields.js'
import { asMapping } from '../../src/config/yaml.js'
import { readSnmpLab, snmpDriverFields } from '../apc-pdu/snmp-lab.js'
import type { CommonLabSpec, MockFactory } from '../mock.js'
import { WtiPduMock, type WtiPduSpec } from './mock.js'

/** The plug ids of a lab device (for checking groups). */
function labPlugIds(common: CommonLabSpec): string[] {
  if (Array.isArray(common.plugs)) return common.plugs.map((p) => p.id)
  return Array.from({ length: common.plugs }, (_, i) => String(i + 1))
}

export const wtiPduMock: MockFactory<WtiPduSpec> = {
  kind: 'wti-pdu',
  driver: 'wti-snmp',
  description: 'a WTI MPC power switch as an SNMP agent (plug groups, WTI MIB v1 or v3)',
  endpoint: 'network',
  validate(section, path, common) {
    const f = new Fields(section, path)
    const mib = f.oneOf('mib', ['1', '3'] as const, '3')
    const { access, problems } = readSnmpLab(section, path)
    f.mark('snmp', 'groups')
    const groupSlots = f.int('groupSlots', { default: 16, min: 1, max: WTI_MAX_GROUPS - 1 })
    const sysName = f.optStr('sysName')
    const spec: WtiPduSpec = { mib: Number(mib) as 1 | 3, access, groupSlots }
    if (sysName) spec.sysName = sysName
    if (section.groups !== undefined) {
      const g = asMapping(section.groups)
      const known = new Set(labPlugIds(common))
      if (!g)
        f.problems.push({
          path: [...path, 'groups'],
          message: `expected a mapping of group name to plugs, got ${describe(section.groups)}`,
        })
      spec.groups = Object.entries(g ?? {}).map(([name, plugs]) => {
        const list = (Array.isArray(plugs) ? plugs : [plugs]).map(String)
        for (const p of list)
          if (!known.has(p))
            f.problems.push({ path: [...path, 'groups', name], message: `no plug '${p}' in this device` })
        return { name, plugs: list }
      })
      if (spec.groups.length >= WTI_MAX_GROUPS)
        f.problems.push({ path: [...path, 'groups'], message: `at most ${WTI_MAX_GROUPS - 1} groups` })
    }
    f.noOthers()
    return { spec, problems: [...f.problems, ...problems] }
  },
  create: (id, common, spec) => new WtiPduMock(id, common, spec),
  driverSection(mock, secretsDir) {
    const m = mock as WtiPduMock
    const { host, port } = m.address
    return {
      driver: 'wti-snmp',
      host,
      port,
      mib: String(m.spec.mib),
      ...snmpDriverFields(m.id, m.spec.access, secretsDir),
    }
  },
}
